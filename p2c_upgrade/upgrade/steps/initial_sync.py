"""`initial-sync`: the initial full sync to the configured target, once the gate is clear.

Without a target it records `skipped` and says how to trigger the sync; with one it runs the
same engine as `p2c-upgrade sync` (per-record state, so a rerun retries what did not sync).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.errors import BlockedError
from p2c_upgrade.upgrade.duplicates import count_collision_groups
from p2c_upgrade.upgrade.steps.base import BatchResult, StepContext

NO_TARGET = ("no sync target configured: trigger the initial sync with "
             "`p2c-upgrade sync --target URL` or `--target package:DIR`, "
             "or give `run` a --target")


class InitialSyncStep:
    name = "initial-sync"
    summary = "the initial full sync to the configured target, tasks in dependency order"
    needs_p2c_columns = True
    resumes_from_cursor = False
    #: the sync commits its own batches on its own connections
    own_transactions = True

    def begin(self, ctx: StepContext, cursor: str | None) -> int | None:
        return None

    def apply_batch(self, ctx: StepContext, cursor: str | None) -> BatchResult:
        target = ctx.target
        if not target:
            return BatchResult(0, None, True, detail="skipped: " + NO_TARGET, skipped=True)
        from p2c_upgrade.upgrade.finished import check_upgrade_finished  # late: loaded when a sync runs

        with ctx.conn.begin():  # short: on SQLite an open transaction holds the write lock
            check_upgrade_finished(ctx.conn, ctx.db)
            groups = count_collision_groups(ctx.conn)
        if groups:
            raise BlockedError(
                f"initial-sync is blocked: {groups} groups of colliding account numbers; "
                "list them with `p2c-upgrade duplicates`, resolve with "
                "`p2c-upgrade duplicates --renumber`, then run again"
            )
        from p2c_upgrade.config import Config
        from p2c_upgrade.sync import run_sync  # the sync engine is only loaded when a sync runs

        summary = run_sync(
            ctx.db, target, ctx.config or Config(), run_id=ctx.run_id, progress=ctx.progress,
            show_personal_data=ctx.show_personal_data,
        )
        written = sum(t.get("inserted", 0) + t.get("updated", 0)
                      for t in summary.to_dict().get("tasks", []))
        detail = f"{written} records written to {summary.to_dict().get('target', target)}"
        if summary.exit_code:
            return BatchResult(written, None, True, blocked=(
                f"{summary.failed_total} records failed to synchronize: see "
                "`p2c-upgrade sync` output and runbooks/initial-sync-and-sync-errors.md"),
                detail=detail, sync_summary=summary)
        return BatchResult(written, None, True, detail=detail, sync_summary=summary)

    def end(self, ctx: StepContext) -> None:
        return None

    def verify(self, conn: Connection, db: Database) -> list[str]:
        return []
