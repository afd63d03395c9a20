"""`p2c-upgrade runs`: the past runs recorded in the ledger, newest first (ids for `undo --run`)."""

from __future__ import annotations

import click

from p2c_upgrade.cli.main import main
from p2c_upgrade.cli.options import Settings, common, open_db
from p2c_upgrade.errors import EXIT_OK
from p2c_upgrade.render import emit, table, to_json


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=None, help="Only the N latest runs.")
@common
def runs(settings: Settings, fmt: str, limit: int | None) -> int:
    """Past runs (id, command, outcome, times, rows changed): what `undo --run ID` can take back."""
    from p2c_upgrade.upgrade.history import RUNS_VERSION, past_runs

    found = past_runs(open_db(settings, read_only=True), limit)
    if fmt == "json":
        emit(to_json({"version": RUNS_VERSION, "runs": found}))
        return EXIT_OK
    if not found:
        emit("no run is recorded in this database yet")
        return EXIT_OK
    rows = [[r["run_id"], r["command"], r["outcome"], r["started_at"] or "", r["finished_at"] or "",
             f"{r['os_user']}@{r['host']}", f"{r['rows_changed']:,}",
             ", ".join(s["step"] for s in r["steps"] if s["rows_changed"]) or "-",
             _undo(r)]
            for r in found]
    emit(table(rows, ["run", "command", "outcome", "started", "finished", "by", "rows changed",
                      "steps that changed rows", "undo"]))
    return EXIT_OK


def _undo(run: dict[str, object]) -> str:
    if not run["rows_changed"]:
        return "-"
    if not run["journaled"]:
        return "not journaled"
    if run["undone_by_a_later_undo"]:
        return "undone"
    return f"undo --run {run['run_id']}"
