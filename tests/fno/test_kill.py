"""A real kill: `p2c-upgrade sync --target fno:…` in a child process, SIGKILLed while it polls an
import F&O holds in Executing; the rerun follows the SAME execution (one ImportFromPackage in the
stand-in's log for that package) and ends with every record synchronized."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .helpers import actions, record_states
from conftest import SalesDb
from sync_fixtures import account, contact, load, uid

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")


def _command(db: SalesDb, cfg: Path, fno: Any) -> list[str]:
    return [sys.executable, "-m", "p2c_upgrade", *db.args, "--config", str(cfg), "--no-progress",
            "sync", "--target", f"fno:{fno.url}", "--format", "json"]


def _wait_for(predicate: Any, what: str, proc: subprocess.Popen[str], limit: float = 60) -> None:
    end = time.monotonic() + limit
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"the sync ended ({proc.returncode}) before {what}: {proc.communicate()}")
        if time.monotonic() > end:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _imports(db: SalesDb) -> list[tuple[str, str]]:
    engine = db.engine()
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT execution_id, state FROM p2c_fno_import "
                                    "ORDER BY import_id")).all()
    engine.dispose()
    return [(r[0], r[1]) for r in rows]


def test_sigkill_while_polling_then_rerun_follows_the_same_execution(
        sales_db: SalesDb, fno: Any, tmp_path: Path) -> None:
    load(sales_db, [account(0), account(1), account(2)],
         [contact(0, parent=uid("account", 0), parent_type="account")])
    cfg = tmp_path / "p2c.toml"
    cfg.write_text('[fno]\nlegal_entity = "USMF"\npoll_interval = 0.05\ntimeout = 60\n', "utf-8")
    env = dict(os.environ)  # P2C_FNO_TOKEN: the fno_token fixture

    fno.faults.hold_imports()
    proc = subprocess.Popen(_command(sales_db, cfg, fno), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: any(e["status"] == "Executing" for e in fno.executions()),
                  "F&O shows the import Executing", proc)
        polls = len([r for r in fno.requests if "GetExecutionSummaryStatus" in r["path"]])
        _wait_for(lambda: len([r for r in fno.requests
                               if "GetExecutionSummaryStatus" in r["path"]]) > polls + 1,
                  "the sync polls", proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    [held] = fno.executions()
    assert held["status"] == "Executing"
    assert _imports(sales_db) == [(held["id"], "requested")], "the id was recorded before the request"
    assert {s for s, _, _ in record_states(sales_db).values()} == {"pending"}
    status = _status(sales_db)
    assert status["fno_imports"] == [{"package": "p2c-initial-sync-01.zip", "execution_id": held["id"],
                                      "state": "requested", "fno_status": "Executing",
                                      "finished_at": None}]

    fno.faults.release_imports()
    rerun = subprocess.run(_command(sales_db, cfg, fno), env=env, text=True, capture_output=True,
                           timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert len(actions(fno, "ImportFromPackage")) == 1, "the same package is never imported twice"
    [execution] = fno.executions()
    assert execution["id"] == held["id"] and execution["status"] == "Succeeded"
    assert _imports(sales_db) == [(held["id"], "applied")]
    assert {s for s, _, _ in record_states(sales_db).values()} == {"synced"}
    assert len(fno.customers()) == 3 and len(fno.contact_persons()) == 1
    summary = json.loads(rerun.stdout)
    assert summary["totals"]["failed"] == 0
    [shown] = _status(sales_db)["fno_imports"]
    assert (shown["execution_id"], shown["state"], shown["fno_status"]) == (held["id"], "applied", "Succeeded")
    table = subprocess.run([sys.executable, "-m", "p2c_upgrade", *sales_db.args, "status"],
                           text=True, capture_output=True, timeout=60)
    assert table.returncode == 0 and held["id"] in table.stdout and "Succeeded" in table.stdout


def _status(db: SalesDb) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-m", "p2c_upgrade", *db.args, "status", "--format",
                             "json"], text=True, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc
