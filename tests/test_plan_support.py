"""Helpers for the plan tests (no tests here): databases in the three states, the plan
through the CLI, the change list read back, the journal of a run, and database fingerprints."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from p2c_upgrade.cli import main
from p2c_upgrade.demo.generator import generate
from p2c_upgrade.plan import build_plan, write_report

from conftest import SalesDb

CLI = [str(Path(sys.executable).with_name("p2c-upgrade"))]
if not Path(CLI[0]).exists():  # pragma: no cover - an environment without the console script
    CLI = [sys.executable, "-c", "from p2c_upgrade.cli import main; main()"]

Change = tuple[str | None, ...]


def build(db: SalesDb, accounts: int = 60, seed: int = 11) -> None:
    database = db.open(must_exist=False)
    generate(database, accounts, seed=seed)
    database.dispose()


def invoke(args: list[str]) -> Any:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result


def run(db: SalesDb, *extra: str) -> None:
    result = invoke(["run", *db.args, "--no-progress", "--batch-size", "50", *extra])
    assert result.exit_code == 0, result.output


def half_upgrade(db: SalesDb, *extra: str) -> None:
    """A run SIGKILLed after the 2nd committed batch of contact-numbers (batches of 50)."""
    env = {**os.environ, "P2C_FAULT_KILL": "contact-numbers:after-commit:2"}
    proc = subprocess.run([*CLI, "run", *db.args, "--no-progress", "--batch-size", "50", *extra],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def finish(db: SalesDb) -> None:
    """Upgraded and resolved: run, then renumber the planted duplicates."""
    run(db)
    result = invoke(["duplicates", *db.args, "--renumber", "--no-progress"])
    assert result.exit_code == 0, result.output


def plan_output(db: SalesDb, fmt: str, *extra: str) -> tuple[int, str]:
    result = invoke(["plan", *db.args, "--format", fmt, *extra])
    return result.exit_code, result.stdout


def plan_json(db: SalesDb, *extra: str) -> dict[str, Any]:
    code, out = plan_output(db, "json", *extra)
    doc = json.loads(out)
    assert code == (3 if doc["has_blockers"] else 0)
    return doc


def render(db: SalesDb, fmt: str) -> str:
    database = db.open(read_only=True)
    try:
        out = io.StringIO()
        write_report(build_plan(database, None), fmt, out)
        return out.getvalue()
    finally:
        database.dispose()


def parse_csv(text: str) -> list[Change]:
    """The plan's csv: every value quoted, an empty unquoted field is NULL."""
    lines = text.split("\r\n")
    assert lines[-1] == ""
    field = re.compile(r'("(?:[^"]|"")*"|)(,|$)')
    rows = []
    for line in lines[1:-1]:
        row: list[str | None] = []
        for m in field.finditer(line):
            token = m.group(1)
            row.append(None if token == "" else token[1:-1].replace('""', '"'))
            if m.group(2) == "":
                break
        rows.append(tuple(row))
    assert lines[0] == '"step","table","record_id","column","old_value","new_value"'
    assert rows and rows[0][:4] == ("plan", "p2c_plan", "fingerprint", "value"), rows[:1]
    return rows[1:]  # the first row is the plan's fingerprint, not a change


def journal_changes(db: SalesDb, run_id: int | None = None) -> list[Change]:
    """The latest run's journal, one row per record and column (first old, last new)."""
    engine = db.engine()
    with engine.connect() as conn:
        if run_id is None:
            run_id = conn.execute(sa.text("SELECT max(run_id) FROM p2c_journal")).scalar()
        rows = conn.execute(sa.text(
            "SELECT step, tbl, record_id, col, old_value, new_value FROM p2c_journal "
            "WHERE run_id = :r ORDER BY journal_id"), {"r": run_id}).all()
    engine.dispose()
    net: dict[tuple[str, ...], tuple[str | None, str | None]] = {}
    for step, tbl, rid, col, old, new in rows:
        key = (step, tbl, rid, col)
        net[key] = (net[key][0] if key in net else old, new)
    return sorted(k + v for k, v in net.items())


def query(db: SalesDb, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    engine = db.engine()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), params or {}).all()
    engine.dispose()
    return rows


def execute(db: SalesDb, sql: str, params: dict[str, Any] | list[dict[str, Any]] | None = None
            ) -> None:
    engine = db.engine()
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params or {})
    engine.dispose()


def fingerprint(db: SalesDb) -> Any:
    """SQLite: the file's bytes and the files beside it. PostgreSQL: the schema's tables and
    columns, and a checksum of every table's rows."""
    if db.path is not None:
        siblings = sorted(p.name for p in db.path.parent.iterdir()
                          if p.name.startswith(db.path.name))
        return hashlib.sha256(db.path.read_bytes()).hexdigest(), siblings
    engine = db.engine()
    with engine.connect() as conn:
        cols = conn.execute(sa.text(
            "SELECT table_name, column_name, data_type, column_default, is_nullable "
            "FROM information_schema.columns WHERE table_schema = :s "
            "ORDER BY table_name, ordinal_position"), {"s": db.schema}).all()
        rels = conn.execute(sa.text(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = :s ORDER BY 1"), {"s": db.schema}).all()
        sums = {}
        for (table,) in conn.execute(sa.text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
                "ORDER BY 1"), {"s": db.schema}):
            sums[table] = conn.execute(sa.text(
                f'SELECT count(*), md5(coalesce(string_agg(CAST(t AS text), \'|\' '
                f'ORDER BY CAST(t AS text)), \'\')) FROM "{table}" t')).one()
    engine.dispose()
    return [tuple(c) for c in cols], [tuple(r) for r in rels], {k: tuple(v) for k, v in sums.items()}
