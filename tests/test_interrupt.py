"""Ctrl-C (SIGINT) stops every command within a second or two, records `interrupted` (run, step,
last sync), exits 130, and the next command resumes. A second Ctrl-C ends the process at once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from p2c_upgrade.cli import main
from p2c_upgrade.demo.generator import generate

from conftest import SalesDb
from helpers import CLI, cli, query

ROOT = Path(__file__).resolve().parent.parent
#: far below the 30 s lock timeout the old code waited; generous for a loaded 2-core machine
QUICKLY_S = 8.0


def build(db: SalesDb, accounts: int) -> None:
    database = db.open(must_exist=False)
    generate(database, accounts, seed=3)
    database.dispose()


def status(db: SalesDb) -> dict:  # type: ignore[type-arg]
    result = CliRunner().invoke(main, ["status", *db.args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT, env={**os.environ, **(env or {})})


def wait_until(check: object, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the command never got there"
        time.sleep(0.05)


def interrupt(proc: subprocess.Popen[str], times: int = 1) -> tuple[float, str]:
    """Send Ctrl-C; the seconds until the process ended, and its stderr."""
    sent = time.monotonic()
    for _ in range(times):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
    _, err = proc.communicate(timeout=60)
    return time.monotonic() - sent, err


def test_ctrl_c_during_run_records_interrupted_exits_130_and_resumes(sales_db: SalesDb) -> None:
    build(sales_db, 200)
    done = cli(["run", *sales_db.args, "--no-progress", "--batch-size", "50"],
               env={"P2C_FAULT_SIGINT": "contact-numbers:after-commit:2"})
    assert done.returncode == 130, done.stderr
    assert "interrupted; run the same command again to resume" in done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    doc = status(sales_db)
    steps = {s["step"]: s for s in doc["steps"]}
    assert steps["contact-numbers"]["state"] == "interrupted"
    assert steps["contact-numbers"]["rows_changed"] == 100  # the two committed batches
    assert steps["account-numbers"]["state"] == "done"
    assert doc["last_run"]["outcome"] == "interrupted"
    again = CliRunner().invoke(main, ["run", *sales_db.args, "--no-progress", "--batch-size", "50"])
    assert again.exit_code == 0, again.output
    steps = {s["step"]: s for s in status(sales_db)["steps"]}
    assert steps["contact-numbers"]["state"] == "done"
    assert query(sales_db, "SELECT count(*) FROM contact WHERE msdynce_contactnumber IS NULL")[0][0] == 0


def test_ctrl_c_during_sync_stops_at_once_and_the_rerun_resumes(sales_db: SalesDb, tmp_path: Path) -> None:
    """On SQLite the interrupted statement used to keep the write lock, so recording the sync's
    end waited the whole lock timeout (30 s) and `last_sync` stayed `running`."""
    build(sales_db, 1500)
    runner = CliRunner()
    assert runner.invoke(main, ["run", *sales_db.args, "--no-progress"]).exit_code == 0
    assert runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--no-progress"]).exit_code == 0
    target = ["--target", f"package:{tmp_path / 'pkg'}"]
    proc = start(["sync", *sales_db.args, *target, "--batch-size", "10", "--no-progress"])

    def syncing() -> bool:
        try:
            return bool(query(sales_db, "SELECT count(*) FROM p2c_sync_record")[0][0] > 30)
        except Exception:  # noqa: BLE001 - the table is not there yet, or locked a moment
            return False

    wait_until(syncing, proc)
    seconds, err = interrupt(proc)
    assert proc.returncode == 130, err
    assert seconds < QUICKLY_S, f"took {seconds:.1f} s to stop: {err}"
    assert status(sales_db)["last_sync"]["status"] == "interrupted"
    assert query(sales_db, "SELECT status FROM p2c_sync_run")[-1][0] == "interrupted"
    again = runner.invoke(main, ["sync", *sales_db.args, *target, "--no-progress", "--format", "json"])
    assert again.exit_code in (0, 3), again.output
    assert json.loads(again.stdout)["totals"]["selected"] > 0
    assert status(sales_db)["last_sync"]["status"] in ("done", "incomplete")


def holding_write_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def has_open(proc: subprocess.Popen[str], path: Path) -> bool:
    try:
        return any(os.readlink(f"/proc/{proc.pid}/fd/{fd}") == str(path)
                   for fd in os.listdir(f"/proc/{proc.pid}/fd"))
    except OSError:
        return False


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_while_waiting_for_another_session_s_lock(sqlite_db: SalesDb, presses: int) -> None:
    """Waiting inside SQLite for another session's lock, Python does not see Ctrl-C: the
    command still ends within the grace period, and a second Ctrl-C ends it at once."""
    build(sqlite_db, 20)
    assert sqlite_db.path is not None
    other = holding_write_lock(sqlite_db.path)
    try:
        proc = start(["run", *sqlite_db.args, "--no-progress", "--lock-timeout", "60"])
        wait_until(lambda: has_open(proc, sqlite_db.path), proc)  # type: ignore[arg-type]
        time.sleep(0.5)  # into the wait for the lock
        seconds, err = interrupt(proc, presses)
    finally:
        other.rollback()
        other.close()
    assert proc.returncode == 130, err
    assert seconds < QUICKLY_S, f"took {seconds:.1f} s to stop: {err}"
    assert "run the same command again to resume" in err
    assert "Traceback" not in err
