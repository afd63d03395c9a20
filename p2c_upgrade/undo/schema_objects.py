"""Undo of the schema objects `prepare` creates: columns, the sequence table and rows, indexes.

They go last, each only when nothing but its default is left in it (a column still holding
values someone set is kept, and the note says how many); undoing an undo puts them back first,
with prepare's own statements. Journal entries name them with col `(column)`, `(table)`, `(row)`
or `(index)` and the object's name in record_id; names are looked up in fixed lists, never
taken from the journal into SQL.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db import sqlfiles
from p2c_upgrade.db.connection import Database
from p2c_upgrade.db.schema import AUTONUMBER_TABLE
from p2c_upgrade.errors import MAX_INTEGER
from p2c_upgrade.undo.report import COLUMNS, INDEXES, Entry, UndoResult, undo_first

MALFORMED_ROW = ("a malformed journal entry (not prefix|next number|suffix length as prepare "
                 "journals a sequence row): left alone")


def sequence_row(text: str | None) -> tuple[str, int, int] | None:
    """A sequence row as `prepare` journals it, `prefix|next number|suffix length`; None when
    the text is not one (a forged or damaged entry) or its numbers do not fit an INTEGER."""
    parts = (text or "").rsplit("|", 2)
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[1:]):
        return None
    start, suffix = int(parts[1]), int(parts[2])
    return (parts[0], start, suffix) if start <= MAX_INTEGER and suffix <= MAX_INTEGER else None


class SchemaObjects:
    """Mixed into the undo worker, which provides the connection, SQL and journal helpers."""

    conn: Connection
    db: Database
    dialect: str
    result: UndoResult
    sim_gone: set[tuple[str, str, str]]
    sim_seq: dict[str, int | None]
    to_default: Counter[tuple[str, str]]

    @property
    def dry(self) -> bool:
        raise NotImplementedError

    def q(self, name: str) -> str:
        raise NotImplementedError

    def sql(self, name: str, **identifiers: str) -> str:
        raise NotImplementedError

    def run(self, name: str, params: dict[str, Any], **identifiers: str) -> sa.CursorResult[Any]:
        raise NotImplementedError

    def schema(self) -> dict[str, set[str]]:
        raise NotImplementedError

    def journal(self, tbl: str, record_id: str, col: str, old: str | None, new: str | None) -> None:
        raise NotImplementedError

    def remove(self, e: Entry) -> None:
        """Take away an object prepare created, when nothing but its default is left in it."""
        with self.conn.begin():
            found = self.schema()
            kind, name, gone, reason = self.object_state(e, found)
            if gone:
                return self.outcome(kind, name, "already gone", "")
            if reason:
                return self.outcome(kind, name, "kept", reason)
            if not self.dry:
                self.drop(kind, e)
                self.journal(e.tbl, e.record_id, e.col, e.new, None)
            self.sim_gone.add((e.tbl, e.record_id, e.col))
            self.outcome(kind, name, "would be removed" if self.dry else "removed", "")

    def object_state(self, e: Entry, found: dict[str, set[str]]) -> tuple[str, str, bool, str]:
        if (e.tbl, e.record_id, e.col) in self.sim_gone:
            return "", f"{e.tbl}.{e.col}", True, ""
        if e.col == "(column)":
            col = COLUMNS.get((e.tbl, e.record_id))
            name = f"column {e.tbl}.{e.record_id}"
            if col is None or e.record_id not in found.get(e.tbl, set()):
                return "column", name, col is not None, "" if col else "not a column undo knows"
            ids = {"table": self.q(e.tbl), "non_default": self.sql(f"non_default_{col.kind}", col=self.q(col.name))}
            left = int(self.run("non_default_count", {}, **ids).scalar() or 0)
            if self.dry:
                left -= self.to_default[(e.tbl, col.name)]
            if left <= 0:
                return "column", name, False, ""
            holders = list(self.run("holding_steps", {"tbl": e.tbl, "col": col.name, "step": e.step},
                                    **self.fragments(col)))
            if holders:
                first = holders[0]
                return "column", name, False, (f"{left:,} records hold a value in it, "
                                               f"{int(first.n):,} of them set by {first.step}"
                                               + undo_first(first.step, int(first.run_id), e.step))
            return "column", name, False, (f"{left:,} records hold a value in it (set outside the undone "
                                           "run, or conflicts left alone)")
        if e.col == "(index)":
            if e.record_id not in INDEXES:
                return "index", f"index {e.record_id}", False, "not an index undo knows"
            exists = INDEXES[e.record_id] in found and self.index_exists(e.record_id)
            return "index", f"index {e.record_id}", not exists, ""
        if e.col == "(table)":
            if AUTONUMBER_TABLE not in found:
                return "table", f"table {AUTONUMBER_TABLE}", True, ""
            rows = int(self.run("autonumber_count", {}).scalar() or 0)
            if self.dry:
                rows -= sum(1 for g in self.sim_gone if g[0] == AUTONUMBER_TABLE and g[2] == "(row)")
            return "table", f"table {AUTONUMBER_TABLE}", False, (f"it still holds {rows} rows" if rows else "")
        name = f"{AUTONUMBER_TABLE} row {e.record_id!r}"
        if sequence_row(e.new) is None:
            return "row", name, False, MALFORMED_ROW
        row = self.conn.execute(sa.text(self.sql("autonumber_row")), {"entity": e.record_id}).first() \
            if AUTONUMBER_TABLE in found else None
        if row is None:
            return "row", name, True, ""
        seq = self.sim_seq.get(e.record_id, row[1])
        if f"{row[0]}|{seq}|{row[2]}" != e.new:
            return "row", name, False, (f"it is {row[0]}|{seq}|{row[2]}, not {e.new} as prepare made it "
                                        "(the sequence did not go back to its first number)"
                                        + self.mover_first(e, seq))
        return "row", name, False, ""

    def mover_first(self, e: Entry, current: object) -> str:
        """`undo_first` for the later journaled move that left sequence `e.record_id` at
        `current`; "" when none did (someone else moved it)."""
        mover = self.run("last_mover", {"entity": e.record_id, "after": e.journal_id,
                                        "current": str(current)}).first()
        return undo_first(mover.step, int(mover.run_id), e.step) if mover else ""

    def fragments(self, col: Any) -> dict[str, str]:
        raise NotImplementedError

    def drop(self, kind: str, e: Entry) -> None:
        if kind == "column":
            self.run("drop_column", {}, table=self.q(e.tbl), col=self.q(e.record_id))
        elif kind == "index":
            self.run("drop_index", {}, index=self.q(e.record_id))
        elif kind == "table":
            self.run("drop_autonumber", {})
        else:
            values = sequence_row(e.new)
            if values is not None:  # object_state matched it against the row: it parses
                prefix, start, suffix = values
                self.run("delete_autonumber_row", {"entity": e.record_id, "prefix": prefix,
                                                   "start": start, "suffix_length": suffix})

    def recreate(self, run_id: int, e: Entry) -> None:
        """Undoing an undo: put back an object it had taken away (prepare's own statements)."""
        with self.conn.begin():
            found = self.schema()
            dialect = self.dialect
            if e.col == "(column)" and (e.tbl, e.record_id) in COLUMNS:
                kind, name = "column", f"column {e.tbl}.{e.record_id}"
                exists = e.record_id in found.get(e.tbl, set())
                stmt = sqlfiles.statement(dialect, "prepare", f"add_{e.record_id}")
                params: dict[str, Any] = {}
            elif e.col == "(table)":
                kind, name, exists = "table", f"table {AUTONUMBER_TABLE}", AUTONUMBER_TABLE in found
                stmt, params = sqlfiles.statement(dialect, "prepare", "create_autonumber"), {}
            elif e.col == "(index)" and e.record_id in INDEXES:
                table = INDEXES[e.record_id]
                kind, name = "index", f"index {e.record_id}"
                exists = self.index_exists(e.record_id)
                stmt = sqlfiles.statement(dialect, "prepare", "index_customerid",
                                          index=self.q(e.record_id), table=self.q(table))
                params = {}
            elif e.col == "(row)" and e.old:
                kind, name = "row", f"{AUTONUMBER_TABLE} row {e.record_id!r}"
                values = sequence_row(e.old)
                if values is None:
                    return self.outcome(kind, name, "kept", MALFORMED_ROW)
                prefix, start, suffix = values
                exists = AUTONUMBER_TABLE in found and self.conn.execute(
                    sa.text(self.sql("autonumber_row")), {"entity": e.record_id}).first() is not None
                stmt = sqlfiles.statement(dialect, "prepare", "insert_autonumber")
                params = {"entity": e.record_id, "prefix": prefix, "start": start,
                          "suffix_length": suffix}
            else:
                return
            if exists:
                return self.outcome(kind, name, "already there", "")
            if not self.dry:
                self.conn.execute(sa.text(stmt), params)
                self.journal(e.tbl, e.record_id, e.col, None, e.old)
            self.outcome(kind, name, "would be re-created" if self.dry else "re-created", "")

    def index_exists(self, name: str) -> bool:
        table = INDEXES[name]
        return any(i["name"] == name for i in sa.inspect(self.conn).get_indexes(table))

    def outcome(self, kind: str, name: str, outcome: str, reason: str) -> None:
        if kind:
            self.result.objects.append({"object": name, "outcome": outcome, "reason": reason})
