"""One upgrade lock per database and schema, freed by the operating system or the server when its
holder dies.

PostgreSQL: a session advisory lock on a connection held for the whole run. Advisory locks belong
to one database of the server; the key is the schema the session really uses (`current_schema()`
after `--schema` or the search_path), so `--schema sales` and a search_path of `sales` are one lock,
and the holder is looked up in the current database only (another database of the same server is
another lock and never reported here).
SQLite: a lock file `<db>.p2c-lock` beside the database (`p2c_upgrade.db.lockfile`: POSIX and
Windows, never following a link, removed when released).
Neither needs a table, so `plan` and `status` never wait for it.
"""

from __future__ import annotations

import json
import os
import zlib
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.db.lockfile import LockBusy, LockFile, holder_record
from p2c_upgrade.errors import LockHeldError
from p2c_upgrade.host import host_name, os_user

_PG_CLASS = 0x50324355  # "P2CU"
UNKNOWN = "the holder could not be identified"


def _pg_keys(conn: Connection) -> tuple[int, int]:
    """The advisory lock's two keys: the tool's class and a hash of the schema in use."""
    schema = conn.execute(sa.text("SELECT coalesce(current_schema(), '')")).scalar() or ""
    key = zlib.crc32(schema.encode("utf-8"))
    return _PG_CLASS, key - (1 << 32) if key >= (1 << 31) else key


def _me(command: str) -> dict[str, Any]:
    return {
        "command": command, "user": os_user(), "host": host_name(), "pid": os.getpid(),
        "since": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class UpgradeLock:
    """Context manager: `with UpgradeLock(db, "run"): ...`; raises LockHeldError at once."""

    def __init__(self, db: Database, command: str = "run") -> None:
        self.db = db
        self.command = command
        self._conn: Connection | None = None
        self._file: LockFile | None = None

    def __enter__(self) -> UpgradeLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: tuple[type[BaseException] | None, BaseException | None,
                                    TracebackType | None]) -> None:
        self.release()

    @property
    def path(self) -> Path | None:
        src = self.db.sqlite_path
        return src.with_name(src.name + ".p2c-lock") if src else None

    def acquire(self) -> None:
        if self.db.dialect_impl.advisory_lock:
            self._acquire_pg()
        elif self.path is not None:
            self._acquire_file(self.path)

    def _acquire_pg(self) -> None:
        me = _me(self.command)
        conn = self.db.engine.connect()
        try:
            k1, k2 = _pg_keys(conn)
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": k1, "b": k2}).scalar()
            if not got:
                raise LockHeldError(f"another p2c-upgrade run holds the upgrade lock: {_pg_holder(conn, k1, k2)}")
            label = f"p2c-upgrade {me['command']} {me['user']}@{me['host']} pid {me['pid']}"
            conn.execute(sa.text("SELECT set_config('application_name', :n, false)"), {"n": label[:63]})
            conn.commit()
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _acquire_file(self, path: Path) -> None:
        lock = LockFile(path)
        try:
            lock.acquire(json.dumps(_me(self.command)))
        except LockBusy as busy:
            raise LockHeldError(
                f"another p2c-upgrade run holds the upgrade lock: {_describe(busy.record)}"
            ) from None
        self._file = lock

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))
                self._conn.close()
            finally:
                self._conn = None
        if self._file is not None:
            try:
                self._file.release()
            finally:
                self._file = None


def _pg_holder(conn: Connection, k1: int, k2: int) -> str | None:
    """The session holding the advisory lock (k1, k2) in the current database, or None."""
    row = conn.execute(
        sa.text(
            "SELECT a.pid, a.usename, a.application_name, a.client_addr, a.backend_start "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid = CAST(CAST(:a AS bigint) & 4294967295 AS oid) "
            "AND l.objid = CAST(CAST(:b AS bigint) & 4294967295 AS oid) AND l.objsubid = 2"
        ),
        {"a": k1, "b": k2},
    ).first()
    if row is None:
        return None
    since = row.backend_start.strftime("%Y-%m-%d %H:%M:%S %Z") if row.backend_start else "?"
    return (f"{row.application_name or 'unknown'} (server pid {row.pid}, "
            f"database user {row.usename}) since {since}")


def _describe(raw: str) -> str:
    try:
        info = json.loads(raw)
        return (f"p2c-upgrade {info['command']} by {info['user']}@{info['host']} "
                f"pid {info['pid']} since {info['since']}")
    except (ValueError, KeyError, TypeError):
        return UNKNOWN


def holder(db: Database) -> str | None:
    """Who holds this database's (and schema's) lock now, without taking it (for `status` and
    `plan`); None when free. Creates nothing and waits for nothing."""
    if db.dialect_impl.advisory_lock:
        with db.engine.connect() as conn:
            k1, k2 = _pg_keys(conn)
            return _pg_holder(conn, k1, k2)
    path = UpgradeLock(db).path
    if path is None:
        return None
    record = holder_record(path)
    return None if record is None else _describe(record)
