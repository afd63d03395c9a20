"""What `status` shows of the two gate steps: the current truth, not the last run's record.

The ledger records what a run found when it reached a step. Two things change that later
without a `run`: `duplicates --renumber` resolves the duplicate gate, and `sync` (or the demo)
synchronizes after `run` skipped or was blocked at `initial-sync`. So `status` re-checks the
gate on the data when the ledger says `blocked` (one aggregate query, read-only), and takes
`initial-sync` from the latest sync when that sync is newer than the step's record.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from p2c_upgrade.render import iso_utc
from p2c_upgrade.upgrade.duplicates import count_collision_groups

#: the latest sync's status -> the initial-sync step's state
_SYNC_STATES = {"done": "done", "incomplete": "blocked", "running": "running",
                "interrupted": "interrupted", "failed": "failed"}


def apply_current_truth(conn: Connection, steps: list[dict[str, Any]],
                        sync: dict[str, Any] | None) -> None:
    """Update the `duplicate-account-numbers` and `initial-sync` rows of `steps` in place."""
    by_name = {s["step"]: s for s in steps}
    gate = by_name.get("duplicate-account-numbers")
    if gate is not None and gate["state"] == "blocked":
        groups = count_collision_groups(conn)
        if not groups:
            gate.update(state="done", detail="no collisions now (resolved since the run, "
                                             "e.g. by duplicates --renumber)")
        else:
            gate["detail"] = f"{groups} groups of colliding account numbers now"
    step = by_name.get("initial-sync")
    if step is None or sync is None:
        return
    recorded = iso_utc(step.get("started_at")) or ""
    if step["state"] != "pending" and (iso_utc(sync.get("started_at")) or "") < recorded:
        return
    state = _SYNC_STATES.get(str(sync.get("status")), str(sync.get("status")))
    if step["state"] in ("done", "blocked") and step.get("run_id") == sync.get("run_id") \
            and state == step["state"]:
        return
    detail = f"sync {sync.get('sync_run_id')} to {sync.get('target')}: {sync.get('status')}"
    step.update(state=state, detail=detail, error=None, started_at=sync.get("started_at"),
                finished_at=sync.get("finished_at"))
