"""The tool's bookkeeping in `p2c_` tables: one row per run, one per run and step, and the journal.

Step progress is written on the caller's connection, inside the batch's own transaction, so the
ledger can never claim a batch that did not commit, nor miss one that did.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade import __version__
from p2c_upgrade.host import os_user

metadata = sa.MetaData()

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

runs = sa.Table(
    "p2c_run", metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("command", sa.String(32), nullable=False),
    sa.Column("started_at", sa.String(32), nullable=False),
    sa.Column("finished_at", sa.String(32)),
    sa.Column("os_user", sa.String(128)),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("options", sa.Text),
    sa.Column("tool_version", sa.String(32)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
)

steps = sa.Table(
    "p2c_step", metadata,
    sa.Column("run_id", sa.Integer, primary_key=True),
    sa.Column("step", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("rows_changed", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("batches", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cursor", sa.Text),
    sa.Column("started_at", sa.String(32)),
    sa.Column("finished_at", sa.String(32)),
    sa.Column("detail", sa.Text),
    sa.Column("error", sa.Text),
)

journal = sa.Table(
    "p2c_journal", metadata,
    sa.Column("journal_id", BigId, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("step", sa.String(64), nullable=False),
    sa.Column("tbl", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(64), nullable=False),
    sa.Column("col", sa.String(64), nullable=False),
    sa.Column("old_value", sa.Text),
    sa.Column("new_value", sa.Text),
    sa.Index("p2c_journal_run_step", "run_id", "step"),
)

class StepState(str, Enum):
    """A step execution's state as `p2c_step.state` stores it (the value is the stored text)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    BLOCKED = "blocked"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


STATES = tuple(s.value for s in StepState)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ensure_tables(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


def tables_exist(conn: Connection) -> bool:
    return sa.inspect(conn).has_table("p2c_run")


def start_run(conn: Connection, command: str, options: dict[str, Any]) -> int:
    """Record a new run; earlier runs still marked running died without saying so."""
    conn.execute(
        runs.update().where(runs.c.outcome == "running").values(outcome="interrupted")
    )
    conn.execute(
        steps.update().where(steps.c.state == "running").values(state="interrupted")
    )
    result = conn.execute(
        runs.insert().values(
            command=command, started_at=now(), os_user=_user(), host=socket.gethostname(),
            pid=os.getpid(), options=json.dumps(options, sort_keys=True, default=str),
            tool_version=__version__, outcome="running",
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_run(conn: Connection, run_id: int, outcome: str, error: str | None = None) -> None:
    conn.execute(
        runs.update().where(runs.c.run_id == run_id)
        .values(outcome=outcome, finished_at=now(), error=error)
    )


def start_step(conn: Connection, run_id: int, step: str) -> None:
    conn.execute(
        steps.insert().values(run_id=run_id, step=step, state=StepState.RUNNING.value, started_at=now())
    )


def record_batch(conn: Connection, run_id: int, step: str, rows: int, cursor: str | None) -> None:
    """Called inside the batch's transaction."""
    conn.execute(
        steps.update()
        .where(steps.c.run_id == run_id, steps.c.step == step)
        .values(rows_changed=steps.c.rows_changed + rows, batches=steps.c.batches + 1,
                cursor=cursor)
    )


def finish_step(
    conn: Connection, run_id: int, step: str, state: StepState,
    *, detail: str | None = None, error: str | None = None,
) -> None:
    conn.execute(
        steps.update()
        .where(steps.c.run_id == run_id, steps.c.step == step)
        .values(state=StepState(state).value, finished_at=now(), detail=detail, error=error)
    )


def resume_cursor(conn: Connection, step: str) -> str | None:
    """Where an interrupted or failed execution of `step` stopped, if it was the latest one."""
    row = conn.execute(
        sa.select(steps.c.state, steps.c.cursor)
        .where(steps.c.step == step)
        .order_by(steps.c.run_id.desc())
        .limit(1)
    ).first()
    if row and row.state in ("running", "interrupted", "failed"):
        return row.cursor
    return None


@dataclass
class StepStatus:
    step: str
    state: str
    run_id: int | None
    rows_changed: int
    batches: int
    started_at: str | None
    finished_at: str | None
    detail: str | None
    error: str | None


def latest_step_status(conn: Connection) -> dict[str, StepStatus]:
    """Each step's latest recorded execution."""
    latest = (
        sa.select(steps.c.step, sa.func.max(steps.c.run_id).label("run_id"))
        .group_by(steps.c.step).subquery()
    )
    rows = conn.execute(
        sa.select(steps).join(
            latest, sa.and_(steps.c.step == latest.c.step, steps.c.run_id == latest.c.run_id)
        )
    )
    return {
        r.step: StepStatus(r.step, r.state, r.run_id, int(r.rows_changed), int(r.batches),
                           r.started_at, r.finished_at, r.detail, r.error)
        for r in rows
    }


def latest_run(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(sa.select(runs).order_by(runs.c.run_id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def _user() -> str:
    return os_user()
