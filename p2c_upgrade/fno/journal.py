"""The imports a sync started in F&O, in the Sales database next to the sync's own state.

`p2c_fno_import`: one row per package import, written with its execution id BEFORE
ImportFromPackage is requested (the id is ours: F&O takes the `executionId` it is given), so a
killed sync finds the execution it started and follows it instead of importing again.
`state`: prepared (id recorded) -> requested (F&O accepted the request) -> applied (the
per-record results are in `p2c_sync_record`), or abandoned (F&O never saw the request).
`p2c_fno_import_record`: which sync records each package carried, to apply F&O's results to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from p2c_upgrade.db import Database
from p2c_upgrade.sync.bulk import insert_rows

IMPORT_TABLE = "p2c_fno_import"
IMPORT_RECORD_TABLE = "p2c_fno_import_record"

PREPARED, REQUESTED, APPLIED, ABANDONED = "prepared", "requested", "applied", "abandoned"
OPEN_STATES = (PREPARED, REQUESTED)

_md = sa.MetaData()
imports = sa.Table(
    IMPORT_TABLE, _md,
    sa.Column("import_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("target_id", sa.String(36), nullable=False),
    sa.Column("package", sa.String(200), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("execution_id", sa.String(100), nullable=False, unique=True),
    sa.Column("definition_group", sa.String(100), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("fno_status", sa.String(24)),
    sa.Column("message", sa.String(1000)),
    sa.Column("sync_run_id", sa.Integer),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
)
import_records = sa.Table(
    IMPORT_RECORD_TABLE, _md,
    sa.Column("import_id", sa.Integer, primary_key=True),
    sa.Column("task", sa.String(40), primary_key=True),
    sa.Column("source_id", sa.String(64), primary_key=True),
    sa.Column("entity", sa.String(40), nullable=False),
    sa.Column("key_value", sa.String(64)),
    sa.Column("key_fold", sa.String(64)),
)
RECORD_COLUMNS = ("import_id", "task", "source_id", "entity", "key_value", "key_fold")


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def ensure_tables(db: Database) -> None:
    _md.create_all(db.engine, checkfirst=True)


def prepare(db: Database, target_id: str, package: str, sha256: str, execution_id: str,
            group: str, sync_run_id: int | None, records: Iterator[list[tuple[Any, ...]]]) -> int:
    """Record an import and its records (batches of (task, source_id, entity, key, fold));
    committed before anything is sent."""
    with db.engine.begin() as conn:
        result: Any = conn.execute(imports.insert().values(
            target_id=target_id, package=package, sha256=sha256, execution_id=execution_id,
            definition_group=group, state=PREPARED, sync_run_id=sync_run_id, created_at=now()))
        import_id = int(result.inserted_primary_key[0])
        for batch in records:
            insert_rows(conn, import_records, RECORD_COLUMNS, [(import_id, *r) for r in batch])
    return import_id


def set_state(db: Database, import_id: int, state: str, *, fno_status: str | None = None,
              message: str | None = None) -> None:
    values: dict[str, Any] = {"state": state}
    if fno_status is not None:
        values["fno_status"] = fno_status
    if message is not None:
        values["message"] = message[:1000]
    if state in (APPLIED, ABANDONED):
        values["finished_at"] = now()
    with db.engine.begin() as conn:
        conn.execute(imports.update().where(imports.c.import_id == import_id).values(**values))


def note_status(db: Database, execution_id: str, fno_status: str) -> None:
    """F&O's latest answer while polling (NotRun, Executing, ...), for `status`."""
    with db.engine.begin() as conn:
        conn.execute(imports.update().where(imports.c.execution_id == execution_id)
                     .values(fno_status=fno_status[:24]))


def open_imports(db: Database, target_id: str) -> list[dict[str, Any]]:
    """Imports started and not yet applied, oldest first."""
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(imports).where(
            imports.c.target_id == target_id, imports.c.state.in_(OPEN_STATES))
            .order_by(imports.c.import_id)).mappings().all()
    return [dict(r) for r in rows]


def iter_records(db: Database, import_id: int, batch: int = 5000
                 ) -> Iterator[list[tuple[str, str, str, str | None, str | None]]]:
    """The import's records in key batches: (task, source_id, entity, key_value, key_fold).
    Each batch is read on its own connection, closed before the caller writes (SQLite)."""
    c = import_records.c
    last: tuple[str, str] = ("", "")
    while True:
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.task, c.source_id, c.entity, c.key_value, c.key_fold)
                .where(c.import_id == import_id, sa.tuple_(c.task, c.source_id) > last)
                .order_by(c.task, c.source_id).limit(batch)).all()
        if not rows:
            return
        yield [tuple(r) for r in rows]
        last = (rows[-1][0], rows[-1][1])


def last_imports(db: Database) -> list[dict[str, Any]]:
    """For `status`: the F&O imports of the latest sync run that started any, plus every import
    still open (a stopped sync's). Each: package, execution_id, state (prepared, requested,
    applied, abandoned), fno_status (F&O's last answer or None), finished_at. [] before any."""
    with db.engine.connect() as conn:
        if not sa.inspect(conn).has_table(IMPORT_TABLE):
            return []
        c = imports.c
        latest = conn.execute(sa.select(sa.func.max(c.sync_run_id))).scalar()
        rows = conn.execute(
            sa.select(c.package, c.execution_id, c.state, c.fno_status, c.finished_at)
            .where(sa.or_(c.sync_run_id == latest, c.state.in_(OPEN_STATES)))
            .order_by(c.import_id)).mappings().all()
    return [dict(r) for r in rows]
