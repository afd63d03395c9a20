"""Batches by primary key range, with the cursor kept as text so the ledger can store it.

The bound is compared in the key's own type (`CAST(:lo AS uuid)` on PostgreSQL), so the
primary-key index serves every batch and a resumed run starts where the last commit left off.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.db.schema import pk_type_sql


@dataclass(frozen=True)
class KeyRange:
    lo: str | None  # exclusive
    hi: str | None  # inclusive; None: to the end

    def condition(self, db: Database, column: str, pk_type: str) -> str:
        """SQL for `lo < column <= hi` (values stay bind parameters :lo and :hi)."""
        parts = []
        if self.lo is not None:
            parts.append(f"{column} > {_param(db, 'lo', pk_type)}")
        if self.hi is not None:
            parts.append(f"{column} <= {_param(db, 'hi', pk_type)}")
        return " AND ".join(parts) or "1 = 1"

    def params(self) -> dict[str, str]:
        out = {}
        if self.lo is not None:
            out["lo"] = self.lo
        if self.hi is not None:
            out["hi"] = self.hi
        return out


def _param(db: Database, name: str, pk_type: str) -> str:
    return db.dialect_impl.cast_param(name, pk_type)


class KeyRanges:
    """Walks a table's primary key in ranges of `size` keys."""

    def __init__(self, db: Database, conn: Connection, table: str, pk: str) -> None:
        self.db = db
        self.table = db.quote(table)
        self.pk = db.quote(pk)
        self.pk_type = pk_type_sql(conn, table, pk)

    def next(self, conn: Connection, lo: str | None, size: int) -> KeyRange:
        after = KeyRange(lo, None).condition(self.db, self.pk, self.pk_type)
        hi = conn.execute(
            sa.text(
                f"SELECT CAST({self.pk} AS {self.db.dialect_impl.text_type}) "
                f"FROM {self.table} WHERE {after} ORDER BY {self.pk} LIMIT 1 OFFSET :skip"
            ),
            {**KeyRange(lo, None).params(), "skip": max(size - 1, 0)},
        ).scalar()
        return KeyRange(lo, hi)

    def condition(self, rng: KeyRange, column: str) -> str:
        return rng.condition(self.db, column, self.pk_type)
