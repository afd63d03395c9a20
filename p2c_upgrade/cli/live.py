"""`pull --from URL`, `push [--to URL]` and `verify --remote`: the working copy of a live org.

Sign-in, page size and concurrency come from `[dataverse]` in the configuration file; secrets
only from the environment (a secret-looking option is refused before anything runs).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from p2c_upgrade.cli.main import main
from p2c_upgrade.cli.options import Settings, common, config_of, open_db
from p2c_upgrade.db.connection import DEFAULT_LOCK_TIMEOUT_S, open_database
from p2c_upgrade.errors import EXIT_BLOCKED, EXIT_OK, UsageError
from p2c_upgrade.progress import Progress
from p2c_upgrade.render import emit, table, to_json


def _dv_settings(settings: Settings) -> Any:
    from p2c_upgrade.dataverse.settings import DataverseSettings

    return config_of(settings).dataverse or DataverseSettings()


def make_client(settings: Settings, url: str) -> Any:
    """A Web API client for `url` (checked: https, or http on loopback) signed in per `[dataverse]`."""
    from p2c_upgrade.auth import check_service_url, refuse_secret_arguments, token_provider
    from p2c_upgrade.dataverse.client import DataverseClient

    refuse_secret_arguments(sys.argv[1:])
    org_url = check_service_url(url)
    dv = _dv_settings(settings)
    return DataverseClient(org_url, token_provider(dv.auth, org_url, env_token_var="P2C_DATAVERSE_TOKEN"))


def remembered_url(settings: Settings) -> str:
    from p2c_upgrade.dataverse import state

    db = open_db(settings, read_only=True)
    with db.engine.connect() as conn:
        known = state.get_org(conn)
    db.dispose()
    if known is None:
        raise UsageError("this working database was never pulled: run `pull --from URL` first")
    return str(known["org_url"])


@main.command()
@click.option("--from", "from_url", required=True, metavar="URL", help="The org, https://<org>.crm.dynamics.com.")
@common
def pull(settings: Settings, from_url: str) -> int:
    """Copy the org's Sales records into the working database (resumable; a rerun refreshes)."""
    from p2c_upgrade.dataverse.pull import pull as do_pull

    client = make_client(settings, from_url)
    db = open_database(settings.db, settings.schema, must_exist=False,
                       lock_timeout=settings.lock_timeout or DEFAULT_LOCK_TIMEOUT_S)
    result = do_pull(db, client, page_size=_dv_settings(settings).page_size,
                     progress=Progress(settings.progress), config=config_of(settings))
    rows = [[t, f"{n:,}"] for t, n in result.records.items()]
    emit(table(rows, ["table", "records"]))
    emit(f"pulled from {result.org_url}: {result.new:,} new, {result.changed:,} changed, "
         f"{result.deleted:,} deleted; {result.kept_local:,} unpushed changes kept, "
         f"{result.overridden:,} overridden by the org")
    if result.withdrawn_numbers:
        emit(f"the org's number sequence moved ({', '.join(result.moved_sequences)}): "
             f"{result.withdrawn_numbers:,} unpushed numbers withdrawn; run again to renumber them")
    if not result.solution_installed:
        emit("BLOCKER: the Prospect to cash solution is not installed in the org; push will refuse")
    return EXIT_OK


@main.command()
@click.option("--to", "to_url", metavar="URL", help="The org (default: the one the copy was pulled from).")
@click.option("--bypass-custom-logic", is_flag=True,
              help="Ask Dataverse to skip custom plug-ins (MSCRM.BypassCustomPluginExecution; needs that privilege).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@common
def push(settings: Settings, to_url: str | None, bypass_custom_logic: bool, fmt: str) -> int:
    """Write the journaled changes not pushed yet to the org; exit 3 on conflicts."""
    from p2c_upgrade.auth import check_service_url
    from p2c_upgrade.dataverse.push import check_target, conflict_lines
    from p2c_upgrade.dataverse.push import push as do_push

    db = open_db(settings)
    known = check_target(db, check_service_url(to_url) if to_url else None)
    dv = _dv_settings(settings)
    client = make_client(settings, known["org_url"])
    result = do_push(db, client, batch_size=dv.batch_size, concurrency=dv.concurrency,
                     bypass_custom_logic=bypass_custom_logic, progress=Progress(settings.progress))
    if fmt == "json":
        emit(to_json({"version": 1, "records": result.records, "pushed": result.pushed,
                      "already_applied": result.already, "requests": result.requests,
                      "reserved": result.reserved, "sequence_problems": result.sequence_problems,
                      "conflicts": [c.__dict__ for c in result.conflicts],
                      "failed": [{"table": t, "id": i, "message": m} for t, i, m in result.failed]}))
    else:
        for line in conflict_lines(result):
            emit(f"CONFLICT {line}")
        for tbl, rid, message in result.failed:
            emit(f"FAILED {tbl} {rid}: {message}")
        emit(f"pushed {result.pushed + result.already:,} of {result.records:,} records in {result.requests:,} "
             f"requests; {len(result.conflicts):,} conflicts, {len(result.failed):,} failed")
        if result.conflicts:
            emit("conflicts were not overwritten: pull, run and push again")
    for problem in result.sequence_problems:
        click.echo(f"error: {problem}", err=True)
    return EXIT_BLOCKED if result.conflicts or result.failed or result.sequence_problems else EXIT_OK


def verify_remote_command(settings: Settings, fmt: str) -> int:
    """`verify --remote`: the checks in the org the copy was pulled from (reads only)."""
    from p2c_upgrade.dataverse.remote_verify import verify_remote

    client = make_client(settings, remembered_url(settings))
    checks = verify_remote(client, page_size=_dv_settings(settings).page_size)
    failed = [c for c in checks if not c["ok"]]
    if fmt == "json":
        emit(to_json({"version": 1, "ok": not failed, "remote": True, "checks": checks}))
    else:
        rows = [[c["check"], "ok" if c["ok"] else "FAIL", "; ".join(c["failures"])] for c in checks]
        emit(table(rows, ["check", "result", "failures"]))
        emit("all checks pass in the org" if not failed else f"{len(failed)} checks fail in the org")
    return EXIT_BLOCKED if failed else EXIT_OK
