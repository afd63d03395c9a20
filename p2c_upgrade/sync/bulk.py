"""Many rows into a table in one statement per batch, with an optional upsert.

PostgreSQL gets `INSERT ... SELECT unnest(:col1), unnest(:col2), ...`: one round trip and one
set-based statement per batch, values bound as arrays (never formatted into SQL). SQLite's
executemany is already a tight loop in C.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

_SQLITE_IN_SIZE = 500


def insert_rows(conn: Connection, table: sa.Table, rows: list[dict[str, Any]], *,
                conflict: Sequence[str] = (), update: Sequence[str] = ()) -> None:
    """Insert `rows` (dicts with the same keys); with `conflict`, update `update` on a clash."""
    if not rows:
        return
    cols = list(rows[0])
    if conn.dialect.name == "postgresql":
        arrays = [sa.func.unnest(sa.bindparam(f"a_{c}", type_=postgresql.ARRAY(table.c[c].type)))
                  .label(c) for c in cols]
        stmt: Any = postgresql.insert(table).from_select(cols, sa.select(*arrays))
        params: Any = {f"a_{c}": [r[c] for r in rows] for c in cols}
    else:
        stmt = sqlite.insert(table)
        params = rows
    if conflict:
        stmt = stmt.on_conflict_do_update(index_elements=list(conflict),
                                          set_={c: stmt.excluded[c] for c in update})
    conn.execute(stmt, params)


def in_list(conn: Connection, column: sa.ColumnElement[Any], values: Sequence[Any]
            ) -> Iterator[sa.ColumnElement[bool]]:
    """`column IN values` in as few conditions as the dialect allows: one `= ANY(:array)` on
    PostgreSQL (one bound parameter, one plan), IN lists of exactly 500 on SQLite."""
    if not values:
        return
    if conn.dialect.name == "postgresql":
        yield column == sa.any_(sa.bindparam(None, list(values),
                                             type_=postgresql.ARRAY(column.type)))
        return
    for i in range(0, len(values), _SQLITE_IN_SIZE):
        chunk = list(values[i:i + _SQLITE_IN_SIZE])
        # Always the same number of parameters: SQLite keeps one prepared statement, not
        # one per list length (its statement cache would hold hundreds of large ones).
        chunk += [chunk[-1]] * (_SQLITE_IN_SIZE - len(chunk))
        yield column.in_(chunk)
