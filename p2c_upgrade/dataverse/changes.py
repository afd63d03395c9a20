"""What push writes: the journal's changes merged per record, against the values pulled.

Every (table, record, column) that `run`, `duplicates --renumber` or `undo` journaled is a
candidate; its value to write is the working table's current value (so several journaled steps
and an undo collapse into the final value), and it is written only when that differs from the
org's value at the pull. Schema entries of `prepare` (`(column)`, `(table)`, ...) are not data.
Shapes: `RecordChange(tbl, record_id, org_id, etag, cols={col: (pulled, ours)})`.

Memory is flat: `pending_changes` yields lists of at most `chunk_size` changes, table by table in
record id order, reading the journal's distinct keys by keyset pagination (`record_id > :after
ORDER BY record_id LIMIT :n`, served by the index `ensure_index` makes on (tbl, record_id); the
ledger's own tables stay as the ledger defines them). Given an Engine, each chunk is read in its
own short connection, so no read transaction stays open while push commits (SQLite writers).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..upgrade.ledger import journal
from . import local, state
from .tables import SEQUENCE_TABLE, TableSpec, table_specs

#: records per chunk: what one read holds in memory (~1.6 kB each)
CHUNK = 2000
#: bound parameters per IN list (SQLite builds before 3.32 allow 999)
IN_LIMIT = 500
JOURNAL_KEY_INDEX = "p2c_journal_tbl_record"


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


def ensure_index(conn: Connection) -> None:
    """The index on p2c_journal (tbl, record_id) the keyset reads use; made by push (a write
    command), never by `plan` (read-only: without it the reads scan the journal per chunk)."""
    if not sa.inspect(conn).has_table(journal.name):
        return
    mirror = sa.Table(journal.name, sa.MetaData(), sa.Column("tbl", sa.String(64)),
                      sa.Column("record_id", sa.String(64)))
    sa.Index(JOURNAL_KEY_INDEX, mirror.c.tbl, mirror.c.record_id).create(conn, checkfirst=True)


def pending_changes(source: Connection | Engine, solution_installed: bool = True, *,
                    chunk_size: int = CHUNK, tables: Collection[str] | None = None,
                    skip: Collection[str] = ()) -> Iterator[list[RecordChange]]:
    """Changes not in the org yet, in chunks of at most `chunk_size` records, ordered by table
    then record id; `tables` limits, `skip` leaves out tables. Nothing without a pull."""
    with _connection(source) as conn:
        if not state.exists(conn) or not sa.inspect(conn).has_table(journal.name):
            return
    specs = {s.name: s for s in table_specs(solution_installed) if s.pushable
             and (tables is None or s.name in tables) and s.name not in skip}
    for tbl in sorted(specs):
        after: str | None = None
        while True:
            with _connection(source) as conn:
                ids = _next_ids(conn, specs[tbl], after, chunk_size)
                if not ids:
                    break
                chunk = _changes(conn, specs[tbl], after, ids[-1])
            after = ids[-1]
            if chunk:
                yield chunk
            if len(ids) < chunk_size:
                break


class _Borrowed:
    """A context manager over a caller's connection that leaves it open."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def __enter__(self) -> Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        return None


def _connection(source: Connection | Engine) -> _Borrowed | Connection:
    return source.connect() if isinstance(source, Engine) else _Borrowed(source)


def _keys(spec: TableSpec, after: str | None) -> list[sa.ColumnElement[bool]]:
    where = [journal.c.tbl == spec.name, journal.c.col.in_(list(spec.pushable))]
    if after is not None:
        where.append(journal.c.record_id > after)
    return where


def _next_ids(conn: Connection, spec: TableSpec, after: str | None, n: int) -> list[str]:
    """The next `n` distinct journaled record ids of `spec`'s table after `after` (keyset)."""
    return list(conn.execute(sa.select(journal.c.record_id).distinct().where(*_keys(spec, after))
                             .order_by(journal.c.record_id).limit(n)).scalars())


def _changes(conn: Connection, spec: TableSpec, after: str | None, last: str) -> list[RecordChange]:
    """The changes of the journaled records in (`after`, `last`], by record id."""
    tbl = spec.name
    wanted: dict[str, set[str]] = {}
    for rid, col in conn.execute(sa.select(journal.c.record_id, journal.c.col).distinct().where(
            *_keys(spec, after), journal.c.record_id <= last)):
        wanted.setdefault(rid.lower() if tbl != SEQUENCE_TABLE else rid, set()).add(col)
    ids = sorted(wanted)
    mine = local.fetch(conn, spec, ids, list(spec.pushable))
    pulled: dict[str, sa.Row] = {}
    for i in range(0, len(ids), IN_LIMIT):
        pulled.update((r.record_id, r) for r in conn.execute(sa.select(state.records).where(
            state.records.c.tbl == tbl, state.records.c.record_id.in_(ids[i:i + IN_LIMIT]))))
    out: list[RecordChange] = []
    for rid in ids:
        if rid not in mine or rid not in pulled:
            continue                          # deleted in the org, or never pulled
        rec = pulled[rid]
        before = state.pulled_values(rec.pulled)
        change = RecordChange(tbl, rid, rec.org_id or rid, rec.etag)
        for col in sorted(wanted[rid]):
            ours = local.canon_local(spec, col, mine[rid][col])
            if ours != before.get(col):
                change.cols[col] = (before.get(col), ours)
        if change.cols:
            out.append(change)
    return out
