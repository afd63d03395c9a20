"""The sync (and `run --target`) refuses while an upgrade step has work left: exit 3, nothing
written, and it says to run `p2c-upgrade run`."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from p2c_upgrade.cli import main
from p2c_upgrade.demo.generator import generate

from conftest import SalesDb
from helpers import execute, query


def build(db: SalesDb) -> None:
    database = db.open(must_exist=False)
    generate(database, 60, seed=11)
    database.dispose()


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def has_table(db: SalesDb, name: str) -> bool:
    engine = db.engine()
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).has_table(name, schema=db.schema)
    finally:
        engine.dispose()


def test_sync_after_prepare_and_renumber_only_refuses_and_writes_nothing(sales_db: SalesDb, tmp_path: Path) -> None:
    build(sales_db)
    assert invoke("run", *sales_db.args, "--no-progress", "--step", "prepare")[0] == 0
    assert invoke("duplicates", *sales_db.args, "--renumber", "--no-progress")[0] == 0
    package = tmp_path / "pkg"
    code, out, err = invoke("sync", *sales_db.args, "--no-progress", "--target", f"package:{package}")
    assert code == 3, out + err
    assert "run `p2c-upgrade run`" in err and "account-numbers" in err and "contact-numbers" in err
    assert "nothing was written" in err
    assert not package.exists() or not any(package.iterdir())
    assert not has_table(sales_db, "p2c_sync_run")


def test_sync_refuses_when_a_record_was_added_after_the_upgrade(sales_db: SalesDb, tmp_path: Path) -> None:
    """Judged on the data, not on the ledger: a contact created since the run has no number."""
    build(sales_db)
    assert invoke("run", *sales_db.args, "--no-progress")[0] == 0
    assert invoke("duplicates", *sales_db.args, "--renumber", "--no-progress")[0] == 0
    execute(sales_db, "UPDATE contact SET msdynce_contactnumber = NULL WHERE contactid = "
                      "(SELECT contactid FROM contact ORDER BY contactid LIMIT 1)")
    code, _, err = invoke("sync", *sales_db.args, "--no-progress", "--target", f"package:{tmp_path / 'p'}")
    assert code == 3 and "contact-numbers: 1 contact records have no msdynce_contactnumber" in err
    assert invoke("run", *sales_db.args, "--no-progress")[0] == 0
    code, out, err = invoke("sync", *sales_db.args, "--no-progress", "--target", f"package:{tmp_path / 'p'}")
    assert code in (0, 3), err  # 3 only for records failing on their data (listed)
    assert "upgrade is not finished" not in err


def test_run_target_refuses_with_its_summary_when_steps_have_work_left(sales_db: SalesDb, tmp_path: Path) -> None:
    build(sales_db)
    assert invoke("run", *sales_db.args, "--no-progress", "--step", "prepare")[0] == 0
    fno = tmp_path / "fno.db"
    code, out, err = invoke("run", *sales_db.args, "--no-progress", "--step", "initial-sync",
                            "--target", f"sqlite:///{fno}")
    assert code == 3, out + err
    assert "initial-sync" in out and "blocked" in out  # the run's summary still prints
    assert "run `p2c-upgrade run`" in err
    assert not fno.exists() or fno.stat().st_size == 0
    doc = json.loads(invoke("status", *sales_db.args, "--format", "json")[1])
    assert {s["step"]: s["state"] for s in doc["steps"]}["initial-sync"] == "blocked"
    assert doc["last_run"]["outcome"] == "blocked"
    assert query(sales_db, "SELECT count(*) FROM contact WHERE msdynce_contactnumber IS NULL")[0][0] > 0


def test_sync_on_an_untouched_database_says_run_first_in_one_short_line(sales_db: SalesDb, tmp_path: Path) -> None:
    build(sales_db)
    code, _, err = invoke("sync", *sales_db.args, "--no-progress", "--target", f"package:{tmp_path / 'pkg'}")
    assert code == 3, err
    line = err.strip()
    assert "\n" not in line and len(line) < 300, line
    assert "has not run on this database yet" in line and "run `p2c-upgrade run` first" in line
    assert not has_table(sales_db, "p2c_sync_run")
