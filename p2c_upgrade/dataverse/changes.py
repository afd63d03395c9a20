"""What push writes: the journal's changes merged per record, against the values pulled.

Every (table, record, column) that `run`, `duplicates --renumber` or `undo` journaled is a
candidate; its value to write is the working table's current value (so several journaled steps
and an undo collapse into the final value), and it is written only when that differs from the
org's value at the pull. Schema entries of `prepare` (`(column)`, `(table)`, ...) are not data.
Shapes: `RecordChange(tbl, record_id, org_id, etag, cols={col: (pulled, ours)})`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..upgrade.ledger import journal
from . import local, state
from .tables import SEQUENCE_TABLE, TableSpec, table_specs


@dataclass
class RecordChange:
    tbl: str
    record_id: str
    org_id: str
    etag: str | None
    cols: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def spec(self) -> TableSpec:
        return next(s for s in table_specs(True) if s.name == self.tbl)


def pending_changes(conn: Connection, solution_installed: bool = True) -> list[RecordChange]:
    """Changes not in the org yet, ordered by table then record id. Empty without a pull."""
    if not state.exists(conn) or not sa.inspect(conn).has_table(journal.name):
        return []
    specs = {s.name: s for s in table_specs(solution_installed) if s.pushable}
    keys = conn.execute(sa.select(journal.c.tbl, journal.c.record_id, journal.c.col).distinct().where(
        journal.c.tbl.in_(list(specs)), ~journal.c.col.like("(%"))).all()
    wanted: dict[str, dict[str, set[str]]] = {}
    for tbl, rid, col in keys:
        if col in specs[tbl].pushable:
            wanted.setdefault(tbl, {}).setdefault(rid.lower() if tbl != SEQUENCE_TABLE else rid, set()).add(col)
    out: list[RecordChange] = []
    for tbl in sorted(wanted):
        spec = specs[tbl]
        ids = sorted(wanted[tbl])
        for i in range(0, len(ids), 2000):
            chunk = ids[i:i + 2000]
            mine = local.fetch(conn, spec, chunk, list(spec.pushable))
            pulled = {r.record_id: r for r in conn.execute(sa.select(state.records).where(
                state.records.c.tbl == tbl, state.records.c.record_id.in_(chunk)))}
            for rid in chunk:
                if rid not in mine or rid not in pulled:
                    continue                          # deleted in the org, or never pulled
                rec = pulled[rid]
                before = state.pulled_values(rec.pulled)
                change = RecordChange(tbl, rid, rec.org_id or rid, rec.etag)
                for col in sorted(wanted[tbl][rid]):
                    ours = local.canon_local(spec, col, mine[rid][col])
                    if ours != before.get(col):
                        change.cols[col] = (before.get(col), ours)
                if change.cols:
                    out.append(change)
    return out
