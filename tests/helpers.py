"""Test helpers: run the CLI in a subprocess, snapshot Sales tables, copy databases."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from conftest import IN_CI, PG_URL, SalesDb

SALES_TABLES = ("account", "contact", "quote", "salesorder", "invoice", "organization",
                "msdynce_p2cautonumber")
CLI = [sys.executable, "-m", "p2c_upgrade"]


def cli(args: list[str], env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`p2c-upgrade ARGS` in a child process (for kills, locks and memory)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=Path(__file__).resolve().parent.parent)


def snapshot(db: SalesDb, tables: tuple[str, ...] = SALES_TABLES) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the Sales tables, as text, sorted: equal snapshots mean equal tables."""
    engine = db.engine()
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        names = set(insp.get_table_names(schema=db.schema))
        for table in tables:
            if table not in names:
                continue
            rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).fetchall()
            out[table] = sorted(tuple(_norm(v) for v in r) for r in rows)
    engine.dispose()
    return out


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return None if value is None else str(value)


def execute(db: SalesDb, sql: str, params: dict[str, Any] | None = None) -> None:
    engine = db.engine()
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params or {})
    engine.dispose()


def query(db: SalesDb, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    engine = db.engine()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), params or {}).fetchall()
    engine.dispose()
    return rows


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small file system of its own at `where` (needs root; fails in CI, skips elsewhere)."""
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        reason = f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@contextmanager
def pg_role(options: str) -> Iterator[str]:
    """A throw-away superuser role with per-role settings; its URL."""
    role = f"p2c_role_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN SUPERUSER'))
        conn.execute(sa.text(f'ALTER ROLE "{role}" SET {options}'))
    try:
        yield sa.make_url(PG_URL).set(username=role).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
