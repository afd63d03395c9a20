"""The `p2c-upgrade` command line; `main` is the console script."""

from p2c_upgrade.cli.main import main

__all__ = ["main"]
