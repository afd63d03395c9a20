"""Where the sync writes: one small interface, two kinds of target.

`open_target("package:DIR")` gives an F&O data package, `open_target("fno:https://HOST")` the
same package imported into a live F&O environment; any other string is a SQLAlchemy URL
of a database that holds the F&O entities (tables created when missing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from p2c_upgrade.sync.targets.base import RowsRejected, Target, TargetRow, UpsertCounts
from p2c_upgrade.sync.targets.database import DatabaseTarget
from p2c_upgrade.sync.targets.fno import FNO_PREFIX, FnoTarget
from p2c_upgrade.sync.targets.package import PACKAGE_PREFIX, PackageTarget


def open_target(target: str, *, package_max_rows: int, batch_size: int = 5000,
                description: str = "", fno_settings: Any = None,
                say: Callable[[str], None] | None = None) -> Target:
    """Open (creating what is missing) the target named by `target`."""
    if target.startswith(FNO_PREFIX):
        return FnoTarget.open(target[len(FNO_PREFIX):], fno_settings, max_rows=package_max_rows,
                              batch_size=batch_size, description=description, say=say)
    if target.startswith(PACKAGE_PREFIX):
        return PackageTarget.open(target[len(PACKAGE_PREFIX):], max_rows=package_max_rows,
                                  batch_size=batch_size, description=description)
    return DatabaseTarget.open(target)


__all__ = ["FNO_PREFIX", "DatabaseTarget", "FnoTarget", "PackageTarget", "RowsRejected",
           "Target", "TargetRow", "UpsertCounts", "open_target"]
