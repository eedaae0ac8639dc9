from euglena_devkit.kind.cli import main

raise SystemExit(main())
