"""Issue 12 item 6, the rest: each small fault as a kind, through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner
from test_duplicates import plant

from p2c_upgrade import progress as progress_module
from p2c_upgrade.cli import main
from p2c_upgrade.demo.generator import generate
from p2c_upgrade.progress import Progress
from p2c_upgrade.upgrade.runner import RunOptions, run_upgrade
from p2c_upgrade.upgrade.steps.flag_step import FlagStep

from conftest import SalesDb
from helpers import execute, query


def _numbers(db: SalesDb) -> dict[str, str | None]:
    return {str(r[0]): r[1] for r in query(db, "SELECT accountid, accountnumber FROM account")}


def test_renumber_dry_run_shows_exactly_the_numbers_the_renumber_gives(sales_db: SalesDb) -> None:
    plant(sales_db)
    runner = CliRunner()
    assert runner.invoke(main, ["run", *sales_db.args, "--no-progress", "--step", "prepare"]).exit_code == 0
    before = _numbers(sales_db)
    dry = runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--dry-run", "--format", "json"])
    assert dry.exit_code == 3, dry.output  # nothing written: the collisions remain
    planned = json.loads(dry.stdout)
    assert planned["dry_run"] is True and len(planned["groups"]) == 4
    assert _numbers(sales_db) == before
    assert query(sales_db, "SELECT count(*) FROM p2c_journal WHERE step = 'duplicates-renumber'")[0][0] == 0
    shown = runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--dry-run"])
    assert shown.exit_code == 3 and "nothing was written" in shown.output
    for row in planned["renumbered"]:
        assert row["new"] in shown.output

    done = runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--no-progress",
                                "--format", "json"])
    assert done.exit_code == 0, done.output
    real = json.loads(done.stdout)
    assert real["dry_run"] is False and real["groups"] == []
    assert real["renumbered"] == planned["renumbered"]  # the same accounts, old and new numbers
    after = _numbers(sales_db)
    assert {r["id"]: r["new"] for r in real["renumbered"]} == {
        k: v for k, v in after.items() if before[k] != v}
    assert len(real["renumbered"]) == 4


def test_renumber_table_shows_old_and_new_numbers(sales_db: SalesDb) -> None:
    plant(sales_db)
    runner = CliRunner()
    assert runner.invoke(main, ["run", *sales_db.args, "--no-progress", "--step", "prepare"]).exit_code == 0
    done = runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--no-progress"])
    assert done.exit_code == 0, done.output
    assert "old accountnumber" in done.output and "new accountnumber" in done.output
    assert "'X-9   '" in done.output and "ACC-01003-" in done.output
    assert "renumbered 4 accounts" in done.output and "no colliding account numbers" in done.output


def test_dry_run_without_renumber_is_a_usage_error(sales_db: SalesDb) -> None:
    result = CliRunner().invoke(main, ["duplicates", *sales_db.args, "--dry-run"])
    assert result.exit_code == 2 and "--renumber" in result.output


def test_renumber_dry_run_on_an_untouched_database_refuses_like_the_renumber(sales_db: SalesDb) -> None:
    plant(sales_db)
    runner = CliRunner()
    dry = runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--dry-run"])
    real = runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--no-progress"])
    assert dry.exit_code == real.exit_code == 3
    assert "prepare" in dry.output and dry.output.splitlines()[-1] == real.output.splitlines()[-1]


BAD_MAPPING = """
[sync.tasks.Accounts.fields]
addresscity = { source = "address9_city" }
"""


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "p2c.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_mapping_to_a_missing_column_is_a_usage_error_in_plan_sync_and_run(
        sales_db: SalesDb, tmp_path: Path) -> None:
    database = sales_db.open(must_exist=False)
    generate(database, 40, seed=3)
    database.dispose()
    runner = CliRunner()
    config = _config(tmp_path, BAD_MAPPING)
    package = tmp_path / "pkg"
    for command in (["plan"], ["sync", "--target", f"package:{package}"],
                    ["run", "--target", f"package:{package}"]):
        result = runner.invoke(main, [*command, *sales_db.args, "--config", config, "--no-progress"])
        assert result.exit_code == 2, (command, result.output)
        assert "sync.tasks.Accounts.fields.addresscity" in result.stderr
        assert "address9_city" in result.stderr and "nothing was written" in result.stderr
    assert not package.exists()
    assert query(sales_db, "SELECT count(*) FROM account WHERE accountnumber IS NULL")[0][0] > 0
    ok = runner.invoke(main, ["plan", *sales_db.args, "--no-progress", "--config",
                              _config(tmp_path, BAD_MAPPING.replace("address9_city", "address1_city"))])
    assert ok.exit_code in (0, 3), ok.output


@contextmanager
def _empty_database(db: SalesDb, tmp_path: Path) -> Iterator[list[str]]:
    """CLI arguments of a database without Sales tables, of the fixture's kind."""
    if db.schema is None:
        path = tmp_path / "empty.db"
        sqlite3.connect(path).close()
        yield ["--db", f"sqlite:///{path}"]
        return
    empty = f"p2c_empty_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(db.url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{empty}"'))
    try:
        yield ["--db", db.url, "--schema", empty]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{empty}" CASCADE'))
        engine.dispose()


def test_duplicates_without_sales_tables_says_so_as_the_other_commands_do(
        sales_db: SalesDb, tmp_path: Path) -> None:
    runner = CliRunner()
    answers = {}
    with _empty_database(sales_db, tmp_path) as args:
        for command in ("duplicates", "plan", "verify"):
            result = runner.invoke(main, [command, *args, "--no-progress"])
            answers[command] = (result.exit_code, result.stderr.strip().splitlines()[-1])
    assert answers["duplicates"] == answers["plan"] == answers["verify"], answers
    code, message = answers["duplicates"]
    assert code == 1 and "not a Sales database: missing table account" in message
    if sales_db.schema is not None:  # the fixture's schema holds the Sales tables
        assert "give --schema" in message
    else:
        assert "--schema" not in message


def test_a_partial_undo_says_what_to_undo_first(sales_db: SalesDb) -> None:
    database = sales_db.open(must_exist=False)
    generate(database, 30, seed=5)  # contacts too
    database.dispose()
    plant(sales_db)
    runner = CliRunner()
    assert runner.invoke(main, ["run", *sales_db.args, "--no-progress"]).exit_code == 0
    assert runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--no-progress"]).exit_code == 0
    # the account sequence moved on after account-numbers: duplicates-renumber holds it
    for extra in (["--dry-run"], []):
        result = runner.invoke(main, ["undo", *sales_db.args, "--step", "account-numbers",
                                      "--no-progress", *extra])
        assert result.exit_code == 0, result.output
        assert ("undo duplicates-renumber (run 2) first: "
                "`p2c-upgrade undo --step duplicates-renumber`") in result.stdout, result.stdout
    # prepare's contact columns hold the numbering and flag steps' values
    prepare = runner.invoke(main, ["undo", *sales_db.args, "--step", "prepare", "--dry-run"])
    assert prepare.exit_code == 0, prepare.output
    assert "column contact.msdynce_contactnumber: kept" in prepare.stdout
    assert "set by contact-numbers; undo contact-numbers (run 1) first: " \
           "`p2c-upgrade undo --step contact-numbers`" in prepare.stdout, prepare.stdout


def test_the_progress_bar_moves_while_a_long_batch_runs(sqlite_db: SalesDb, monkeypatch: Any) -> None:
    """The bar shows the running batch and its elapsed time, redrawn while the batch runs."""
    database = sqlite_db.open(must_exist=False)
    generate(database, 30, seed=7)
    database.dispose()
    slow = FlagStep.apply_batch

    def slow_batch(self: FlagStep, ctx: Any, cursor: str | None) -> Any:
        time.sleep(1.3)
        return slow(self, ctx, cursor)

    monkeypatch.setattr(FlagStep, "apply_batch", slow_batch)
    monkeypatch.setattr(progress_module, "TICK_SECONDS", 0.1)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    progress = Progress()
    progress.enabled = True  # as on a terminal
    run_upgrade(sqlite_db.open(), RunOptions(steps=["prepare", "active-customers"],
                                             progress=progress))
    drawn = err.getvalue()
    assert "batch 1: 0 s" in drawn and "batch 1: 1 s" in drawn, drawn


def test_the_demo_try_lines_work_as_printed(tmp_path: Path, monkeypatch: Any) -> None:
    """Printed by a demo whose console script is not on PATH (a venv not activated): each "try"
    line runs as printed, from a shell with that PATH."""
    path = "/usr/bin:/bin"
    monkeypatch.setenv("PATH", path)
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "demo"), "--accounts", "20",
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    tries = [line.split("try:", 1)[-1].strip() for line in result.stdout.splitlines()
             if line.strip().startswith("try:") or line.startswith("       ")]
    assert len(tries) == 2 and all(t.split()[0] != "p2c-upgrade" for t in tries), tries
    for line in tries:
        done = subprocess.run(line, shell=True, env={**os.environ, "PATH": path},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (line, done.stderr)
    assert "source " in result.stdout  # how to activate instead


def test_demo_refuses_db_and_schema(tmp_path: Path) -> None:
    for extra in (["--db", f"sqlite:///{tmp_path / 'mine.db'}"], ["--schema", "sales"]):
        result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "d"), *extra])
        assert result.exit_code == 2 and "takes no --db" in result.stderr, result.output
        assert not (tmp_path / "d").exists() and not (tmp_path / "mine.db").exists()


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
REPO_PATH = re.compile(r"\b((?:docs|examples|runbooks|p2c_upgrade|tests|scripts)/[\w./-]*\w)")


def test_every_path_named_in_the_examples_exists() -> None:
    named = {m for f in EXAMPLES.glob("*.toml") for m in REPO_PATH.findall(f.read_text("utf-8"))}
    assert named  # the example names its documentation
    missing = sorted(p for p in named if not (EXAMPLES.parent / p).exists())
    assert not missing, missing


def test_unknown_countries_are_blockers_in_waiting_in_plan(sales_db: SalesDb, tmp_path: Path) -> None:
    database = sales_db.open(must_exist=False)
    generate(database, 30, seed=9)
    database.dispose()
    execute(sales_db, "UPDATE account SET address1_country = 'Atlantis' WHERE accountid IN "
                      "(SELECT accountid FROM account ORDER BY accountid LIMIT 2)")
    runner = CliRunner()
    result = runner.invoke(main, ["plan", *sales_db.args, "--format", "json", "--no-progress"])
    doc = json.loads(result.stdout)
    unknown = next(f for f in doc["findings"] if f["code"] == "unknown_country")
    assert "will fail the sync" in unknown["title"]
    assert '[sync.value_maps.country] "Atlantis" = "??"' in unknown["action"]
    assert f"{unknown['count']:,} records will fail the sync (unknown_country: map their " \
           "countries in [sync.value_maps.country] first)" in doc["verdict"]
    text = runner.invoke(main, ["plan", *sales_db.args, "--no-progress"])
    assert "will fail the sync" in text.stdout and '"Atlantis" = "??"' in text.stdout
    mapped = _config(tmp_path, '[sync.value_maps.country]\n"Atlantis" = "US"\n')
    again = json.loads(runner.invoke(main, ["plan", *sales_db.args, "--format", "json",
                                            "--no-progress", "--config", mapped]).stdout)
    left = [f for f in again["findings"] if f["code"] == "unknown_country"]
    assert not left or "Atlantis" not in left[0]["action"]
    assert not left or left[0]["count"] == unknown["count"] - 2
