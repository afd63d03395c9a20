"""What stands between the tool and a write: missing privileges, and other sessions' locks.

`require_privileges` runs before a command writes anything (not even the lock file or the
ledger), so a read-only or under-privileged user gets one line naming what is missing instead
of a failure halfway through. Who holds a lock the tool waited for: `p2c_upgrade.db.holders`.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.db.schema import AUTONUMBER_TABLE, DOCUMENT_TABLES, P2C_COLUMNS
from p2c_upgrade.errors import P2CError

LEDGER_TABLES = ("p2c_run", "p2c_step", "p2c_journal")
#: table -> privileges each writing command needs on it, where the table exists
_TABLE_PRIVILEGES: dict[str, dict[str, tuple[str, ...]]] = {
    "run": {"account": ("SELECT", "UPDATE"), "contact": ("SELECT", "UPDATE"),
            **{t: ("SELECT",) for t in DOCUMENT_TABLES},
            "organization": ("SELECT", "UPDATE"), AUTONUMBER_TABLE: ("SELECT", "INSERT", "UPDATE")},
    "undo": {"account": ("SELECT", "UPDATE"), "contact": ("SELECT", "UPDATE"),
             "organization": ("SELECT", "UPDATE"),
             AUTONUMBER_TABLE: ("SELECT", "INSERT", "UPDATE", "DELETE")},
}
_TABLE_PRIVILEGES["duplicates"] = _TABLE_PRIVILEGES["run"]
README_HINT = "grant them or run as the tables' owner; docs/privileges.md lists what each command needs"


def require_privileges(db: Database, command: str, *, owns: tuple[str, ...] = ()) -> None:
    """Raise one line naming every missing privilege `command` needs; `owns`: tables it alters."""
    with db.engine.connect() as conn:
        missing = missing_privileges(db, conn, command, owns=owns)
    if missing:
        who = db.dialect_impl.user_label(db.url)
        raise P2CError(f"{command} cannot write: {who} lacks " + "; ".join(missing) + f": {README_HINT}")


def missing_privileges(db: Database, conn: Connection, command: str, *,
                       owns: tuple[str, ...] = ()) -> list[str]:
    if db.dialect_impl.server_grants:
        return _missing_pg(conn, command, owns)
    return _missing_sqlite(db)


def _missing_sqlite(db: Database) -> list[str]:
    path = db.sqlite_path
    if path is None or not path.exists():
        return []
    missing = []
    if _read_only_mount(path) or not os.access(path, os.W_OK):
        missing.append(f"write permission on the SQLite file {path}")
    folder = path.parent
    if _read_only_mount(folder) or not os.access(folder, os.W_OK | os.X_OK):
        missing.append(f"write permission on its directory {folder} (SQLite's journal file and "
                       "the upgrade lock file go there)")
    return missing


def _read_only_mount(path: Path) -> bool:
    """os.access() says yes to root even where the file system is mounted read-only (POSIX only:
    Windows has no statvfs, and its read-only media fail os.access already)."""
    statvfs = getattr(os, "statvfs", None)
    if statvfs is None:
        return False
    try:
        return bool(statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _missing_pg(conn: Connection, command: str, owns: tuple[str, ...]) -> list[str]:
    if conn.execute(sa.text("SELECT current_setting('transaction_read_only')")).scalar() == "on":
        return ["a writable session: the server or the session is read-only "
                "(a standby, or default_transaction_read_only is on)"]
    schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
    if schema is None:
        return ["USAGE on the schema (no schema of the search path is usable)"]
    rows = conn.execute(sa.text(
        "SELECT c.relname, pg_has_role(current_user, c.relowner, 'USAGE') AS owner "
        "FROM pg_class c WHERE c.relnamespace = CAST(:s AS regnamespace) AND c.relkind IN ('r', 'p')"
    ), {"s": _quote(schema)}).fetchall()
    tables = {r.relname: bool(r.owner) for r in rows}
    missing: list[str] = []
    for priv in ("USAGE", "CREATE") if _creates(conn, command, tables) else ("USAGE",):
        if not _scalar(conn, "SELECT has_schema_privilege(:s, :p)", {"s": schema, "p": priv}):
            missing.append(f"{priv} on schema {schema}")
    if command in ("run", "duplicates") and not _scalar(
            conn, "SELECT has_database_privilege(current_database(), 'TEMPORARY')", {}):
        missing.append("TEMPORARY on the database (numbering builds its work tables there)")
    wanted = dict(_TABLE_PRIVILEGES.get(command, {}))
    wanted.update({t: ("SELECT", "INSERT", "UPDATE") for t in LEDGER_TABLES})
    for table, privs in wanted.items():
        if table not in tables:
            continue
        lacking = [p for p in privs if not _scalar(
            conn, "SELECT has_table_privilege(CAST(:t AS regclass), :p)",
            {"t": f"{_quote(schema)}.{_quote(table)}", "p": p})]
        if lacking:
            missing.append(f"{', '.join(lacking)} on table {table}")
    for table, column in (("p2c_run", "run_id"), ("p2c_journal", "journal_id")):
        if table in tables and not _scalar(
                conn, "SELECT coalesce(has_sequence_privilege(pg_get_serial_sequence(:t, :c), 'USAGE'), true)",
                {"t": f"{_quote(schema)}.{_quote(table)}", "c": column}):
            missing.append(f"USAGE on the sequence of {table}.{column}")
    owned = [t for t in dict.fromkeys((*_must_own(conn, command, tables), *owns)) if t in tables and not tables[t]]
    if owned:
        missing.append(f"ownership of table{'s' if len(owned) > 1 else ''} {', '.join(owned)} "
                       f"({'prepare adds' if command == 'run' else 'undo takes away'} columns and indexes)")
    return list(dict.fromkeys(missing))


def _creates(conn: Connection, command: str, tables: dict[str, bool]) -> bool:
    """Whether the command will create a table (its ledger, or the sequence table)."""
    needed = LEDGER_TABLES + ((AUTONUMBER_TABLE,) if command == "run" else ())
    return any(t not in tables for t in needed)


def _must_own(conn: Connection, command: str, tables: dict[str, bool]) -> list[str]:
    """The tables `prepare` will alter: contact while a P2C column is missing, and each document
    table without an index on customerid."""
    if command != "run":
        return []
    out = []
    have = {r[0] for r in conn.execute(sa.text(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('contact') AND attnum > 0 "
        "AND NOT attisdropped"))}
    if any(c.column not in have for c in P2C_COLUMNS):
        out.append("contact")
    for table in DOCUMENT_TABLES:
        indexed = conn.execute(sa.text(
            "SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass(:t) AND a.attname = 'customerid'"
        ), {"t": _quote(table)}).first()
        if table in tables and indexed is None:
            out.append(table)
    return out


def _scalar(conn: Connection, sql: str, params: dict[str, object]) -> object:
    return conn.execute(sa.text(sql), params).scalar()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
