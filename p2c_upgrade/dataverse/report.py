"""What `plan` and `status` add on a pulled working copy, as plain data (dicts).

- `push_plan(conn, batch_size)`: per table the records and columns push will write, the number of
  requests (`$batch` of up to `batch_size` records, plus one per sequence reservation), and an
  estimated duration under the documented service protection limits (6,000 requests and 1,200 s of
  execution time per user per 5 minutes: data-platform/api-limits) with `SECONDS_PER_RECORD` of
  execution time per record update (an assumption; measure with scripts/bench_live.py), and a
  blocker when the org had no P2C solution at the pull.
- `live_status(conn)`: the pull (org, per table: records and when) and the push (per state).
Both return None when the working copy was never pulled.
"""

from __future__ import annotations

import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import state
from .changes import pending_changes
from .tables import SEQUENCE_TABLE

REQUESTS_PER_WINDOW = 6000
EXECUTION_S_PER_WINDOW = 1200
WINDOW_S = 300
SECONDS_PER_RECORD = 0.01


def push_plan(conn: Connection, batch_size: int = 1000) -> dict[str, Any] | None:
    known = state.get_org(conn)
    if known is None:
        return None
    changes = [c for c in pending_changes(conn) if c.tbl != SEQUENCE_TABLE]
    tables: dict[str, dict[str, Any]] = {}
    for change in changes:
        entry = tables.setdefault(change.tbl, {"records": 0, "columns": {}})
        entry["records"] += 1
        for col in change.cols:
            entry["columns"][col] = entry["columns"].get(col, 0) + 1
    requests = sum(math.ceil(t["records"] / batch_size) for t in tables.values()) + (2 if changes else 0)
    execution = len(changes) * SECONDS_PER_RECORD
    windows = max(requests / REQUESTS_PER_WINDOW, execution / EXECUTION_S_PER_WINDOW)
    blockers = [] if known["solution_installed"] else [
        "the Prospect to cash solution is not installed in the org: push will refuse"]
    return {"org": known["org_url"], "records": len(changes), "tables": tables, "requests": requests,
            "estimated_seconds": round(max(execution / 52, windows * WINDOW_S if windows > 1 else 0), 1),
            "blockers": blockers}


def live_status(conn: Connection) -> dict[str, Any] | None:
    known = state.get_org(conn)
    if known is None:
        return None
    pulled = [{"table": r.tbl, "state": r.state, "records": int(r.records), "finished_at": r.finished_at}
              for r in conn.execute(sa.select(state.pulls).order_by(state.pulls.c.tbl))]
    counts: dict[str, int] = {str(s): int(n) for s, n in conn.execute(
        sa.select(state.pushes.c.state, sa.func.count()).group_by(state.pushes.c.state))}
    pending = sum(len(c.cols) for c in pending_changes(conn) if c.tbl != SEQUENCE_TABLE)
    return {"org": known["org_url"], "last_pulled_at": known["last_pulled_at"], "pull": pulled,
            "push": {"pushed": counts.get("pushed", 0), "pending": pending,
                     "conflicts": counts.get("conflict", 0), "failed": counts.get("failed", 0)}}
