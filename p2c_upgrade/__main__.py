"""`python -m p2c_upgrade` is `p2c-upgrade`."""

from .cli import main

main(prog_name="p2c-upgrade")
