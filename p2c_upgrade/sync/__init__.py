"""The initial full sync: accounts to customers, then contacts to contact persons or customers.

`run_sync(db, target, config)` runs the three documented templates in dependency order against
a database target (a SQLAlchemy URL) or an F&O data package (`package:DIR`) and returns a
`SyncSummary`. Per-record state lives in the Sales database (`p2c_sync_record`,
`p2c_sync_run`), so a rerun retries only what failed or was not reached.
"""

from __future__ import annotations

from p2c_upgrade.sync.engine import run_sync
from p2c_upgrade.sync.reasons import REASONS, Reason
from p2c_upgrade.sync.state import RECORD_TABLE, RUN_TABLE, iter_failures, last_run
from p2c_upgrade.sync.summary import SUMMARY_VERSION, SyncSummary, TaskSummary
from p2c_upgrade.sync.targets import PACKAGE_PREFIX

__all__ = [
    "PACKAGE_PREFIX", "REASONS", "RECORD_TABLE", "RUN_TABLE", "SUMMARY_VERSION", "Reason",
    "SyncSummary", "TaskSummary", "iter_failures", "last_run", "run_sync",
]
