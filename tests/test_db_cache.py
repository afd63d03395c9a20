"""SQLite's page cache: larger for the commands that rewrite Sales tables, SQLite's default for
the rest (sync targets, the package store, read-only commands), so their memory stays small."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from p2c_upgrade.db.connection import SQLITE_CACHE_KIB, open_database


def _cache_size(url: str, **kw: object) -> int:
    db = open_database(url, must_exist=False, **kw)  # type: ignore[arg-type]
    try:
        with db.engine.connect() as conn:
            return int(conn.execute(sa.text("PRAGMA cache_size")).scalar_one())
    finally:
        db.dispose()


def test_bulk_commands_get_the_larger_cache(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sales.db'}"
    assert _cache_size(url, sqlite_cache_kib=SQLITE_CACHE_KIB) == SQLITE_CACHE_KIB
    assert SQLITE_CACHE_KIB <= -65536  # a size in KiB, at least 64 MiB


def test_other_connections_keep_sqlites_default(tmp_path: Path) -> None:
    assert _cache_size(f"sqlite:///{tmp_path / 'target.db'}") == -2000
