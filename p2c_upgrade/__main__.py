"""`python -m p2c_upgrade` is `p2c-upgrade`."""

from p2c_upgrade.cli.main import main

main(prog_name="p2c-upgrade")
