"""`run --plan FILE`: the approved plan bound to the run (`p2c_upgrade.upgrade.fingerprint`)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from p2c_upgrade.plan.build import build_plan
from p2c_upgrade.upgrade import ledger
from p2c_upgrade.upgrade.fingerprint import differences, load_approved, require_unchanged, settings_parts


def check_approved(db: Any, config: Any, path: str) -> str:
    """`run --plan FILE`: the approved plan's fingerprint value, after checking that this run's
    settings and the data are still the plan's (`require_unchanged`). A run of that plan that
    was stopped has changed the data itself: when resuming, only the settings are compared.
    `db` opened read-only. The data can still change between this check and the run's lock."""
    approved = load_approved(path)
    with db.engine.connect() as conn:
        resumed = ledger.tables_exist(conn) and approved["value"] in {
            (json.loads(o or "{}").get("fingerprint") or {}).get("plan")
            for (o,) in conn.execute(sa.select(ledger.runs.c.options))}
    if resumed:
        settings, _ = differences(approved, {**approved, **settings_parts(config)})
        if settings:
            require_unchanged(approved, {**approved, **settings_parts(config)}, path)
        return str(approved["value"])
    require_unchanged(approved, build_plan(db, config).fingerprint, path)
    return str(approved["value"])
