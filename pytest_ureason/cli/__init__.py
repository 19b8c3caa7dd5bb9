"""The ``ureason`` command: one module per subcommand."""

from pytest_ureason.cli.main import main

__all__ = ["main"]
