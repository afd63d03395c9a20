"""Per-record sync state in the Sales database: what each record became, for which target.

`p2c_sync_record` holds one row per (target, task, Sales record): synced with the key it was
written under and a fingerprint of the row, or failed with its reason. A rerun re-maps every
record whose source digest changed (the rest are left out in SQL) and writes only those whose
fingerprint differs, that failed, or were never reached.
`p2c_sync_run` keeps each sync's summary for `status`; `p2c_sync_key_owner` who keeps each key
several records share (`keys.py`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db import sqlfiles
from p2c_upgrade.db.connection import Database
from p2c_upgrade.sync.bulk import insert_rows

RECORD_TABLE = "p2c_sync_record"
RUN_TABLE = "p2c_sync_run"
KEY_OWNER_TABLE = "p2c_sync_key_owner"
#: an index of earlier versions that no query used; dropped by `ensure_tables`
RETIRED_INDEX = "ix_p2c_sync_record_key"

SYNCED = "synced"
FAILED = "failed"
#: written to a target that imports later (the fno: target): synced or failed once F&O answers
PENDING = "pending"

_md = sa.MetaData()
# The primary key leads with source_id, the column a batch joins on. No other index: each one
# costs every state row written (the retired (key_fold, entity, target_id) index, which no query
# used, was a third of the state write: 250,000 rows in 2.9 s without it, 4.5 s with it).
records = sa.Table(
    RECORD_TABLE, _md,
    sa.Column("source_id", sa.String(64), primary_key=True),
    sa.Column("task", sa.String(40), primary_key=True),
    sa.Column("target_id", sa.String(36), primary_key=True),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("key_value", sa.String(64)),
    sa.Column("key_fold", sa.String(64)),
    sa.Column("fingerprint", sa.String(32)),
    sa.Column("reason", sa.String(40)),
    sa.Column("detail", sa.String(400)),
    sa.Column("number", sa.String(64)),
    sa.Column("sync_run_id", sa.Integer),
    sa.Column("updated_at", sa.DateTime),
    #: the source digest the record was last written under (`source.batch_query`)
    sa.Column("source_digest", sa.String(32)),
)
#: Keys more than one selected record has, and who keeps each: rebuilt from the Sales data at
#: the start of every sync (`p2c_upgrade.sync.keys`).
key_owners = sa.Table(
    KEY_OWNER_TABLE, _md,
    sa.Column("key_fold", sa.Text, primary_key=True),
    sa.Column("entity", sa.String(40), primary_key=True),
    sa.Column("target_id", sa.String(36), primary_key=True),
    sa.Column("task", sa.String(40), nullable=False),
    sa.Column("source_id", sa.String(64), nullable=False),
)
runs = sa.Table(
    RUN_TABLE, _md,
    sa.Column("sync_run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer),
    sa.Column("target_id", sa.String(36)),
    sa.Column("target", sa.String(400), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("exit_code", sa.Integer),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("summary", sa.Text),
)

#: the order of a state row's values in `write_records`
COLUMNS = ("target_id", "task", "source_id", "entity", "status", "key_value", "key_fold",
           "fingerprint", "reason", "detail", "number", "sync_run_id", "updated_at",
           "source_digest")
_KEY = ("source_id", "task", "target_id")
_UPDATABLE = tuple(c for c in COLUMNS if c not in _KEY)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def ensure_tables(db: Database) -> None:
    """Create the sync's tables; a state table of an earlier version gets `source_digest`
    (NULL: those records are re-mapped once, then skipped in SQL while unchanged) and loses
    `RETIRED_INDEX`."""
    _md.create_all(db.engine, checkfirst=True)
    with db.engine.begin() as conn:
        inspector = sa.inspect(conn)
        have = {c["name"] for c in inspector.get_columns(RECORD_TABLE)}
        if "source_digest" not in have:  # needs the table's owner (docs/privileges.md)
            conn.execute(sa.text(f"ALTER TABLE {db.quote(RECORD_TABLE)} "
                                 f"ADD COLUMN {db.quote('source_digest')} VARCHAR(32)"))
        retired = any(i["name"] == RETIRED_INDEX for i in inspector.get_indexes(RECORD_TABLE))
    if retired:
        try:
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"DROP INDEX {db.quote(RETIRED_INDEX)}"))
        except sa.exc.DBAPIError:  # not the owner: the index stays and only costs time
            pass


def write_records(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Upsert state rows (tuples in `COLUMNS` order; one statement per batch)."""
    insert_rows(conn, records, COLUMNS, rows, conflict=_KEY, update=_UPDATABLE)


class Statistics:
    """Keeps PostgreSQL's picture of the state table current while a sync fills it.

    Planned on the statistics of an empty table, the key look-up of one 5,000-record batch ran
    a nested loop over the whole state table (167 s of a 196 s sync at 100,000 accounts); with
    statistics it is an index look-up (37 ms). `ANALYZE` samples at most 30,000 rows (0.23 s at
    250,000 state rows), so it runs each time the rows written have doubled, and before a
    task's read (`before_task`, which joins the state) only when state was written since the
    last one: an unchanged rerun takes none."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.written = 0
        self.next_at = 1
        self.since_analyze = 0
        self.checked = False

    def wrote(self, rows: int) -> None:
        self.written += rows
        self.since_analyze += rows
        if self.db.dialect_impl.analyze_growing_tables and self.written >= self.next_at:
            self.next_at = 2 * self.written
            self._analyze()

    def before_task(self) -> None:
        """Before a task's read: fresh statistics if the state changed since the last
        `ANALYZE` (the first time, as the server counts changes; then, as this sync wrote)."""
        if not self.db.dialect_impl.analyze_growing_tables:
            return
        stale = self.since_analyze > 0
        if not self.checked:
            self.checked = True
            with self.db.engine.connect() as conn:
                changed = conn.execute(sa.text(sqlfiles.statement(
                    self.db.dialect, "sync", "state_changes_since_analyze")),
                    {"name": RECORD_TABLE}).scalar()
            stale = stale or changed is None or changed > 0
        if stale:
            self._analyze()

    def _analyze(self) -> None:
        self.since_analyze = 0
        with self.db.engine.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {self.db.quote(RECORD_TABLE)}")


def knows_target(db: Database, target_id: str) -> bool:
    """Whether this Sales database has ever synced to the target with this id."""
    with db.engine.connect() as conn:
        found = conn.execute(sa.select(runs.c.sync_run_id).where(runs.c.target_id == target_id)
                             .limit(1)).first()
    return found is not None


def start_run(db: Database, target: str, target_id: str, run_id: int | None) -> int:
    """Record a new sync; one still `running` died without saying so (the sync holds the
    upgrade lock, so no other is running)."""
    with db.engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.status == "running")
                     .values(status="interrupted"))
        result = conn.execute(
            runs.insert().values(run_id=run_id, target_id=target_id, target=target,
                                 status="running", started_at=now())
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def finish_run(db: Database, sync_run_id: int, status: str, exit_code: int | None,
               summary: dict[str, Any] | None) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            runs.update().where(runs.c.sync_run_id == sync_run_id).values(
                status=status, exit_code=exit_code, finished_at=now(),
                summary=json.dumps(summary, sort_keys=True) if summary is not None else None,
            )
        )


def last_run(db: Database) -> dict[str, Any] | None:
    """The latest sync's state and summary (None before the first sync), for `status`."""
    with db.engine.connect() as conn:
        if not sa.inspect(conn).has_table(RUN_TABLE):
            return None
        row = conn.execute(
            sa.select(runs).order_by(runs.c.sync_run_id.desc()).limit(1)
        ).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["summary"] = json.loads(row["summary"]) if row["summary"] else None
    return out


def iter_failures(db: Database, target_id: str, task: str | None = None,
                  batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every record that failed for a target, in (task, id) order, streamed in key batches."""
    last: tuple[str, str] = ("", "")
    while True:
        where = [records.c.target_id == target_id, records.c.status == FAILED,
                 sa.tuple_(records.c.task, records.c.source_id) > last]
        if task:
            where.append(records.c.task == task)
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(records.c.task, records.c.source_id, records.c.number,
                          records.c.reason, records.c.detail)
                .where(*where).order_by(records.c.task, records.c.source_id).limit(batch)
            ).all()
        if not rows:
            return
        for r in rows:
            yield {"task": r.task, "id": r.source_id, "number": r.number, "reason": r.reason,
                   "detail": r.detail}
        last = (rows[-1].task, rows[-1].source_id)
