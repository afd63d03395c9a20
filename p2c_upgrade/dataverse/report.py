"""What `plan` and `status` add on a pulled working copy, as plain data (dicts).

- `push_plan(conn, batch_size, concurrency)`: what push would write (records and columns per
  table), the requests it would send and an estimated duration under the documented service
  protection limits (per user, sliding 5 minutes: 6,000 requests, 1,200 s of execution time, 52
  concurrent requests: data-platform/api-limits, /work/shared/reference/FACTS.md), and a blocker
  when the org had no P2C solution at the pull. Reads the working copy only; never the org.
  Counts over the stream of pending changes (`changes.pending_changes`), holding one chunk.
- `live_status(conn)`: the pull (org, per table: records and when) and the push (per state).
Both return None when the working copy was never pulled.

Requests push sends when it has work (push.py, sequence.py, pull.inspect_org): 2 to inspect the
org (WhoAmI, EntityDefinitions), 4 per number sequence it moves (read, PATCH, read after the
settle wait, read after the writes), one `$batch` per `batch_size` records. Replays after a
412/429/lost answer and conflict re-reads come on top, so the count is a floor.

Duration: `SECONDS_PER_RECORD` of server execution time per record update is an assumption (a
real org's plug-ins decide it; scripts/bench_live.py measures the stand-in). The estimate is the
larger of (a) the execution time spread over `concurrency` requests in flight and (b) what the
sliding window allows: the first window's budget at once, then 6,000 requests or 1,200 s of
execution per 300 s, plus the settle wait after a reservation (sequence.SETTLE_S).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import state
from .changes import RecordChange, pending_changes
from .sequence import SETTLE_S, plan_reservations
from .tables import SEQUENCE_TABLE

REQUESTS_PER_WINDOW = 6000
EXECUTION_S_PER_WINDOW = 1200
WINDOW_S = 300
MAX_CONCURRENT = 52
SECONDS_PER_RECORD = 0.01
INSPECT_REQUESTS = 2
REQUESTS_PER_RESERVATION = 4
SOLUTION_MISSING = "the Prospect to cash solution is not installed in the org: push will refuse"


def push_plan(conn: Connection, batch_size: int = 1000, concurrency: int = 8) -> dict[str, Any] | None:
    """The plan's `push` section (shape: p2c_upgrade/schemas/plan.schema.json `push`), or None."""
    known = state.get_org(conn)
    if known is None:
        return None
    solution = bool(known["solution_installed"])
    per_table: dict[str, dict[str, int]] = {}
    records: dict[str, int] = {}
    counts = {"records": 0, "columns": 0}

    def counted() -> Iterator[RecordChange]:
        for chunk in pending_changes(conn, skip=(SEQUENCE_TABLE,)):
            for change in chunk:
                counts["records"] += 1
                counts["columns"] += len(change.cols)
                records[change.tbl] = records.get(change.tbl, 0) + 1
                cols = per_table.setdefault(change.tbl, {})
                for col in change.cols:
                    cols[col] = cols.get(col, 0) + 1
                yield change

    changes = counted()
    reservations = plan_reservations(conn, changes) if solution else []
    for _ in changes:           # without the solution: count only
        pass
    n = counts["records"]
    reservations = reservations if n else []
    batches = math.ceil(n / batch_size)
    requests = (INSPECT_REQUESTS + REQUESTS_PER_RESERVATION * len(reservations) + batches
                if n or reservations else 0)
    execution = n * SECONDS_PER_RECORD
    in_flight = max(1, min(concurrency, MAX_CONCURRENT, batches))
    windows = max(requests / REQUESTS_PER_WINDOW, execution / EXECUTION_S_PER_WINDOW)
    throttled = (windows - 1) * WINDOW_S if windows > 1 else 0.0
    seconds = max(execution / in_flight, throttled) + (SETTLE_S if reservations else 0)
    return {
        "org": known["org_url"], "last_pulled_at": _iso(known.get("last_pulled_at")),
        "solution_installed": solution,
        "records": n, "columns": counts["columns"],
        "tables": [{"table": t, "records": records[t],
                    "columns": [{"column": c, "records": n} for c, n in sorted(per_table[t].items())]}
                   for t in sorted(records)],
        "sequences": [{"entity": r.entity, "pulled": r.pulled, "target": r.target} for r in reservations],
        "requests": requests, "batch_size": batch_size, "concurrency": concurrency,
        "estimated_seconds": round(seconds, 1),
        "limits": {"requests_per_window": REQUESTS_PER_WINDOW,
                   "execution_seconds_per_window": EXECUTION_S_PER_WINDOW,
                   "window_seconds": WINDOW_S, "concurrent_requests": MAX_CONCURRENT,
                   "assumed_execution_seconds_per_record": SECONDS_PER_RECORD},
        "blockers": [] if solution else [SOLUTION_MISSING],
    }


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value)


def live_status(conn: Connection) -> dict[str, Any] | None:
    known = state.get_org(conn)
    if known is None:
        return None
    pulled = [{"table": r.tbl, "state": r.state, "records": int(r.records), "finished_at": r.finished_at}
              for r in conn.execute(sa.select(state.pulls).order_by(state.pulls.c.tbl))]
    counts: dict[str, int] = {str(s): int(n) for s, n in conn.execute(
        sa.select(state.pushes.c.state, sa.func.count()).group_by(state.pushes.c.state))}
    pending = sum(len(c.cols) for chunk in pending_changes(conn, skip=(SEQUENCE_TABLE,)) for c in chunk)
    return {"org": known["org_url"], "last_pulled_at": known["last_pulled_at"], "pull": pulled,
            "push": {"pushed": counts.get("pushed", 0), "pending": pending,
                     "conflicts": counts.get("conflict", 0), "failed": counts.get("failed", 0)}}
