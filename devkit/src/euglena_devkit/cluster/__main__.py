from euglena_devkit.cluster.cli import main

raise SystemExit(main())
