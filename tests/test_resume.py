"""A second run changes nothing; a run killed mid-step resumes to the same end state; the lock."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from p2c_upgrade.cli import main
from p2c_upgrade.demo.generator import generate
from p2c_upgrade.rules.keys import dataverse_key as fold
from p2c_upgrade.rules.number_format import seqpart

from conftest import SalesDb
from helpers import cli, query, snapshot

BATCHED_STEPS = ("account-numbers", "contact-numbers", "active-customers", "company-is-account")


def build(db: SalesDb, accounts: int = 120, seed: int = 7) -> None:
    database = db.open(must_exist=False)
    generate(database, accounts, seed=seed)
    database.dispose()


def test_second_run_changes_nothing(sales_db: SalesDb) -> None:
    build(sales_db)
    runner = CliRunner()
    first = runner.invoke(main, ["run", *sales_db.args, "--no-progress", "--batch-size", "50"])
    assert first.exit_code == 0, first.output
    before = snapshot(sales_db)
    second = runner.invoke(main, ["run", *sales_db.args, "--no-progress", "--batch-size", "50"])
    assert second.exit_code == 0, second.output
    assert snapshot(sales_db) == before
    status = runner.invoke(main, ["status", *sales_db.args, "--format", "json"])
    doc = json.loads(status.output)
    assert [s["rows_changed"] for s in doc["steps"]] == [0] * 7
    assert {s["step"]: s["state"] for s in doc["steps"]}["account-numbers"] == "done"


def invariants(db: SalesDb) -> None:
    """No number handed out twice; each sequence's next value is past every number it handed out."""
    for entity, table, col in (("account", "account", "accountnumber"),
                               ("contact", "contact", "msdynce_contactnumber")):
        values = [r[0] for r in query(db, f"SELECT {col} FROM {table} WHERE {col} IS NOT NULL")]
        generated = [v for v in values if seqpart(v, entity[:3].upper()) is not None]
        assert len({fold(v) for v in generated}) == len(generated), f"{entity}: a number handed out twice"
        nxt = query(db, "SELECT msdynce_numbersequence FROM msdynce_p2cautonumber "
                        "WHERE msdynce_entityname = :e", {"e": entity})[0][0]
        handed = [r[0] for r in query(db, "SELECT new_value FROM p2c_journal "
                                          "WHERE col = :c AND tbl <> 'msdynce_p2cautonumber'", {"c": col})]
        if handed:
            assert nxt == max(seqpart(v, entity[:3].upper()) or 0 for v in handed) + 1


@pytest.mark.parametrize("step", BATCHED_STEPS)
@pytest.mark.parametrize("point", ["before-commit", "after-commit"])
def test_killed_run_resumes_to_the_same_end_state(sales_db: SalesDb, second_db: SalesDb,
                                                  step: str, point: str) -> None:
    build(sales_db)
    args = ["run", *sales_db.args, "--no-progress", "--batch-size", "30"]
    killed = cli(args, env={"P2C_FAULT_KILL": f"{step}:{point}:2"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    status = cli(["status", *sales_db.args, "--format", "json"])
    states = {s["step"]: s["state"] for s in json.loads(status.stdout)["steps"]}
    assert states[step] == "interrupted"
    resumed = cli(args)
    assert resumed.returncode == 0, resumed.stderr
    invariants(sales_db)
    build(second_db)
    assert cli(["run", *second_db.args, "--no-progress", "--batch-size", "30"]).returncode == 0
    assert snapshot(sales_db) == snapshot(second_db)


def test_second_run_exits_4_at_once_and_lock_is_freed_when_holder_dies(sales_db: SalesDb) -> None:
    build(sales_db, accounts=20)
    holder_code = (
        "import sys, time\n"
        "from p2c_upgrade.db.connection import open_database\n"
        "from p2c_upgrade.db.lock import UpgradeLock\n"
        f"db = open_database({sales_db.url!r}, {sales_db.schema!r})\n"
        "lock = UpgradeLock(db, 'run'); lock.acquire()\n"
        "print('locked', flush=True)\n"
        "time.sleep(120)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", holder_code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        second = cli(["run", *sales_db.args, "--no-progress"])
        elapsed = time.monotonic() - started
        assert second.returncode == 4, second.stderr
        assert "holds the upgrade lock" in second.stderr and "pid" in second.stderr
        assert elapsed < 5  # includes interpreter start; the lock attempt itself does not wait
        status = cli(["status", *sales_db.args])
        assert status.returncode == 0 and "in progress" in status.stdout
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    third = cli(["run", *sales_db.args, "--no-progress"])
    assert third.returncode == 0, third.stderr
