"""`p2c-upgrade sync`: the initial full sync to a database, a data package or a live F&O."""

from __future__ import annotations

import click

from p2c_upgrade.cli.main import main
from p2c_upgrade.cli.options import Settings, common, config_of, open_db
from p2c_upgrade.errors import MAX_SYNC_BATCH
from p2c_upgrade.progress import Progress
from p2c_upgrade.render import emit, to_json


@main.command()
@click.option("--target", metavar="URL|package:DIR|fno:URL",
              help="A database for the F&O entities, package:DIR, or fno:https://HOST (a live F&O).")
@click.option("--batch-size", type=click.IntRange(1, MAX_SYNC_BATCH), default=None,
              help="Records per batch (default: [sync] batch_size of the configuration, else 5000).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--show-personal-data", is_flag=True, help="Show names in sync errors.")
@common
def sync(settings: Settings, target: str | None, batch_size: int | None, fmt: str,
         show_personal_data: bool) -> int:
    """The initial full sync to F&O; a rerun retries what did not sync.

    Exit 0 when every selected record synchronized; 3 while an upgrade step has work left or
    duplicate account numbers exist (nothing is written), or when records failed on their data
    (they are listed).
    """
    from p2c_upgrade.db.connection import translate_errors
    from p2c_upgrade.db.lock import UpgradeLock
    from p2c_upgrade.db.schema import check_sales_schema
    from p2c_upgrade.errors import UsageError
    from p2c_upgrade.sync import run_sync
    from p2c_upgrade.sync.configured import check_configured_columns
    from p2c_upgrade.upgrade.finished import check_upgrade_finished

    config = config_of(settings)
    target = target or getattr(config, "sync_target", None)
    if not target:
        raise UsageError("no target: give --target URL or --target package:DIR "
                         "(or [sync] target in the configuration file)")
    db = open_db(settings)
    with UpgradeLock(db, "sync"):  # one writer of the Sales database's state at a time
        with translate_errors(db), db.engine.connect() as conn:
            check_configured_columns(check_sales_schema(conn), config)
            check_upgrade_finished(conn, db)
        summary = run_sync(db, target, config, batch_size=batch_size or config.sync_batch_size,
                           progress=Progress(enabled=settings.progress),
                           show_personal_data=show_personal_data)
    if fmt == "json":
        emit(to_json(summary.to_dict()))
    else:
        emit(summary.to_text())
    return summary.exit_code
