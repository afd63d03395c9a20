"""`duplicate-account-numbers`: a gate. Colliding account numbers block `initial-sync`.

It changes nothing: resolving a collision is a decision (`duplicates --renumber` keeps the
oldest record's number and renumbers the others), so the run only reports it.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.upgrade.duplicates import count_collision_groups
from p2c_upgrade.upgrade.steps.base import BatchResult, StepContext


class DuplicateGateStep:
    name = "duplicate-account-numbers"
    summary = "block initial-sync while account numbers collide as F&O compares them"
    needs_p2c_columns = False
    resumes_from_cursor = False
    own_transactions = False

    def begin(self, ctx: StepContext, cursor: str | None) -> int | None:
        return None

    def apply_batch(self, ctx: StepContext, cursor: str | None) -> BatchResult:
        groups = count_collision_groups(ctx.conn)
        if groups:
            reason = (f"{groups} groups of colliding account numbers block initial-sync; "
                      "list them with `p2c-upgrade duplicates`, resolve with "
                      "`p2c-upgrade duplicates --renumber`")
            return BatchResult(0, None, True, blocked=reason, detail=f"{groups} groups")
        return BatchResult(0, None, True, detail="no collisions")

    def end(self, ctx: StepContext) -> None:
        return None

    def verify(self, conn: Connection, db: Database) -> list[str]:
        groups = count_collision_groups(conn)
        return [f"{groups} groups of account numbers collide as F&O compares them"] if groups else []
