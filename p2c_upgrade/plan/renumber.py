"""The new numbers of `duplicates --renumber`: announced by `--dry-run`, reported after the run.

`planned_renumbering` is the dry run: it runs the renumbering job's own statements (numbers.sql
`duplicates`, `reserved` and `assign`, put together by `plan.source.number_sql` exactly as
`plan` does for the numbering steps) read-only over the whole queue, so the numbers it shows
are the ones the real `--renumber` hands out, batch after batch. It refuses as the real run
does when `prepare` has not run (exit 3). `renumbered_in_run` reads what a real run journaled.

Rows are `Renumbered(id, old, new)`: the account's id (text), its number before and after, in
the order the numbers are handed out (the oldest record first).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.plan.source import number_params, number_sql, read_only_session, read_snapshot, statement
from p2c_upgrade.upgrade import ledger, prepared
from p2c_upgrade.upgrade.numbers import ACCOUNT_RENUMBER, read_sequence

STEP = "duplicates-renumber"


class Renumbered(NamedTuple):
    id: str
    old: str | None
    new: str | None


def planned_renumbering(db: Database, salt: str) -> list[Renumbered]:
    """What `duplicates --renumber` with this salt would write now; `db` opened read-only.
    BlockedError (exit 3) when the real run would refuse for want of `prepare`."""
    with read_only_session(db) as conn:
        snap = read_snapshot(conn, db, salt)  # checks the Sales schema first
        prepared.require_prepared(conn, [STEP], True, "duplicates --renumber")
        read_sequence(conn, db, ACCOUNT_RENUMBER.entity, lock=False)  # run's own refusal
        sql = statement(db, "number_changes", planned=number_sql(db, snap, ACCOUNT_RENUMBER).planned)
        rows = conn.execute(sa.text(sql), number_params(snap, ACCOUNT_RENUMBER.entity))
        return [Renumbered(str(r[0]), r[1], r[2]) for r in rows]


def renumbered_in_run(conn: Connection, run_id: int) -> Iterator[Renumbered]:
    """The accounts run `run_id` renumbered, as it journaled them, in the order it did."""
    j = ledger.journal
    query = (sa.select(j.c.record_id, j.c.old_value, j.c.new_value)
             .where(j.c.run_id == run_id, j.c.step == STEP, j.c.tbl == ACCOUNT_RENUMBER.table,
                    j.c.col == ACCOUNT_RENUMBER.col)
             .order_by(j.c.journal_id))
    for rid, old, new in conn.execute(query):
        yield Renumbered(str(rid), old, new)
