from euglena_operator.main import main

main()
