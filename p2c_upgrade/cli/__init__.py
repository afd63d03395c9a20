"""The `p2c-upgrade` command line (a thin layer over the core): `main` is the console script.

`options` holds what every command shares and the error boundary; each other module registers
its commands on the group defined in `main`.
"""

from p2c_upgrade.cli import generate as _generate  # noqa: F401 - registers `generate`
from p2c_upgrade.cli import live as _live  # noqa: F401 - registers `pull`, `push`
from p2c_upgrade.cli import runs as _runs  # noqa: F401 - registers `runs`
from p2c_upgrade.cli import sync as _sync  # noqa: F401 - registers `sync`
from p2c_upgrade.cli.main import main

__all__ = ["main"]
