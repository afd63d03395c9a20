"""A sync killed halfway (SIGKILL) and rerun ends with the same target as one that never stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SalesDb, require_pg
from sync_fixtures import Targets, dataset, load, package_zips, read_target, sync

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys
from p2c_upgrade.config import Config
from p2c_upgrade.db.connection import open_database
from p2c_upgrade.sync import run_sync
url, schema, target = sys.argv[1], sys.argv[2] or None, sys.argv[3]
db = open_database(url, schema)
run_sync(db, target, Config(), batch_size=int(sys.argv[4]))
print("finished")
"""


def killed_sync(db: SalesDb, target: str, kill: str, batch_size: int) -> None:
    env = {**os.environ, "P2C_FAULT_KILL": kill}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, db.url, db.schema or "", target, str(batch_size)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "finished" not in proc.stdout


@pytest.mark.parametrize(("source", "kind", "kill"), [
    ("sqlite", "sqlite", "sync:before-commit:4"),  # target committed, its state not yet
    ("sqlite", "package", "sync:after-commit:6"),  # killed in the Contacts task
    ("postgresql", "postgresql", "sync:before-commit:9"),  # in the ContactToCustomer task
    ("postgresql", "package", "sync:before-commit:6"),
])
def test_killed_sync_resumes_to_the_same_target(request: pytest.FixtureRequest, tmp_path: Path,
                                                source: str, kind: str, kill: str) -> None:
    if "postgresql" in (source, kind):
        require_pg()
    sales_db: SalesDb = request.getfixturevalue("sqlite_db" if source == "sqlite" else "pg_db")
    accounts, contacts = dataset(20)
    accounts[5]["accountnumber"] = None  # a failure survives the kill too
    load(sales_db, accounts, contacts)
    made = Targets(kind, tmp_path)
    try:
        interrupted, reference = made.new(), made.new()
        killed_sync(sales_db, interrupted, kill, batch_size=5)
        resumed = sync(sales_db, interrupted, batch_size=5)
        straight = sync(sales_db, reference, batch_size=5)
        assert resumed.failed_total == straight.failed_total >= 1
        assert resumed.to_dict()["not_synchronized"] == straight.to_dict()["not_synchronized"]
        assert resumed.to_dict()["output"]["rows"] == straight.to_dict()["output"]["rows"]
        if kind == "package":
            got = [p.read_bytes() for p in package_zips(interrupted)]
            want = [p.read_bytes() for p in package_zips(reference)]
            assert got == want, "byte-identical packages"
        else:
            assert read_target(interrupted) == read_target(reference)
        # and a further sync finds nothing to do
        final = sync(sales_db, interrupted, batch_size=5)
        assert final.to_dict()["totals"]["inserted"] == final.to_dict()["totals"]["updated"] == 0
    finally:
        made.drop()
