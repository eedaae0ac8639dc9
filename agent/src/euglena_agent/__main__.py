from euglena_agent.main import main

main()
