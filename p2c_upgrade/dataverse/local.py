"""The working database's Sales tables as pull and push see them (SQLAlchemy Core, no SQL text).

Tables missing in the working database are created from the project's Sales schema definition
(`schema.sales_metadata()`), the P2C columns and the sequence table when the org has the solution.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db.dialects import dialect_for
from ..db.schema import AUTONUMBER_TABLE, P2C_COLUMNS, existing_columns, sales_metadata
from .tables import P2C_BOOLEANS, TableSpec, canon

_P2C_TYPES: dict[str, sa.types.TypeEngine[Any]] = {"VARCHAR(20)": sa.String(20), "BOOLEAN": sa.Boolean()}


def autonumber_table(md: sa.MetaData) -> sa.Table:
    """The sequence table as the prepare step makes it (`sql/<dialect>/prepare.sql`)."""
    return sa.Table(
        AUTONUMBER_TABLE, md,
        sa.Column("msdynce_entityname", sa.String(64), primary_key=True),
        sa.Column("msdynce_prefix", sa.String(3), nullable=False),
        sa.Column("msdynce_numbersequence", sa.Integer, nullable=False),
        sa.Column("msdynce_suffixlength", sa.Integer, nullable=False),
    )


def ensure_tables(conn: Connection, solution_installed: bool) -> list[str]:
    """Create missing Sales tables (and with the solution the P2C columns and sequence table).
    Returns what was created, for the pull's summary."""
    md = sales_metadata()
    found = existing_columns(conn)
    made: list[str] = []
    for table in md.sorted_tables:
        if table.name not in found:
            table.create(conn)
            made.append(f"table {table.name}")
    if not solution_installed:
        return made
    found = existing_columns(conn)
    for col in P2C_COLUMNS:
        if col.column not in found.get(col.table, set()):
            column: sa.Column[Any] = sa.Column(col.column, _P2C_TYPES[col.ddl_type], nullable=col.default is None,
                               server_default=sa.false() if col.default == "false" else None)
            ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
            quoted = conn.dialect.identifier_preparer.quote(col.table)
            conn.exec_driver_sql(f"ALTER TABLE {quoted} ADD COLUMN {ddl}")
            made.append(f"column {col.table}.{col.column}")
    if AUTONUMBER_TABLE not in found:
        autonumber_table(sa.MetaData()).create(conn)
        made.append(f"table {AUTONUMBER_TABLE}")
    return made


def local_columns(spec: TableSpec) -> list[str]:
    cols = [c for c in spec.columns]
    for lookup, type_col in spec.lookups.items():
        cols += [lookup, type_col]
    return cols


def table(spec: TableSpec, conn: Connection) -> sa.Table:
    """The working table as it is (reflected: uuid or varchar keys, booleans), with `spec`'s columns."""
    schema = dialect_for(conn.dialect.name).current_schema(conn)
    return sa.Table(spec.name, sa.MetaData(), autoload_with=conn, schema=schema,
                    include_columns=local_columns(spec))


def canon_local(spec: TableSpec, col: str, value: Any) -> str | None:
    """A working-table value as journal text (SQLite gives booleans as 0/1)."""
    if value is not None and (col in spec.booleans or col in P2C_BOOLEANS):
        return "true" if value else "false"
    return canon(value)


def id_text(value: Any) -> str:
    return str(value).lower()


def fetch(conn: Connection, spec: TableSpec, ids: list[str], cols: list[str]) -> dict[str, dict[str, Any]]:
    """Rows by record id (text) for `ids`, with `cols`, in chunks of 500 bound parameters."""
    t = table(spec, conn)
    key = t.c[spec.record_key]
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        rows = conn.execute(sa.select(key, *[t.c[c] for c in cols]).where(key.in_(chunk))).all()
        for row in rows:
            out[id_text(row[0])] = dict(zip(cols, row[1:], strict=True))
    return out


def insert_rows(conn: Connection, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(table(spec, conn).insert(), rows)


def update_rows(conn: Connection, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
    """Each row: `_id` plus the columns to set; grouped by column set for executemany."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        cols = tuple(sorted(c for c in row if c != "_id"))
        if cols:
            groups.setdefault(cols, []).append(row)
    t = table(spec, conn)
    for cols, group in groups.items():
        stmt = t.update().where(t.c[spec.record_key] == sa.bindparam("_id")).values(
            {c: sa.bindparam(c) for c in cols})
        conn.execute(stmt, group)
