"""A database that holds the F&O entities: one table per entity, upserts on the F&O key.

Tables are named after the entity (`fno_customers`, `fno_contact_persons`), columns are the
entity field names in lower case, and `p2c_key` (the key as F&O compares it) is the primary key,
so `ACC-1` and `acc-1` are one row as in F&O. `p2c_target` holds the id that ties the Sales
database's sync state to this very database: a new, empty target gets a new id.
"""

from __future__ import annotations

import itertools
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

from p2c_upgrade.db.connection import (
    Database,
    describe_db_error,
    open_database,
    parse_url,
    translate_errors,
)
from p2c_upgrade.db.dialects import dialect_for
from p2c_upgrade.errors import UsageError
from p2c_upgrade.sync.bulk import delete_rows, insert_rows, select_in, update_rows
from p2c_upgrade.sync.entities import ENTITIES, Entity
from p2c_upgrade.sync.targets.base import RowsRejected, TargetRow, UpsertCounts

TARGET_ID_TABLE = "p2c_target"
#: errors caused by the rows' data, not by the target (its connection, locks, disk, rights)
DATA_ERRORS = (sa.exc.DataError, sa.exc.IntegrityError, psycopg.DataError,
               psycopg.IntegrityError, sqlite3.DataError, sqlite3.IntegrityError)


def entity_tables() -> tuple[sa.MetaData, dict[str, sa.Table]]:
    md = sa.MetaData()
    tables: dict[str, sa.Table] = {}
    for e in ENTITIES.values():
        tables[e.name] = sa.Table(
            e.table, md,
            sa.Column("p2c_key", sa.String(80), primary_key=True),
            *(sa.Column(f.lower(), sa.String) for f in e.fields),
            sa.Column("p2c_task", sa.String(40)),
            sa.Column("p2c_source_id", sa.String(64)),
        )
    tables[TARGET_ID_TABLE] = sa.Table(
        TARGET_ID_TABLE, md,
        sa.Column("target_id", sa.String(36), primary_key=True),
        # bumped in every transaction that changes entity rows (the package re-renders on it)
        sa.Column("generation", sa.Integer),
        sa.Column("created_at", sa.DateTime, server_default=sa.func.current_timestamp()),
    )
    return md, tables


class DatabaseTarget:
    kind = "database"

    def __init__(self, db: Database, tables: dict[str, sa.Table], target_id: str,
                 description: str) -> None:
        self.db = db
        self.tables = tables
        self.target_id = target_id
        self.description = description
        #: table name -> whether its last batch was all new keys (see `_insert_all`)
        self._all_new: dict[str, bool] = {}

    @classmethod
    def open(cls, url: str) -> DatabaseTarget:
        parsed = parse_url(url)
        schema_param = parsed.query.get("schema")
        schema = schema_param if isinstance(schema_param, str) or schema_param is None \
            else schema_param[-1]
        parsed = parsed.difference_update_query(["schema"])
        impl = dialect_for(parsed.get_backend_name())
        if schema and not impl.has_schemas:
            raise UsageError("the schema parameter of a target URL applies to PostgreSQL only")
        plain = parsed.render_as_string(hide_password=False)
        new_file = False
        if impl.file_based and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            new_file = not Path(parsed.database).exists()
        if schema:
            _ensure_schema(plain, schema)
        db = open_database(plain, schema, must_exist=False)
        description = db.safe_url + (f" (schema {schema})" if schema else "")
        md, tables = entity_tables()
        with translate_errors(db):
            if new_file:
                impl.init_new_file(db.engine)  # SQLite: WAL
            md.create_all(db.engine, checkfirst=True)
            _add_missing_columns(db, tables)
            target_id = _target_id(db)
        return cls(db, tables, target_id, description)

    def mask(self, text: str) -> str:
        return self.db.mask(text)

    def upsert(self, entity: Entity, fields: tuple[str, ...], rows: list[TargetRow]
               ) -> UpsertCounts:
        t = self.tables[entity.name]
        names = tuple(f.lower() for f in fields)
        written = (*names, "p2c_task", "p2c_source_id")
        with translate_errors(self.db), _rejections(self.db), self.db.engine.begin() as conn:
            counts = None
            if self._all_new.get(t.name, True):
                counts = _insert_all(conn, t, written, rows)
            if counts is None:
                counts = _upsert_rows(conn, t, written, rows)
            self._all_new[t.name] = counts.inserted == len(rows)
            moved = _release(conn, t, rows)
            if counts.inserted or counts.updated or moved:
                gen = self.tables[TARGET_ID_TABLE].c.generation
                conn.execute(self.tables[TARGET_ID_TABLE].update().values(
                    generation=sa.func.coalesce(gen, 0) + 1))
        return counts

    def generation(self) -> int:
        """How many transactions have changed entity rows: equal means same contents."""
        gen = self.tables[TARGET_ID_TABLE].c.generation
        with translate_errors(self.db), self.db.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(gen), 0))).scalar_one())

    def row_counts(self) -> dict[str, int]:
        with translate_errors(self.db), self.db.engine.connect() as conn:
            return {e.display_name: int(conn.execute(
                sa.select(sa.func.count()).select_from(self.tables[e.name])).scalar_one())
                for e in ENTITIES.values()}

    def iter_rows(self, entity: Entity, fields: tuple[str, ...], batch: int = 5000
                  ) -> Iterator[tuple[str | None, ...]]:
        """The entity's rows in key order, streamed in key batches (memory stays flat)."""
        t = self.tables[entity.name]
        cols = [t.c[f.lower()] for f in fields]
        last: str | None = None
        while True:
            query = sa.select(t.c.p2c_key, *cols).order_by(t.c.p2c_key).limit(batch)
            if last is not None:
                query = query.where(t.c.p2c_key > last)
            with translate_errors(self.db), self.db.engine.connect() as conn:
                rows = conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield tuple(row[1:])
            last = rows[-1][0]

    @contextmanager
    def reading(self, entity: Entity, fields: tuple[str, ...], batch: int = 5000
                ) -> Iterator[Callable[[int], list[tuple[str | None, ...]]]]:
        """`take(n)`: the entity's next (at most) `n` rows in key order, `fields` in order; an
        empty list at the end. Memory holds what the caller takes.

        SQLite: one statement on one connection for the whole read, rows as the driver's tuples
        (keyset batches and SQLAlchemy's rows cost more than SQLite's scan: a package render's
        1.2 of 2.4 s at 100,000 accounts). Its snapshot is the contents when the read starts:
        the package renders after the last upsert, from the one process that writes the store.
        Other databases: `iter_rows`."""
        t = self.tables[entity.name]
        if self.db.dialect_impl.name != "sqlite":
            rows = self.iter_rows(entity, fields, batch)
            yield lambda n: list(itertools.islice(rows, n))
            return
        sql = (f"SELECT {', '.join(self.db.quote(f.lower()) for f in fields)} "
               f"FROM {self.db.quote(t.name)} ORDER BY {self.db.quote('p2c_key')}")
        with translate_errors(self.db), self.db.engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(sql)
                yield cursor.fetchmany
            finally:
                cursor.close()

    def finish(self, columns: dict[str, tuple[str, ...]], changed: bool) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.description, "rows": self.row_counts()}

    def close(self) -> None:
        self.db.dispose()


def _release(conn: sa.Connection, t: sa.Table, rows: list[TargetRow]) -> bool:
    """Remove the rows renumbered records left under their previous key, each only while it is
    still that record's (another record may have taken the key over, in this batch or an
    earlier one); after the batch's upsert, in its transaction. True when a row was asked to
    go (the generation then moves, so a package is rendered again)."""
    gone = [(r.previous_key, r.task, r.source_id) for r in rows if r.previous_key is not None]
    delete_rows(conn, t, ("p2c_key", "p2c_task", "p2c_source_id"), gone)
    return bool(gone)


def _insert_all(conn: sa.Connection, t: sa.Table, written: tuple[str, ...],
                rows: list[TargetRow]) -> UpsertCounts | None:
    """The batch as plain INSERTs inside a savepoint, without looking its keys up first: every
    row inserted (counts exact: all new), or None with nothing written when a key is already
    there or twice in the batch (the INSERT fails on the primary key; the savepoint is rolled
    back) or any other row fails, for `_upsert_rows` to redo the batch and raise what it raises.

    `DatabaseTarget.upsert` tries it only while the table's last batch was all new keys (a
    first sync; a resumed one once past the rows it had written), so a batch of known keys
    costs one failed INSERT at most once in a row. What it saves is the look-up of every key,
    which finds none in a first sync (profiled at 100,000 accounts: 1.0 of the store's 4.8 s
    while the sync's main thread runs beside it)."""
    try:
        with conn.begin_nested():
            insert_rows(conn, t, ("p2c_key", *written),
                        [(r.key_fold, *r.values, r.task, r.source_id) for r in rows])
    except DATA_ERRORS:
        return None
    return UpsertCounts(inserted=len(rows))


def _upsert_rows(conn: sa.Connection, t: sa.Table, written: tuple[str, ...],
                 rows: list[TargetRow]) -> UpsertCounts:
    """The general upsert: look the keys up, compare in Python, insert and update apart."""
    counts = UpsertCounts()
    existing = {row[0]: tuple(row[1:]) for row in select_in(
        conn, t, ("p2c_key", *written), "p2c_key", [r.key_fold for r in rows])}
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for r in rows:
        new = (*r.values, r.task, r.source_id)
        old = existing.get(r.key_fold)
        if old is None:
            inserts.append((r.key_fold, *new))
        elif old != new:
            updates.append((*new, r.key_fold))
        else:
            counts.unchanged += 1
    insert_rows(conn, t, ("p2c_key", *written), inserts)
    update_rows(conn, t, "p2c_key", written, updates)
    counts.inserted = len(inserts)
    counts.updated = len(updates)
    return counts


@contextmanager
def _rejections(db: Database) -> Iterator[None]:
    """A data error of a batch becomes `RowsRejected` (its transaction rolled back)."""
    try:
        yield
    except DATA_ERRORS as exc:
        raise RowsRejected(describe_db_error(exc, db)) from exc


def _ensure_schema(url: str, schema: str) -> None:
    db = open_database(url, None, must_exist=False)
    try:
        with translate_errors(db), db.engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {db.quote(schema)}"))
    finally:
        db.dispose()


def _add_missing_columns(db: Database, tables: dict[str, sa.Table]) -> None:
    """A target made by an older version gets the entity fields added since."""
    with db.engine.begin() as conn:
        insp = sa.inspect(conn)
        for t in tables.values():
            have = {c["name"].lower() for c in insp.get_columns(t.name)}
            for col in t.columns:
                if col.name not in have:
                    ddl = col.type.compile(dialect=conn.dialect)
                    conn.execute(sa.text(
                        f"ALTER TABLE {db.quote(t.name)} ADD COLUMN {db.quote(col.name)} {ddl}"))


def _target_id(db: Database) -> str:
    table = sa.table(TARGET_ID_TABLE, sa.column("target_id"), sa.column("generation"))
    with db.engine.begin() as conn:
        found = conn.execute(sa.select(table.c.target_id).limit(1)).scalar()
        if found:
            return str(found)
        new = str(uuid.uuid4())
        conn.execute(table.insert().values(target_id=new, generation=0))
        return new
