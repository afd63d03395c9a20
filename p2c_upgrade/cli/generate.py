"""`p2c-upgrade generate`: sample Sales data for rehearsing the upgrade on an untouched database
(the demo's data: realistic blanks, collisions, unknown countries; the benchmark loads its scales
with it too)."""

from __future__ import annotations

import click

from p2c_upgrade.cli.main import main
from p2c_upgrade.cli.options import Settings, common
from p2c_upgrade.render import emit


@main.command()
@click.option("--accounts", type=click.IntRange(1, 50_000_000), required=True,
              help="N: N accounts, 2N contacts, N quotes, N orders, N invoices and one organization.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same data.")
@common
def generate(settings: Settings, accounts: int, seed: int) -> int:
    """Load sample Sales data into empty Sales tables, created where missing (a new SQLite file,
    or the --schema on PostgreSQL): a database to rehearse plan, run, undo and sync on.

    Refuses (exit 1) when a Sales table already holds rows: it never adds to real data.
    """
    from p2c_upgrade.db.connection import DEFAULT_LOCK_TIMEOUT_S, open_database
    from p2c_upgrade.demo.generator import ensure_schema
    from p2c_upgrade.demo.generator import generate as load

    if settings.schema:
        ensure_schema(settings.db, settings.schema)
    timeout = settings.lock_timeout if settings.lock_timeout is not None else DEFAULT_LOCK_TIMEOUT_S
    db = open_database(settings.db, settings.schema, must_exist=False, lock_timeout=timeout)
    try:
        summary = load(db, accounts, seed=seed, progress=settings.progress)
    finally:
        db.dispose()
    emit(summary.line())
    return 0
