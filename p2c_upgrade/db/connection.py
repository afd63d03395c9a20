"""Opening the Sales database: URLs, dialect set-up, read-only mode, and error translation.

Every connection is set up so that the SQL in `sql/` can name tables unqualified: PostgreSQL gets
`search_path` set to the Sales schema, SQLite gets the helper functions the SQL uses.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from p2c_upgrade.db.holders import describe_lock_holders
from p2c_upgrade.errors import P2CError, UsageError
from p2c_upgrade.interrupt import install_sqlite_handler
from p2c_upgrade.redact import mask_secrets as mask_secrets  # re-exported: one masking rule
from p2c_upgrade.redact import mask_url, url_secrets
from p2c_upgrade.rules.keys import dataverse_key, fno_key
from p2c_upgrade.rules.number_format import seqpart, suffix_for

ENV_URL = "P2C_DATABASE_URL"
DEFAULT_LOCK_TIMEOUT_S = 30.0


def _sqlite_functions(dbapi_conn: sqlite3.Connection) -> None:
    # rules/keys.py, for sql/sqlite/keys.sql
    dbapi_conn.create_function("p2c_dataverse_key", 1, dataverse_key, deterministic=True)
    dbapi_conn.create_function("p2c_fno_key", 1, fno_key, deterministic=True)
    dbapi_conn.create_function(
        "p2c_suffix", 3, lambda key, salt, n: suffix_for(str(key), salt or "", int(n)),
        deterministic=True,
    )
    dbapi_conn.create_function("p2c_seqpart", 2, seqpart, deterministic=True)


@dataclass
class Database:
    """An open Sales database; `url` is kept with its password masked."""

    engine: Engine
    url: URL
    schema: str | None
    read_only: bool
    secrets: list[str] = field(default_factory=list)
    #: the SQLite file (also when the URL was rewritten for read-only mode)
    path: Path | None = None
    #: SQLite: the driver's connections the pool has open (for `rollback_abandoned`)
    raw_connections: list[sqlite3.Connection] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @property
    def safe_url(self) -> str:
        """The URL as shown or stored: every credential masked."""
        return mask_url(self.url)

    @property
    def label(self) -> str:
        """The database as the user named it, password masked (not the read-only URI SQLite
        is opened with)."""
        return f"sqlite:///{self.path}" if self.path is not None else self.safe_url

    @property
    def sqlite_path(self) -> Path | None:
        return self.path

    def mask(self, text: str) -> str:
        return mask_secrets(text, self.secrets)

    def quote(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote_identifier(name)

    def dispose(self) -> None:
        self.engine.dispose()

    def rollback_abandoned(self, exc: BaseException) -> None:
        """After Ctrl-C (`exc`), free what the interrupted statement left holding SQLite's lock.

        SQLAlchemy does no I/O on a connection a `KeyboardInterrupt` went through: it drops or
        closes it as it is. The statement's cursor lives on in the traceback's frames, and
        SQLite keeps a connection with an unfinished statement open (a "zombie") in its
        transaction, so recording `interrupted` would wait the whole lock timeout for
        ourselves. Clearing the frames' variables finalizes the statement; connections still
        in a transaction are rolled back. Called only once the command's work has stopped."""
        if self.dialect != "sqlite":
            return
        seen: set[int] = set()
        chained: BaseException | None = exc
        while chained is not None and id(chained) not in seen:
            seen.add(id(chained))
            if chained.__traceback__ is not None:
                traceback.clear_frames(chained.__traceback__)
            chained = chained.__cause__ or chained.__context__
        gc.collect()
        for raw in list(self.raw_connections):
            try:
                if raw.in_transaction:
                    raw.rollback()
            except sqlite3.Error:
                self.raw_connections.remove(raw)


def resolve_url(url: str | None) -> str:
    url = url or os.environ.get(ENV_URL)
    if not url:
        raise UsageError(f"no database: give --db URL or set {ENV_URL}")
    return url


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UsageError(f"not a database URL: {mask_secrets(url, [])}") from None
    except ValueError:  # SQLAlchemy reads the port with int()
        raise UsageError(f"not a database URL (the port must be a number): {mask_secrets(url)}"
                         ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername in ("postgresql", "postgres") or backend == "postgres":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise UsageError(
            f"unsupported database {parsed.get_backend_name()!r}: use a sqlite:/// or postgresql:// URL"
        )
    return parsed


def open_database(
    url: str | None,
    schema: str | None = None,
    *,
    read_only: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
    must_exist: bool = True,
    sqlite_cache_kib: int | None = None,
) -> Database:
    """Open (and check we can reach) the database named by `url` or `$P2C_DATABASE_URL`;
    `sqlite_cache_kib` sizes SQLite's page cache of each connection (`SQLITE_CACHE_KIB`)."""
    parsed = parse_url(resolve_url(url))
    secrets = url_secrets(parsed)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    sqlite_file: Path | None = None
    if backend == "sqlite":
        if schema:
            raise UsageError("--schema applies to PostgreSQL only")
        path = parsed.database
        if path and path != ":memory:":
            if must_exist and not Path(path).exists():
                raise P2CError(f"SQLite database not found: {path}")
            sqlite_file = Path(path).resolve()
            if read_only:
                # A URI: the path percent-encoded, so `#`, `?` and `%` in it name the file
                # instead of ending the path (and `mode=ro` with it: SQLite would then create
                # an empty file where the path was cut).
                parsed = parsed.set(
                    database=f"file:{quote(str(sqlite_file))}?mode=ro", query={"uri": "true"}
                )
        connect_args["timeout"] = lock_timeout
        connect_args["check_same_thread"] = False
    else:
        connect_args["connect_timeout"] = 10
        connect_args["application_name"] = "p2c-upgrade"
        connect_args["prepare_threshold"] = None  # always custom plans: batch bounds matter
        options = [f"-c lock_timeout={int(lock_timeout * 1000)}"]
        if read_only:
            options.append("-c default_transaction_read_only=on")
        connect_args["options"] = " ".join(options)
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args)
    except (NoSuchModuleError, ArgumentError) as exc:
        raise UsageError(mask_secrets(f"cannot use database URL: {exc}", secrets)) from None
    db = Database(engine=engine, url=parsed, schema=schema, read_only=read_only, secrets=secrets,
                  path=sqlite_file)
    _install_events(db, sqlite_cache_kib)
    with translate_errors(db), engine.connect() as conn:
        if db.is_postgres and schema:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
            ).scalar()
            if not found:
                raise P2CError(f"schema {schema!r} does not exist in the database")
    return db


#: SQLite's page cache per connection for the commands that rewrite Sales tables in bulk (`run`,
#: `duplicates --renumber`, `undo`), in KiB (negative: a size, not pages): the steps update rows
#: by key in queue order, i.e. at random places of the table, and SQLite's default 2 MiB cache
#: re-read the same pages from the file system over and over (run at 200,000 accounts: 26-29 s
#: instead of 34-35 s). An upper bound, taken only as pages are read; other commands and sync
#: targets keep SQLite's default.
SQLITE_CACHE_KIB = int(os.environ.get("P2C_SQLITE_CACHE_KIB", "-131072"))


def _install_events(db: Database, sqlite_cache_kib: int | None) -> None:
    engine = db.engine
    if db.dialect == "sqlite":

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            _sqlite_functions(dbapi_conn)
            install_sqlite_handler(dbapi_conn)
            db.raw_connections.append(dbapi_conn)
            if sqlite_cache_kib is not None:
                dbapi_conn.execute(f"PRAGMA cache_size = {int(sqlite_cache_kib)}")

        @event.listens_for(engine.pool, "close")
        @event.listens_for(engine.pool, "close_detached")
        def _close(dbapi_conn: sqlite3.Connection, *_args: Any) -> None:
            if dbapi_conn in db.raw_connections:
                db.raw_connections.remove(dbapi_conn)

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # IMMEDIATE takes the write lock up front: no deadlock on lock upgrade.
            conn.exec_driver_sql("BEGIN" if db.read_only else "BEGIN IMMEDIATE")

    else:
        schema = db.schema

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            if schema:
                quoted = engine.dialect.identifier_preparer.quote_identifier(schema)
                with dbapi_conn.cursor() as cur:
                    cur.execute(f"SET search_path TO {quoted}")
                dbapi_conn.commit()


_PG_HINTS = (
    ("password authentication failed", "authentication failed for user {user}"),
    ("no password supplied", "authentication failed for user {user}: no password supplied"),
    ("connection refused", "cannot connect to the database server at {host}: connection refused"),
    ("could not translate host name", "cannot resolve the database host {host}"),
    ("timeout expired", "cannot connect to the database server at {host}: timed out"),
    ("does not exist", None),
)


def describe_db_error(exc: BaseException, db: Database | None) -> str:
    """One line for a driver error, without the SQL statement and without the password."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    host = "?"
    user = "?"
    if db is not None:
        host = f"{db.url.host or 'localhost'}:{db.url.port or 5432}"
        user = db.url.username or "?"
    low = text.lower()
    for needle, template in _PG_HINTS:
        if needle in low and template:
            text = template.format(host=host, user=user)
            break
    if "permission denied" in low or "insufficient privilege" in low:
        text = f"the database user lacks a privilege: {text}"
    if "read-only" in low or "readonly" in low:
        text = f"the database is read-only: {text}"
    if "lock timeout" in low or "database is locked" in low:
        text = f"timed out waiting for a lock held by another session: {text}"
        holders = _lock_holders(db, orig)
        if holders:
            text = f"{text}; {holders}"
    if any(n in low for n in ("terminating connection", "server closed the connection",
                              "connection is lost", "consuming input failed")):
        text = (f"lost the connection to the database server ({text}): what was not committed "
                "was rolled back; run the same command again to resume")
    if "statement timeout" in low:
        text = f"the server cancelled a statement that ran past its statement_timeout: {text}"
    if "no such table" in low or "undefinedtable" in low:
        text = f"missing table: {text}"
    if "disk" in low and "full" in low or "no space left on device" in low:
        text = f"the disk is full: {text}"
    secrets = db.secrets if db else []
    return mask_secrets(text, secrets)


def _lock_holders(db: Database | None, orig: BaseException) -> str | None:
    """Which table and which session: the administrator needs to know whom to ask."""
    if db is None:
        return None
    diag = getattr(orig, "diag", None)
    return describe_lock_holders(db, getattr(diag, "context", None) or "")


@contextmanager
def translate_errors(db: Database | None) -> Iterator[None]:
    """Turn driver errors into a one-line `P2CError` (the traceback stays for --debug)."""
    try:
        yield
    except P2CError:
        raise
    except (DBAPIError, sqlite3.Error, psycopg.Error) as exc:
        # The bare driver errors come from calls SQLAlchemy does not wrap (COPY on a raw cursor).
        raise P2CError(describe_db_error(exc, db)) from exc
    except SQLAlchemyError as exc:
        raise P2CError(describe_db_error(exc, db)) from exc
