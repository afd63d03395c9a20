"""Each database's differences in one place (alembic's model: one class per dialect).

The rest of the code asks a `SalesDialect` (``Database.dialect_impl``, or `dialect_for(name)`
where only a connection is at hand) for what differs between SQLite and PostgreSQL: the driver's
placeholder, identifier quoting, connection set-up (search_path; SQLite's functions, PRAGMAs and
`BEGIN IMMEDIATE`), read-only mode, whether a long read blocks writers, how rows go in in bulk,
catalog look-ups and the lock-holder diagnostics. The SQL itself stays in the per-dialect files
of `db/sql/<dialect>/` (loaded by `sqlfiles` with `SalesDialect.name`).

This module imports nothing of `p2c_upgrade.db.connection` at run time (it is imported by it).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql as sa_postgresql
from sqlalchemy.dialects import sqlite as sa_sqlite
from sqlalchemy.engine import URL, Connection, Engine

from p2c_upgrade.db import sqlfiles
from p2c_upgrade.db.holders import pg_holders, sqlite_holders
from p2c_upgrade.errors import P2CError, UsageError
from p2c_upgrade.interrupt import install_sqlite_handler
from p2c_upgrade.rules.keys import dataverse_key, fno_key
from p2c_upgrade.rules.number_format import seqpart, suffix_for

if TYPE_CHECKING:
    from p2c_upgrade.db.connection import Database


class SalesDialect:
    """What the tool needs to know of one database; the subclasses fill it in."""

    #: SQLAlchemy's backend name, also the folder of the packaged SQL (`db/sql/<name>/`)
    name: str = ""
    #: the driver's placeholder for a bound value in `exec_driver_sql` (DB-API paramstyle)
    placeholder: str = "?"
    #: the SQL type name for text in a CAST
    text_type: str = "TEXT"
    #: a reader holds a lock that blocks writers for as long as it reads (SQLite's file lock):
    #: long reads go in short pages, and reads and writes do not overlap
    long_read_blocks_writers: bool = False
    #: rows go in by `COPY ... FROM STDIN` (else the driver's `executemany`)
    copy_in: bool = False
    #: a bound value may be an array, unnested on the server (`IN (SELECT unnest(...))`): one
    #: look-up statement per batch (else fixed-length IN lists)
    array_params: bool = False
    #: a CTE may modify data (`WITH j AS (INSERT ...) UPDATE ...`): journal and change in one
    #: statement (else two, in the same transaction)
    writable_cte: bool = False
    #: the planner needs fresh statistics while a table grows (`ANALYZE` now and then)
    analyze_growing_tables: bool = False
    #: privileges are the server's grants (else the file system's permissions)
    server_grants: bool = False
    #: the upgrade lock is the server's advisory lock (else a lock file beside the database)
    advisory_lock: bool = False
    #: `--schema` applies
    has_schemas: bool = False
    #: the database is a file the URL names (created where missing, for a sync target)
    file_based: bool = False

    def __init__(self, sa_dialect: sa.engine.Dialect) -> None:
        self._preparer = sa_dialect.identifier_preparer

    def quote(self, name: str) -> str:
        """`name` as a quoted identifier."""
        return str(self._preparer.quote_identifier(name))

    def cast_param(self, name: str, sql_type: str) -> str:
        """The bind parameter `:name` compared in the column's own type `sql_type`."""
        return f":{name}"

    def bad_key_params(self, chars: str) -> dict[str, str]:
        """The bind parameters of `plan.sql`'s test for any of `chars` in a key."""
        raise NotImplementedError

    # connecting ----------------------------------------------------------------------------
    def connect_args(self, *, lock_timeout: float, read_only: bool) -> dict[str, Any]:
        """The driver's connect arguments; `lock_timeout` in seconds."""
        raise NotImplementedError

    def prepare_url(self, url: URL, schema: str | None, *, read_only: bool,
                    must_exist: bool) -> tuple[URL, Path | None]:
        """The URL to connect with, and the database file (None: a server or in memory)."""
        return url, None

    def install_events(self, engine: Engine, *, schema: str | None, read_only: bool,
                       sqlite_cache_kib: int | None, raw_connections: list[Any]) -> None:
        """Set up every new connection so the packaged SQL can run unqualified; SQLite keeps
        the pool's open driver connections in `raw_connections` (for
        `Database.rollback_abandoned`)."""

    def check_connection(self, conn: Connection, schema: str | None) -> None:
        """Checks on the first connection (the schema exists)."""

    def init_new_file(self, engine: Engine) -> None:
        """Set up a database file the tool has just created (a sync target)."""

    @contextmanager
    def read_only_transaction(self, conn: Connection) -> Iterator[Connection]:
        """A transaction that cannot write and reads one snapshot (for `plan`)."""
        raise NotImplementedError
        yield conn

    # catalog -------------------------------------------------------------------------------
    def current_schema(self, conn: Connection) -> str | None:
        """The schema unqualified names resolve to (None: the only one)."""
        return None

    def key_type(self, conn: Connection, table: str, column: str) -> str:
        """The SQL type of a key column, for `cast_param` ("" where no cast is needed)."""
        return ""

    def table_columns(self, conn: Connection) -> dict[str, set[str]]:
        """Tables of the current schema and their columns, lower-cased."""
        insp = sa.inspect(conn)
        schema = self.current_schema(conn)
        return {table.lower(): {c["name"].lower() for c in insp.get_columns(table, schema=schema)}
                for table in insp.get_table_names(schema=schema)}

    def changed_rows(self, conn: Connection, result: sa.CursorResult[Any]) -> int:
        """The rows the statement of `result` changed."""
        return int(result.rowcount)

    def lock_holders(self, db: Database, context: str) -> str | None:
        """Who holds the locks a statement waited for (`db.holders`); None when unknown."""
        return None

    def user_label(self, url: URL) -> str:
        """Who lacks a privilege, in an error message."""
        return "this user"

    def digest(self, values: list[Any]) -> sa.ColumnElement[str]:
        """A digest of these SQL values, one per row, that tells NULL from '' (SQLite: the
        registered `p2c_digest`, `row_digest`). Compared only with digests made by the same
        database, so the two dialects need not agree."""
        return sa.func.p2c_digest(*values, type_=sa.String)


def row_digest(*values: Any) -> str:
    """SQLite's `p2c_digest(...)`: 32 hex digits of the values' Python repr (NULL, '' and 0
    stay distinct). Only ever compared with digests the same function made."""
    return hashlib.blake2b(repr(values).encode("utf-8", "surrogatepass"),
                           digest_size=16).hexdigest()


def _sqlite_functions(dbapi_conn: sqlite3.Connection) -> None:
    # rules/keys.py, for sql/sqlite/keys.sql
    dbapi_conn.create_function("p2c_dataverse_key", 1, dataverse_key, deterministic=True)
    dbapi_conn.create_function("p2c_fno_key", 1, fno_key, deterministic=True)
    dbapi_conn.create_function(
        "p2c_suffix", 3, lambda key, salt, n: suffix_for(str(key), salt or "", int(n)),
        deterministic=True,
    )
    dbapi_conn.create_function("p2c_seqpart", 2, seqpart, deterministic=True)
    # SalesDialect.digest: the sync's source digest
    dbapi_conn.create_function("p2c_digest", -1, row_digest, deterministic=True)


class SQLiteDialect(SalesDialect):
    name = "sqlite"
    placeholder = "?"
    text_type = "TEXT"
    long_read_blocks_writers = True
    file_based = True

    def bad_key_params(self, chars: str) -> dict[str, str]:
        return {"bad_glob": f"*[{chars}]*"}

    def connect_args(self, *, lock_timeout: float, read_only: bool) -> dict[str, Any]:
        return {"timeout": lock_timeout, "check_same_thread": False}

    def prepare_url(self, url: URL, schema: str | None, *, read_only: bool,
                    must_exist: bool) -> tuple[URL, Path | None]:
        if schema:
            raise UsageError("--schema applies to PostgreSQL only")
        path = url.database
        if not path or path == ":memory:":
            return url, None
        if must_exist and not Path(path).exists():
            raise UsageError(f"SQLite database not found: {Path(path).resolve()} (an absolute path "
                             "is sqlite:////abs/path.db, a relative one sqlite:///rel/path.db)")
        file = Path(path).resolve()
        if read_only:
            # A URI: the path percent-encoded, so `#`, `?` and `%` in it name the file instead
            # of ending the path (and `mode=ro` with it: SQLite would then create an empty file
            # where the path was cut).
            url = url.set(database=f"file:{quote(str(file))}?mode=ro", query={"uri": "true"})
        return url, file

    def install_events(self, engine: Engine, *, schema: str | None, read_only: bool,
                       sqlite_cache_kib: int | None, raw_connections: list[Any]) -> None:
        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            _sqlite_functions(dbapi_conn)
            install_sqlite_handler(dbapi_conn)
            raw_connections.append(dbapi_conn)
            if sqlite_cache_kib is not None:
                dbapi_conn.execute(f"PRAGMA cache_size = {int(sqlite_cache_kib)}")

        @event.listens_for(engine.pool, "close")
        @event.listens_for(engine.pool, "close_detached")
        def _close(dbapi_conn: sqlite3.Connection, *_args: Any) -> None:
            if dbapi_conn in raw_connections:
                raw_connections.remove(dbapi_conn)

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # IMMEDIATE takes the write lock up front: no deadlock on lock upgrade.
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    def init_new_file(self, engine: Engine) -> None:
        # WAL: one fsync per commit instead of several, as durable (synchronous stays FULL).
        # Existing files keep their journal mode. Outside any transaction: straight on the
        # driver connection (autocommit).
        with engine.connect() as conn:
            driver: Any = conn.connection.driver_connection
            driver.execute("PRAGMA journal_mode=WAL")

    @contextmanager
    def read_only_transaction(self, conn: Connection) -> Iterator[Connection]:
        with conn.begin():
            conn.exec_driver_sql("PRAGMA query_only = ON")
            try:
                yield conn
            finally:
                conn.exec_driver_sql("PRAGMA query_only = OFF")

    def changed_rows(self, conn: Connection, result: sa.CursorResult[Any]) -> int:
        # Python's sqlite3 reports no rowcount for WITH ... UPDATE
        return int(conn.execute(sa.text("SELECT changes()")).scalar() or 0)

    def lock_holders(self, db: Database, context: str) -> str | None:
        return sqlite_holders(db)


class PostgreSQLDialect(SalesDialect):
    name = "postgresql"
    placeholder = "%s"
    text_type = "text"
    copy_in = True
    array_params = True
    writable_cte = True
    analyze_growing_tables = True
    server_grants = True
    advisory_lock = True
    has_schemas = True

    def cast_param(self, name: str, sql_type: str) -> str:
        return f"CAST(:{name} AS {sql_type})"

    def digest(self, values: list[Any]) -> sa.ColumnElement[str]:
        """md5 of the row's text form (`ROW(...)::text`: NULL is empty, '' is `""`), which
        every column type has. (`hash_record_extended` was 10-40% faster but has no hash for
        some types a configuration may map, json among them.)"""
        return sa.func.md5(sa.cast(sa.func.row(*values), sa.Text), type_=sa.String)

    def bad_key_params(self, chars: str) -> dict[str, str]:
        return {"bad_chars": chars}

    def connect_args(self, *, lock_timeout: float, read_only: bool) -> dict[str, Any]:
        options = [f"-c lock_timeout={int(lock_timeout * 1000)}"]
        if read_only:
            options.append("-c default_transaction_read_only=on")
        return {"connect_timeout": 10, "application_name": "p2c-upgrade",
                "prepare_threshold": None,  # always custom plans: batch bounds matter
                "options": " ".join(options)}

    def install_events(self, engine: Engine, *, schema: str | None, read_only: bool,
                       sqlite_cache_kib: int | None, raw_connections: list[Any]) -> None:
        if not schema:
            return
        quoted = self.quote(schema)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET search_path TO {quoted}")
            dbapi_conn.commit()

    def check_connection(self, conn: Connection, schema: str | None) -> None:
        if schema and not conn.execute(
            sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
        ).scalar():
            raise P2CError(f"schema {schema!r} does not exist in the database")

    @contextmanager
    def read_only_transaction(self, conn: Connection) -> Iterator[Connection]:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn

    def current_schema(self, conn: Connection) -> str | None:
        return conn.execute(sa.text("SELECT current_schema()")).scalar()

    def key_type(self, conn: Connection, table: str, column: str) -> str:
        return str(conn.execute(
            sa.text(
                "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "WHERE a.attrelid = to_regclass(:t) AND a.attname = :c AND NOT a.attisdropped"
            ),
            {"t": table, "c": column},
        ).scalar_one())

    def table_columns(self, conn: Connection) -> dict[str, set[str]]:
        # From the catalog alone (db/sql/postgresql/catalog.sql): no table lock.
        out: dict[str, set[str]] = {}
        for table, column in conn.execute(sa.text(sqlfiles.statement(self.name, "catalog",
                                                                     "columns"))):
            out.setdefault(table.lower(), set()).add(column.lower())
        return out

    def lock_holders(self, db: Database, context: str) -> str | None:
        return pg_holders(db, context)

    def user_label(self, url: URL) -> str:
        return f"database user {url.username!r}" if url.username else "this user"


_DIALECTS: dict[str, SalesDialect] = {
    "sqlite": SQLiteDialect(sa_sqlite.dialect()),
    "postgresql": PostgreSQLDialect(sa_postgresql.psycopg.dialect()),
}


def dialect_for(name: str) -> SalesDialect:
    """The dialect of SQLAlchemy backend `name` (`engine.dialect.name`, `conn.dialect.name`)."""
    try:
        return _DIALECTS[name]
    except KeyError:
        raise UsageError(
            f"unsupported database {name!r}: use a sqlite:/// or postgresql:// URL") from None

