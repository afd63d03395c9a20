"""Running the sync against the F&O stand-in, and reading what it recorded."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from p2c_upgrade.config import Config
from p2c_upgrade.fno.settings import FnoSettings
from p2c_upgrade.sync import SyncSummary

from conftest import SalesDb
from sync_fixtures import sync


def fno_config(legal_entity: str = "USMF", **fno: Any) -> Config:
    fno.setdefault("poll_interval", 0.02)
    fno.setdefault("timeout", 20.0)
    return Config(fno=FnoSettings(legal_entity=legal_entity, **fno))


def fno_sync(db: SalesDb, fno: Any, config: Config | None = None, **kw: Any) -> SyncSummary:
    return sync(db, f"fno:{fno.url}", config or fno_config(), **kw)


def actions(fno: Any, name: str) -> list[dict[str, Any]]:
    return [r for r in fno.requests if r.get("action") == name]


def record_states(db: SalesDb) -> dict[str, tuple[str, str | None, str | None]]:
    """source_id -> (status, reason, detail) of every sync record."""
    engine = db.engine()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT source_id, status, reason, detail FROM p2c_sync_record")).all()
    engine.dispose()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}
