"""The shared shape of the two numbering steps (see `p2c_upgrade.upgrade.numbers`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.upgrade.numbers import NumberExecution, NumberJob
from p2c_upgrade.upgrade.steps.base import BatchResult, StepContext, common_params


class NumberingStep:
    needs_p2c_columns = True
    resumes_from_cursor = False
    own_transactions = False

    def __init__(self, name: str, summary: str, job: NumberJob) -> None:
        self.name = name
        self.summary = summary
        self.job = job
        self._execution: NumberExecution | None = None

    def begin(self, ctx: StepContext, cursor: str | None) -> int | None:
        # The queue holds only what is still unnumbered, so an interrupted execution's cursor
        # does not carry over: the rebuilt queue starts at what is left.
        self._execution = NumberExecution(self.job)
        return self._execution.begin(ctx)

    def apply_batch(self, ctx: StepContext, cursor: str | None) -> BatchResult:
        assert self._execution is not None, "begin() first"
        return self._execution.apply_batch(ctx, cursor)

    def end(self, ctx: StepContext) -> None:
        if self._execution is not None:
            self._execution.drop(ctx)
            self._execution = None

    def verify(self, conn: Connection, db: Database) -> list[str]:
        ids = self.job.identifiers(db)
        missing = conn.execute(
            sa.text(f"SELECT count(*) FROM {ids['table']} t WHERE {ids['is_blank']}"),
            common_params(),
        ).scalar()
        problems = []
        if missing:
            problems.append(f"{missing} {self.job.table} records have no {self.job.col}")
        return problems
