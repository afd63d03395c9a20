"""The shared shape of the two contact-flag steps: guarded UPDATEs over primary-key ranges."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db import sqlfiles
from p2c_upgrade.db.connection import Database
from p2c_upgrade.errors import P2CError
from p2c_upgrade.upgrade.keyrange import KeyRanges
from p2c_upgrade.upgrade.steps.base import BatchResult, StepContext


class FlagStep:
    needs_p2c_columns = True
    resumes_from_cursor = True
    own_transactions = False

    def __init__(self, name: str, summary: str, sql_name: str) -> None:
        self.name = name
        self.summary = summary
        self.sql_name = sql_name
        self._ranges: KeyRanges | None = None

    def begin(self, ctx: StepContext, cursor: str | None) -> int | None:
        self._ranges = KeyRanges(ctx.db, ctx.conn, "contact", "contactid")
        return int(ctx.conn.execute(sa.text("SELECT count(*) FROM contact")).scalar() or 0)

    def apply_batch(self, ctx: StepContext, cursor: str | None) -> BatchResult:
        assert self._ranges is not None, "begin() first"
        rng = self._ranges.next(ctx.conn, cursor, ctx.batch_size)
        range_sql = self._ranges.condition(rng, "c.contactid")
        params: dict[str, object] = {**rng.params(), "run_id": ctx.run_id, "step": ctx.step}
        dialect = ctx.db.dialect_impl
        if ctx.journal and not dialect.writable_cte:  # journal, then change: two statements
            def run(name: str) -> int:
                sql = sqlfiles.statement(dialect.name, "flags", name, range=range_sql)
                return ctx.conn.execute(sa.text(sql), params).rowcount

            run("drop_ids")
            run(f"{self.sql_name}_collect")
            journaled = run(f"{self.sql_name}_journal")
            apply = f"{self.sql_name}_apply"
            rows = run(apply if apply in sqlfiles.load(dialect.name, "flags") else self.sql_name)
            run("drop_ids")
            if rows != journaled:
                raise P2CError(f"{self.name}: contacts changed under the run; nothing of this batch "
                               "was written, run again")
        else:  # one statement (PostgreSQL journals in a data-modifying CTE)
            name = f"{self.sql_name}_journaled" if ctx.journal else self.sql_name
            sql = sqlfiles.statement(dialect.name, "flags", name, range=range_sql)
            rows = ctx.conn.execute(sa.text(sql), params).rowcount
        return BatchResult(max(rows, 0), rng.hi, rng.hi is None, scanned=ctx.batch_size)

    def end(self, ctx: StepContext) -> None:
        self._ranges = None

    def verify(self, conn: Connection, db: Database) -> list[str]:
        sql = sqlfiles.statement(db.dialect, "flags", f"verify_{self.sql_name}")
        wrong = int(conn.execute(sa.text(sql)).scalar() or 0)
        return [f"{wrong} contacts have the wrong {self.name} flag"] if wrong else []
