"""Who holds the locks a statement waited for: the administrator needs to know whom to ask.

PostgreSQL: other sessions' granted locks on the tables of the Sales schema (`pg_locks` joined
with `pg_stat_activity`), in the current database only. SQLite: the processes holding POSIX locks
on the database file, read from Linux's `/proc/locks` and `/proc/PID/cmdline`; elsewhere
(Windows, macOS) there is no such table and the description is simply left out.

This module imports nothing of `p2c_upgrade.db.connection` at run time (the Database type only
for the type checker), so the connection module can use it without an import cycle.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

if TYPE_CHECKING:
    from p2c_upgrade.db.connection import Database

#: at most this many characters of a holder's command line are shown, after masking
COMMAND_LINE_CHARS = 80
_PROC = Path("/proc")


def describe_lock_holders(db: Database, context: str = "") -> str | None:
    """Who holds locks the tool may have waited for: other sessions' locks on the tables of the
    Sales schema (PostgreSQL), or the processes locking the SQLite file. None when unknown;
    `context` is the server's error context (a table named in it is reported first)."""
    try:
        return db.dialect_impl.lock_holders(db, context)
    except Exception:  # noqa: BLE001 - a description must never hide the original error
        return None


def pg_holders(db: Database, context: str) -> str | None:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT c.relname, l.mode, a.pid, a.usename, a.application_name, a.client_addr, "
            "a.state, to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS') AS since "
            "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.granted AND l.pid <> pg_backend_pid() "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND c.relnamespace = CAST(current_schema() AS regnamespace) AND c.relkind IN ('r', 'p') "
            "AND a.application_name NOT LIKE 'p2c-upgrade%' ORDER BY c.relname, a.pid"
        )).fetchall()
    if not rows:
        return None
    named = [r for r in rows if f'"{r.relname}"' in context] or rows
    held: dict[tuple[str, int], list[str]] = {}
    first: dict[tuple[str, int], Any] = {}
    for r in named:
        held.setdefault((r.relname, r.pid), []).append(r.mode)
        first.setdefault((r.relname, r.pid), r)
    parts = []
    for key, modes in list(held.items())[:3]:
        r = first[key]
        app = f", application {db.mask(r.application_name)!r}" if r.application_name else ""
        addr = f" from {r.client_addr}" if r.client_addr else ""
        parts.append(f"table {key[0]} ({', '.join(modes)}) held by server pid {key[1]}, database user "
                     f"{r.usename}{app}{addr}, {r.state or 'unknown state'} "
                     f"since {r.since or '?'}")
    more = f"; and {len(held) - 3} more" if len(held) > 3 else ""
    return "; ".join(parts) + more + " (end it with SELECT pg_terminate_backend(pid) if it is stuck)"


def sqlite_holders(db: Database) -> str | None:
    path = db.sqlite_path
    locks = _PROC / "locks"
    if path is None or not path.exists() or not locks.exists():  # /proc: Linux only
        return None
    inode = os.stat(path).st_ino
    pids: list[int] = []
    try:
        lines = locks.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "POSIX" and fields[5].rsplit(":", 1)[-1] == str(inode):
            pid = int(fields[4])
            if pid != os.getpid() and pid not in pids:
                pids.append(pid)
    if not pids:
        return None
    return "the SQLite file (all its tables) is locked by " + ", ".join(
        f"pid {pid} ({command_line(pid, db.mask)})" for pid in pids[:3])


def command_line(pid: int, mask: Any) -> str:
    """The holder's program name and arguments on one line: enough to recognise it, never a
    screenful (the program's directory is dropped, so a deep install path cannot crowd it out).
    `mask(text) -> text` hides credentials; it runs on the whole line BEFORE the cut, so a
    credential cut in half (`postgresql://u:secret` without its `@`) cannot escape it."""
    try:
        argv = (_PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [os.path.basename(argv[0])] + argv[1:] if argv and argv[0] else argv
    text = " ".join(b" ".join(words).decode("utf-8", "replace").split())
    masked = str(mask(text))
    if len(masked) > COMMAND_LINE_CHARS:
        masked = masked[:COMMAND_LINE_CHARS - 3] + "..."
    return masked or "?"
