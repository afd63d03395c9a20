"""Opening the Sales database: URLs, dialect set-up, read-only mode, and error translation.

Every connection is set up so that the SQL in `sql/` can name tables unqualified: PostgreSQL gets
`search_path` set to the Sales schema, SQLite gets the helper functions the SQL uses. What differs
between the two is in `db/dialects.py` (`Database.dialect_impl`).
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

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from p2c_upgrade.db.dialects import SalesDialect, dialect_for
from p2c_upgrade.db.holders import describe_lock_holders
from p2c_upgrade.errors import P2CError, UsageError
from p2c_upgrade.redact import mask_secrets as mask_secrets  # re-exported: one masking rule
from p2c_upgrade.redact import mask_url, url_secrets

ENV_URL = "P2C_DATABASE_URL"
DEFAULT_LOCK_TIMEOUT_S = 30.0


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
    def dialect_impl(self) -> SalesDialect:
        """Everything that differs between SQLite and PostgreSQL (`db/dialects.py`)."""
        return dialect_for(self.dialect)

    @property
    def is_postgres(self) -> bool:
        """Prefer a capability of `dialect_impl`; kept for the per-dialect statement sequences
        of `upgrade/numbers.py`."""
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
        return self.dialect_impl.quote(name)

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
        raise UsageError(f"not a database URL: {mask_secrets(url, [])} (e.g. sqlite:////abs/path.db, "
                         "sqlite:///relative.db, postgresql://user@host/db)") from None
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
    impl = dialect_for(parsed.get_backend_name())
    parsed, sqlite_file = impl.prepare_url(parsed, schema, read_only=read_only,
                                           must_exist=must_exist)
    connect_args = impl.connect_args(lock_timeout=lock_timeout, read_only=read_only)
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args)
    except (NoSuchModuleError, ArgumentError) as exc:
        raise UsageError(mask_secrets(f"cannot use database URL: {exc}", secrets)) from None
    db = Database(engine=engine, url=parsed, schema=schema, read_only=read_only, secrets=secrets,
                  path=sqlite_file)
    impl.install_events(engine, schema=schema, read_only=read_only,
                        sqlite_cache_kib=sqlite_cache_kib, raw_connections=db.raw_connections)
    with translate_errors(db), engine.connect() as conn:
        impl.check_connection(conn, schema)
    return db


#: SQLite's page cache per connection for the commands that rewrite Sales tables in bulk (`run`,
#: `duplicates --renumber`, `undo`), in KiB (negative: a size, not pages): the steps update rows
#: by key in queue order, i.e. at random places of the table, and SQLite's default 2 MiB cache
#: re-read the same pages from the file system over and over (run at 200,000 accounts: 26-29 s
#: instead of 34-35 s). An upper bound, taken only as pages are read; other commands and sync
#: targets keep SQLite's default.
SQLITE_CACHE_KIB = int(os.environ.get("P2C_SQLITE_CACHE_KIB", "-131072"))


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
