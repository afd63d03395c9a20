"""One upgrade lock per database, freed by the operating system or the server when its holder dies.

PostgreSQL: a session advisory lock on a connection held for the whole run (keyed by schema).
SQLite: `flock` on a file beside the database. Neither needs a table, so `plan` and `status`
never wait for it.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import zlib
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.errors import LockHeldError

_PG_CLASS = 0x50324355  # "P2CU"


def _pg_keys(db: Database) -> tuple[int, int]:
    key = zlib.crc32((db.schema or "public").encode("utf-8"))
    return _PG_CLASS, key - (1 << 32) if key >= (1 << 31) else key


def _me(command: str) -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001
        user = str(os.getuid())
    return {
        "command": command, "user": user, "host": socket.gethostname(), "pid": os.getpid(),
        "since": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class UpgradeLock:
    """Context manager: `with UpgradeLock(db, "run"): ...`; raises LockHeldError at once."""

    def __init__(self, db: Database, command: str = "run") -> None:
        self.db = db
        self.command = command
        self._conn: Connection | None = None
        self._file: IO[str] | None = None

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
        if self.db.is_postgres:
            self._acquire_pg()
        elif self.path is not None:
            self._acquire_file(self.path)

    def _acquire_pg(self) -> None:
        me = _me(self.command)
        conn = self.db.engine.connect()
        k1, k2 = _pg_keys(self.db)
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": k1, "b": k2}).scalar()
        if not got:
            holder = self._pg_holder(conn, k1, k2)
            conn.close()
            raise LockHeldError(f"another p2c-upgrade run holds the upgrade lock: {holder}")
        label = f"p2c-upgrade {me['command']} {me['user']}@{me['host']} pid {me['pid']}"
        conn.execute(sa.text("SELECT set_config('application_name', :n, false)"), {"n": label[:63]})
        conn.commit()
        self._conn = conn

    @staticmethod
    def _pg_holder(conn: Connection, k1: int, k2: int) -> str:
        row = conn.execute(
            sa.text(
                "SELECT a.pid, a.usename, a.application_name, a.client_addr, a.backend_start "
                "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted "
                "AND l.classid = CAST(CAST(:a AS bigint) & 4294967295 AS oid) "
                "AND l.objid = CAST(CAST(:b AS bigint) & 4294967295 AS oid) AND l.objsubid = 2"
            ),
            {"a": k1, "b": k2},
        ).first()
        if row is None:
            return "the holder could not be identified"
        since = row.backend_start.strftime("%Y-%m-%d %H:%M:%S %Z") if row.backend_start else "?"
        return (f"{row.application_name or 'unknown'} (server pid {row.pid}, "
                f"database user {row.usename}) since {since}")

    def _acquire_file(self, path: Path) -> None:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raw = handle.read()
            handle.close()
            raise LockHeldError(
                f"another p2c-upgrade run holds the upgrade lock: {_describe(raw)}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_me(self.command)))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))
                self._conn.close()
            finally:
                self._conn = None
        if self._file is not None:
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
                self._file.close()
            finally:
                self._file = None


def _describe(raw: str) -> str:
    try:
        info = json.loads(raw)
        return (f"p2c-upgrade {info['command']} by {info['user']}@{info['host']} "
                f"pid {info['pid']} since {info['since']}")
    except (ValueError, KeyError):
        return "the holder could not be identified"


def holder(db: Database) -> str | None:
    """Who holds the lock now, without taking it (for `status`); None when free."""
    if db.is_postgres:
        k1, k2 = _pg_keys(db)
        with db.engine.connect() as conn:
            text = UpgradeLock._pg_holder(conn, k1, k2)
        return None if text == "the holder could not be identified" else text
    lock = UpgradeLock(db)
    if lock.path is None or not lock.path.exists():
        return None
    with open(lock.path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe(handle.read())
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None
