from euglena_devkit.run.platform import main

main()
