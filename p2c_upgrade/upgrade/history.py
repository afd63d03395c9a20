"""Past runs from the ledger, for `p2c-upgrade runs`: the ids `undo --run ID` takes.

One row per run, newest first: id, command, outcome, times (ISO 8601 UTC), who and where, the
steps it executed with the rows each changed, and whether what it changed can be undone
(journaled, and not undone since). A run still marked `running` while nobody holds the upgrade
lock died without saying so: it shows as `interrupted`.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from p2c_upgrade.db.connection import Database, translate_errors
from p2c_upgrade.db.lock import holder
from p2c_upgrade.render import iso_utc
from p2c_upgrade.upgrade import ledger

RUNS_VERSION = 1


def past_runs(db: Database, limit: int | None = None) -> list[dict[str, Any]]:
    with translate_errors(db), db.engine.connect() as conn:
        if not ledger.tables_exist(conn):
            return []
        query = sa.select(ledger.runs).order_by(ledger.runs.c.run_id.desc())
        if limit:
            query = query.limit(limit)
        runs = [dict(r) for r in conn.execute(query).mappings()]
        ids = [r["run_id"] for r in runs]
        steps: dict[int, list[dict[str, Any]]] = {}
        if ids:
            for s in conn.execute(sa.select(ledger.steps.c.run_id, ledger.steps.c.step,
                                            ledger.steps.c.state, ledger.steps.c.rows_changed)
                                  .where(ledger.steps.c.run_id.in_(ids))
                                  .order_by(ledger.steps.c.run_id, ledger.steps.c.started_at)):
                steps.setdefault(int(s.run_id), []).append(
                    {"step": s.step, "state": s.state, "rows_changed": int(s.rows_changed)})
        undone = {int(o["run"]) for o in (_options(r) for r in runs if r["command"] == "undo")
                  if o.get("run") is not None}
    running = holder(db) is not None
    out = []
    for r in runs:
        options = _options(r)
        outcome = r["outcome"]
        if outcome == "running" and not running:
            outcome = "interrupted"
        changed = sum(s["rows_changed"] for s in steps.get(r["run_id"], []))
        out.append({
            "run_id": r["run_id"], "command": r["command"], "outcome": outcome,
            "started_at": iso_utc(r["started_at"]), "finished_at": iso_utc(r["finished_at"]),
            "os_user": r["os_user"], "host": r["host"], "tool_version": r["tool_version"],
            "rows_changed": changed, "steps": steps.get(r["run_id"], []),
            "journaled": options.get("journal", True) is not False,
            "undone_by_a_later_undo": r["run_id"] in undone,
            "error": r["error"],
        })
    return out


def _options(row: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(row.get("options") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
