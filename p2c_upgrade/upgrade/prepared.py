"""Whether a run's steps can start: what `prepare` adds must be there, or `prepare` among them."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from p2c_upgrade.db.schema import AUTONUMBER_TABLE, P2C_COLUMNS, existing_columns
from p2c_upgrade.errors import BlockedError


def require_prepared(conn: Connection, steps: list[str], needs_columns: bool, command: str) -> None:
    """Refuse before anything is created (not even the ledger's tables) when a step needs what
    `prepare` adds (`needs_columns`) and neither it is there nor `prepare` runs first: e.g.
    `duplicates --renumber` on an untouched database. Exit 3: the database is not upgraded yet."""
    if "prepare" in steps or not needs_columns:
        return
    found = existing_columns(conn)
    missing = [f"{c.table}.{c.column}" for c in P2C_COLUMNS
               if c.column not in found.get(c.table, set())]
    if AUTONUMBER_TABLE not in found:
        missing.append(f"table {AUTONUMBER_TABLE}")
    if missing:
        raise BlockedError(
            f"{command} needs what the upgrade's prepare step adds (missing {', '.join(missing)}): "
            "run `p2c-upgrade run` first, then `p2c-upgrade duplicates --renumber` if it reports "
            "duplicates, then `p2c-upgrade sync` (nothing was written)")
