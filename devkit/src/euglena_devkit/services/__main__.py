"""``python -m euglena_devkit.services``: see :mod:`euglena_devkit.services.cli`."""

from euglena_devkit.services.cli import main

raise SystemExit(main())
