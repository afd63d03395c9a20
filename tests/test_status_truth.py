"""`status` shows the current truth and the last sync; `runs` lists the past runs for `undo`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from p2c_upgrade.cli import main
from p2c_upgrade.demo.generator import generate

from conftest import SalesDb
from helpers import execute

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def build(db: SalesDb) -> None:
    database = db.open(must_exist=False)
    generate(database, 60, seed=11)
    database.dispose()
    # no made-up countries: the sync is clean (the template's default country applies)
    execute(db, "UPDATE account SET address1_country = NULL")
    execute(db, "UPDATE contact SET address1_country = NULL")


def status(db: SalesDb) -> dict:  # type: ignore[type-arg]
    code, out, err = invoke("status", *db.args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_status_after_renumber_and_a_clean_sync_is_the_current_truth(sales_db: SalesDb, tmp_path: Path) -> None:
    build(sales_db)
    assert invoke("run", *sales_db.args, "--no-progress")[0] == 0
    states = {s["step"]: s["state"] for s in status(sales_db)["steps"]}
    assert states["duplicate-account-numbers"] == "blocked" and states["initial-sync"] == "skipped"
    assert invoke("duplicates", *sales_db.args, "--renumber", "--no-progress")[0] == 0
    code, out, err = invoke("sync", *sales_db.args, "--no-progress", "--target", f"package:{tmp_path / 'pkg'}")
    assert code == 0, out + err
    doc = status(sales_db)
    states = {s["step"]: s["state"] for s in doc["steps"]}
    assert states["duplicate-account-numbers"] == "done"
    assert states["initial-sync"] == "done"
    assert doc["last_sync"]["status"] == "done"
    for key in ("started_at", "finished_at"):
        assert ISO_UTC.match(doc["last_sync"][key]), doc["last_sync"]
    code, table, _ = invoke("status", *sales_db.args)
    assert "last sync: 1 to " in table and ": done, started " in table
    assert "blocked" not in table and "skipped" not in table


def test_status_names_the_database_as_given(sqlite_db: SalesDb) -> None:
    doc = status(sqlite_db)
    assert doc["database"] == f"sqlite:///{sqlite_db.path}"
    assert "mode=ro" not in json.dumps(doc)


def test_runs_lists_past_runs_for_undo(sales_db: SalesDb) -> None:
    build(sales_db)
    assert invoke("runs", *sales_db.args)[1].strip() == "no run is recorded in this database yet"
    assert invoke("run", *sales_db.args, "--no-progress", "--step", "prepare")[0] == 0
    assert invoke("run", *sales_db.args, "--no-progress")[0] == 0
    assert invoke("duplicates", *sales_db.args, "--renumber", "--no-progress")[0] == 0
    code, out, err = invoke("runs", *sales_db.args, "--format", "json")
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert [(r["run_id"], r["command"], r["outcome"]) for r in runs] == [
        (3, "duplicates", "done"), (2, "run", "blocked"), (1, "run", "done")]
    for r in runs:
        assert ISO_UTC.match(r["started_at"]) and ISO_UTC.match(r["finished_at"])
    assert runs[1]["rows_changed"] > 0 and runs[0]["rows_changed"] == 4
    code, table, _ = invoke("runs", *sales_db.args)
    assert "undo --run 2" in table and "duplicates" in table
    code, out, err = invoke("undo", *sales_db.args, "--run", "3", "--dry-run")
    assert code == 0, err
    assert invoke("undo", *sales_db.args, "--run", "3", "--no-progress")[0] == 0
    runs = json.loads(invoke("runs", *sales_db.args, "--format", "json")[1])["runs"]
    assert runs[0]["command"] == "undo" and runs[1]["undone_by_a_later_undo"] is True
