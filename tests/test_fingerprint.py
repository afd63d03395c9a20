"""The fingerprint binds the approved plan to the run: it is in every plan format and in the
ledger; a resumed run with another salt refuses (exit 2); `run --plan FILE` refuses when the
settings (exit 2) or the data (exit 3) drifted from the plan and says what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_plan_support import build, plan_output

from p2c_upgrade.cli import main

from conftest import SalesDb
from helpers import cli, execute, query, snapshot


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def salt_config(tmp_path: Path, salt: str) -> str:
    path = tmp_path / f"salt-{salt or 'none'}.toml"
    path.write_text(f'[numbers]\nsalt = "{salt}"\n' if salt else "", encoding="utf-8")
    return str(path)


def approved_plan(db: SalesDb, tmp_path: Path, *extra: str) -> tuple[Path, dict]:  # type: ignore[type-arg]
    path = tmp_path / "approved.json"
    code, _, err = invoke("plan", *db.args, *extra, "--format", "json", "--output", str(path))
    assert code in (0, 3), err
    return path, json.loads(path.read_text(encoding="utf-8"))["fingerprint"]


def test_every_plan_format_shows_the_fingerprint(sqlite_db: SalesDb) -> None:
    build(sqlite_db, accounts=30)
    value = json.loads(plan_output(sqlite_db, "json")[1])["fingerprint"]["value"]
    for fmt in ("table", "markdown", "html"):
        assert value in plan_output(sqlite_db, fmt)[1], fmt
    first_row = plan_output(sqlite_db, "csv")[1].splitlines()[1]
    assert first_row == f'"plan","p2c_plan","fingerprint","value",,"{value}"'


def test_salt_and_configuration_change_the_fingerprint(sqlite_db: SalesDb, tmp_path: Path) -> None:
    build(sqlite_db, accounts=30)
    _, plain = approved_plan(sqlite_db, tmp_path)
    _, salted = approved_plan(sqlite_db, tmp_path, "--config", salt_config(tmp_path, "pepper"))
    assert plain["salt"] != salted["salt"] and plain["value"] != salted["value"]
    assert plain["configuration"] == salted["configuration"]
    assert "pepper" not in json.dumps(salted)
    mapped = tmp_path / "mapped.toml"
    mapped.write_text('[sync.value_maps.country]\n"Atlantis" = "US"\n', encoding="utf-8")
    _, other = approved_plan(sqlite_db, tmp_path, "--config", str(mapped))
    assert other["configuration"] != plain["configuration"]


def test_resumed_run_with_another_salt_refuses_and_writes_nothing(sales_db: SalesDb, tmp_path: Path) -> None:
    build(sales_db, accounts=120)
    salted = salt_config(tmp_path, "pepper")
    done = cli(["run", *sales_db.args, "--config", salted, "--no-progress", "--batch-size", "50"],
               env={"P2C_FAULT_SIGINT": "account-numbers:after-commit:1"})
    assert done.returncode == 130, done.stderr
    before = snapshot(sales_db)
    code, _, err = invoke("run", *sales_db.args, "--no-progress", "--batch-size", "50")  # no --config
    assert code == 2, err
    assert "another [numbers] salt" in err and "--config" in err
    assert snapshot(sales_db) == before
    code, _, err = invoke("run", *sales_db.args, "--config", salted, "--no-progress")
    assert code == 0, err
    options = [json.loads(o) for (o,) in query(sales_db, "SELECT options FROM p2c_run ORDER BY run_id")]
    assert options[0]["fingerprint"]["salt"] == options[-1]["fingerprint"]["salt"]


def test_run_with_the_approved_plan_records_it(sales_db: SalesDb, tmp_path: Path) -> None:
    build(sales_db, accounts=40)
    path, fp = approved_plan(sales_db, tmp_path)
    code, _, err = invoke("run", *sales_db.args, "--plan", str(path), "--no-progress")
    assert code == 0, err
    options = json.loads(query(sales_db, "SELECT options FROM p2c_run ORDER BY run_id DESC")[0][0])
    assert options["fingerprint"] == {"salt": fp["salt"], "configuration": fp["configuration"],
                                      "plan": fp["value"]}


@pytest.mark.parametrize("drift", ["salt", "data", "sequence"])
def test_run_plan_refuses_what_drifted_and_says_what(sales_db: SalesDb, tmp_path: Path, drift: str) -> None:
    build(sales_db, accounts=40)
    path, _ = approved_plan(sales_db, tmp_path)
    extra: list[str] = []
    if drift == "salt":
        extra = ["--config", salt_config(tmp_path, "pepper")]
    elif drift == "data":
        execute(sales_db, "UPDATE account SET accountnumber = NULL WHERE accountid = "
                          "(SELECT accountid FROM account WHERE accountnumber IS NOT NULL "
                          "ORDER BY accountid LIMIT 1)")
    else:
        invoke("run", *sales_db.args, "--step", "prepare", "--no-progress")
        execute(sales_db, "UPDATE msdynce_p2cautonumber SET msdynce_numbersequence = 5000 "
                          "WHERE msdynce_entityname = 'account'")
    before = snapshot(sales_db)
    code, _, err = invoke("run", *sales_db.args, "--plan", str(path), "--no-progress", *extra)
    expected = {"salt": (2, "the [numbers] salt differs"),
                "data": (3, "account-numbers: "),
                "sequence": (3, "sequence account: ACC next 1000 suffix 6 then, ACC next 5000")}[drift]
    assert code == expected[0], err
    assert expected[1] in err and "approved plan" in err
    assert snapshot(sales_db) == before


def test_run_plan_resumes_after_ctrl_c(sales_db: SalesDb, tmp_path: Path) -> None:
    """The stopped run changed the data itself: resuming the approved plan checks the settings."""
    build(sales_db, accounts=120)
    path, _ = approved_plan(sales_db, tmp_path)
    done = cli(["run", *sales_db.args, "--plan", str(path), "--no-progress", "--batch-size", "50"],
               env={"P2C_FAULT_SIGINT": "contact-numbers:after-commit:1"})
    assert done.returncode == 130, done.stderr
    code, _, err = invoke("run", *sales_db.args, "--plan", str(path), "--no-progress",
                          "--config", salt_config(tmp_path, "pepper"))
    assert code == 2 and "salt differs" in err
    code, _, err = invoke("run", *sales_db.args, "--plan", str(path), "--no-progress")
    assert code == 0, err


def test_run_plan_file_must_be_a_plan(sqlite_db: SalesDb, tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text("{}", encoding="utf-8")
    for path in (bogus, tmp_path / "missing.json"):
        code, _, err = invoke("run", *sqlite_db.args, "--plan", str(path), "--no-progress")
        assert code == 2 and str(path) in err
