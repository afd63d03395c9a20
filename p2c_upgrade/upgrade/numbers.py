"""Handing out P2C numbers from `msdynce_p2cautonumber`, set-based and in batches.

An execution builds a temporary queue of the records to number, in the order they get numbers
(oldest first), then numbers them `batch_size` at a time. Each batch locks the sequence row,
computes its numbers into a temporary batch table in one statement, journals and applies them
and advances the sequence to one past the highest number handed out, all in one transaction.
A killed run loses its temp tables, and the next run rebuilds the queue from what is still
unnumbered and continues from the committed sequence value: the same numbers as a run that
never stopped, none twice. The `plan` command runs the same named SELECTs read-only, with the
queue and the reserved numbers as CTEs (p2c_upgrade/plan/).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db import sqlfiles
from p2c_upgrade.db.connection import Database
from p2c_upgrade.errors import BlockedError, P2CError
from p2c_upgrade.rules.keys import dataverse_key
from p2c_upgrade.rules.number_format import ALPHABET, MAX_NUMBER_LENGTH, MAX_SUFFIX_LENGTH
from p2c_upgrade.upgrade.steps.base import BatchResult, StepContext, common_params


@dataclass(frozen=True)
class NumberJob:
    """Which column gets numbers from which sequence, and which records are queued."""

    entity: str  # msdynce_entityname of the sequence
    table: str
    pk: str
    col: str
    selection: str = "pending"  # or "duplicates" (the non-oldest members of colliding groups)

    def identifiers(self, db: Database) -> dict[str, str]:
        """The quoted identifiers, and blank and key equality over `t.<col>` (keys.sql)."""
        col = db.quote(self.col)
        return {"table": db.quote(self.table), "pk": db.quote(self.pk), "col": col,
                **sqlfiles.key_sql(db.dialect, f"t.{col}")}


ACCOUNT_NUMBERS = NumberJob("account", "account", "accountid", "accountnumber")
CONTACT_NUMBERS = NumberJob("contact", "contact", "contactid", "msdynce_contactnumber")
ACCOUNT_RENUMBER = NumberJob("account", "account", "accountid", "accountnumber", "duplicates")


@dataclass(frozen=True)
class Sequence:
    prefix: str
    next_value: int
    suffix_length: int


def seq_pattern(prefix: str) -> str:
    """PostgreSQL regex for the digits of a value that looks generated from `prefix` (matched
    against the value's `dataverse_key`)."""
    return "^" + re.escape(dataverse_key(prefix) or "") + "-([0-9]{1,18})-"


def read_sequence(conn: Connection, db: Database, entity: str, *, lock: bool) -> Sequence:
    """The sequence row of `entity`; BlockedError (the data blocks numbering) when it is
    missing or unusable."""
    sql = sqlfiles.statement(db.dialect, "numbers", "lock_sequence")
    if not lock:
        sql = sql.replace("FOR UPDATE", "")
    row = conn.execute(sa.text(sql), {"entity": entity}).first()
    if row is None:
        raise BlockedError(
            f"msdynce_p2cautonumber has no row for {entity!r}: run the prepare step")
    prefix, next_value, suffix_length = row
    if next_value is None or int(next_value) < 0:
        raise BlockedError(
            f"msdynce_p2cautonumber: the {entity} sequence has no valid next value")
    if suffix_length is None or not 0 <= int(suffix_length) <= MAX_SUFFIX_LENGTH:
        raise BlockedError(
            f"msdynce_p2cautonumber: the {entity} suffix length must be 0..{MAX_SUFFIX_LENGTH}"
        )
    return Sequence(prefix or "", int(next_value), int(suffix_length))


def assign_params(seq: Sequence, salt: str, lo: int, hi: int) -> dict[str, object]:
    return {
        **common_params(), "start": seq.next_value, "prefix": seq.prefix, "salt": salt,
        "suffix_length": seq.suffix_length, "alphabet": ALPHABET, "lo": lo, "hi": hi,
        "seq_pattern": seq_pattern(seq.prefix),
    }


class NumberExecution:
    """One execution of a numbering job on the step's connection."""

    def __init__(self, job: NumberJob) -> None:
        self.job = job
        self.size = 0

    def _sql(self, ctx: StepContext, name: str, **extra: str) -> str:
        return sqlfiles.statement(ctx.dialect, "numbers", name,
                                  **self.job.identifiers(ctx.db), **extra)

    def _exec(self, ctx: StepContext, name: str, params: Mapping[str, object] | None = None,
              **extra: str) -> sa.CursorResult:
        return ctx.conn.execute(sa.text(self._sql(ctx, name, **extra)), params or {})

    def begin(self, ctx: StepContext) -> int:
        """Build the queue and the reserved numbers (one transaction)."""
        self.drop(ctx)
        seq = read_sequence(ctx.conn, ctx.db, self.job.entity, lock=False)
        params = {**common_params(), "prefix": seq.prefix, "seq_pattern": seq_pattern(seq.prefix)}
        select = self._sql(ctx, self.job.selection)
        reserved = self._sql(ctx, "reserved")
        if ctx.db.is_postgres:
            self._exec(ctx, "make_queue", params, select=select)
            self._exec(ctx, "index_queue")
            self._exec(ctx, "analyze_queue")
        else:
            self._exec(ctx, "make_queue")
            self._exec(ctx, "fill_queue", params, select=select)
        self._exec(ctx, "make_reserved", params, select=reserved)
        self.size = int(self._exec(ctx, "queue_size").scalar() or 0)
        return self.size

    def apply_batch(self, ctx: StepContext, cursor: str | None) -> BatchResult:
        lo = int(cursor or 0)
        hi = lo + ctx.batch_size
        if lo >= self.size:
            return BatchResult(0, str(lo), True)
        seq = read_sequence(ctx.conn, ctx.db, self.job.entity, lock=True)
        self._exec(ctx, "drop_batch")
        assign = self._sql(ctx, "assign")
        self._exec(ctx, "make_batch", assign_params(seq, ctx.salt, lo, hi), select=assign)
        count, highest, longest = self._exec(ctx, "batch_stats").one()
        count = int(count or 0)
        if count:
            if int(longest) > MAX_NUMBER_LENGTH:
                raise BlockedError(
                    f"the {self.job.entity} sequence would hand out numbers longer than "
                    f"{MAX_NUMBER_LENGTH} characters (next value {seq.next_value}); "
                    "shorten the prefix or suffix in msdynce_p2cautonumber"
                )
            if ctx.journal:
                self._exec(ctx, "journal_batch", {
                    "run_id": ctx.run_id, "step": ctx.step, "tbl": self.job.table,
                    "colname": self.job.col,
                })
            applied = self._exec(ctx, "apply_batch").rowcount
            if applied != count:
                raise P2CError(
                    f"{self.job.table}: {count - applied} records changed under the run; "
                    "nothing of this batch was written, run again"
                )
            moved = self._exec(ctx, "advance_sequence", {
                "next": int(highest) + 1, "entity": self.job.entity, "start": seq.next_value,
            }).rowcount
            if moved != 1:
                raise P2CError(f"the {self.job.entity} sequence changed under the run; run again")
            if ctx.journal:  # after the batch's numbers: undo rewinds it once they are freed
                self._exec(ctx, "journal_sequence", {
                    "run_id": ctx.run_id, "step": ctx.step, "entity": self.job.entity,
                    "old": str(seq.next_value), "new": str(int(highest) + 1),
                })
        self._exec(ctx, "drop_batch")
        return BatchResult(count, str(min(hi, self.size)), hi >= self.size)

    def drop(self, ctx: StepContext) -> None:
        if ctx.db.is_postgres:
            self._exec(ctx, "drop_work")
        else:
            for name in ("drop_batch", "drop_queue", "drop_reserved"):
                self._exec(ctx, name)
