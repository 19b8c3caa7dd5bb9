"""``python -m pytest_ureason.cli``: the ``ureason`` command without its console script."""

from pytest_ureason.cli.main import main

raise SystemExit(main())
