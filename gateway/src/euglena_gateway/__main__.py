from euglena_gateway.main import main

main()
