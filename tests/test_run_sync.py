"""`run` ends with initial-sync when a target is configured, and is blocked by duplicates."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from p2c_upgrade.cli import main
from p2c_upgrade.demo.generator import generate

from conftest import SalesDb
from helpers import execute, query


def build(db: SalesDb) -> None:
    database = db.open(must_exist=False)
    generate(database, 60, seed=11)
    database.dispose()


def states(db: SalesDb) -> dict[str, str]:
    out = CliRunner().invoke(main, ["status", *db.args, "--format", "json"]).output
    return {s["step"]: s["state"] for s in json.loads(out)["steps"]}


def test_run_without_target_says_how_to_sync(sales_db: SalesDb) -> None:
    build(sales_db)
    execute(sales_db, "UPDATE account SET accountnumber = NULL")  # no duplicates
    result = CliRunner().invoke(main, ["run", *sales_db.args, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "p2c-upgrade sync --target" in result.output
    assert states(sales_db)["initial-sync"] == "skipped"


def test_run_with_duplicates_and_a_target_exits_3_and_writes_nothing(sales_db: SalesDb, tmp_path: Path) -> None:
    build(sales_db)  # the generator plants colliding account numbers
    fno = tmp_path / "fno.db"
    result = CliRunner().invoke(main, ["run", *sales_db.args, "--no-progress", "--target", f"sqlite:///{fno}"])
    assert result.exit_code == 3, result.output
    assert "duplicates --renumber" in result.stderr
    assert states(sales_db)["initial-sync"] == "blocked"
    assert states(sales_db)["contact-numbers"] == "done"
    assert not fno.exists() or fno.stat().st_size == 0


def test_run_with_a_target_ends_with_the_sync(sales_db: SalesDb, tmp_path: Path) -> None:
    build(sales_db)
    runner = CliRunner()
    assert runner.invoke(main, ["run", *sales_db.args, "--no-progress", "--step", "prepare"]).exit_code == 0
    assert runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--no-progress"]).exit_code == 0
    fno = tmp_path / "fno.db"
    result = runner.invoke(main, ["run", *sales_db.args, "--no-progress", "--target", f"sqlite:///{fno}"])
    assert result.exit_code in (0, 3), result.output  # 3 only if some records failed on their data
    assert states(sales_db)["initial-sync"] in ("done", "blocked")
    accounts = query(sales_db, "SELECT count(*) FROM account")[0][0]
    synced = query(sales_db, "SELECT count(*) FROM p2c_sync_record WHERE task = 'Accounts'")[0][0]
    assert synced == accounts
