"""A pull or a push killed (SIGKILL) mid-way, then run again: the pull continues from its last
committed page and ends equal to an uninterrupted pull; the push ends in the same org state as an
uninterrupted push with nothing applied twice (each record PATCHed successfully once; replays of
writes whose answer was lost are recognised through 412 and a re-read). SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from p2c_upgrade.dataverse import local, state
from p2c_upgrade.dataverse.tables import table_specs
from p2c_upgrade.db import open_database
from p2c_upgrade.rules.number_format import seqpart

from .dvhelp import cli, org_numbers

CLI = [str(Path(sys.executable).with_name("p2c-upgrade"))]
pytestmark = pytest.mark.slow


@pytest.fixture
def config(tmp_path: Path) -> str:
    """Small pages and batches, so a kill can land between pages and between batches."""
    path = tmp_path / "p2c.toml"
    path.write_text("[dataverse]\npage_size = 40\nbatch_size = 40\nconcurrency = 2\n")
    return str(path)


def run_cli(sales_db, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, *args, *sales_db.args, "--no-progress"], env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def killed_by_fault(sales_db, fault: str, *args: str) -> None:
    proc = run_cli(sales_db, *args, env={"P2C_FAULT_KILL": fault})
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err


def killed_after_requests(org, sales_db, n: int, *args: str) -> None:
    """SIGKILL the command once the org has received `n` more requests (wherever it is then)."""
    start = org.next_request_number
    proc = run_cli(sales_db, *args)
    deadline = time.monotonic() + 300
    while proc.poll() is None and org.next_request_number < start + n and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.kill()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"ended before the kill: {err}"


def dump(db) -> dict[str, Any]:
    """The working tables pull fills, and its bookkeeping, as comparable text."""
    out: dict[str, Any] = {}
    with db.engine.connect() as conn:
        for spec in table_specs(True):
            t = local.table(spec, conn)
            cols = local.local_columns(spec) if spec.local_key is None else list(spec.columns)
            rows = conn.execute(sa.select(*[t.c[c] for c in cols])).all()
            out[spec.name] = sorted(
                tuple(str(local.canon_local(spec, c, v)).lower() for c, v in zip(cols, row, strict=True))
                for row in rows)
        out["records"] = sorted(tuple(r) for r in conn.execute(sa.select(
            state.records.c.tbl, state.records.c.record_id, state.records.c.etag, state.records.c.pulled,
            state.records.c.org_id)))
        out["pulls"] = sorted((r.tbl, r.state, int(r.records)) for r in conn.execute(sa.select(state.pulls)))
    return out


ENTITY_SETS = ("organizations", "msdynce_p2cautonumbers", "accounts", "contacts", "quotes", "salesorders",
               "invoices")


def page_reads(org) -> int:
    return len([r for r in org.requests if r.method == "GET" and r.path in ENTITY_SETS])


class Reference:
    """An uninterrupted pull of the same org into a SQLite file."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.args = ["--db", self.url]


@pytest.mark.parametrize("nth_page", [3, 14])           # in the accounts; in the contacts
def test_pull_killed_continues(org, sales_db, config, tmp_path, nth_page):
    reference = Reference(tmp_path / "reference.db")
    org.clear_requests()
    code, _, err = cli(reference, "pull", "--from", org.url, "--config", config)
    assert code == 0, err
    pages = page_reads(org)
    ref_db = open_database(reference.url, None)
    expected = dump(ref_db)
    ref_db.dispose()

    killed_by_fault(sales_db, f"pull:after-commit:{nth_page}", "pull", "--from", org.url, "--config", config)
    org.clear_requests()
    code, out, err = cli(sales_db, "pull", "--from", org.url, "--config", config)
    assert code == 0, err
    assert page_reads(org) == pages - nth_page          # continued from the last committed page
    db = sales_db.open()
    try:
        assert dump(db) == expected
    finally:
        db.dispose()


def test_refresh_pull_killed_after_the_moved_sequence_still_withdraws(org, sales_db, config):
    assert cli(sales_db, "pull", "--from", org.url, "--config", config)[0] == 0
    assert cli(sales_db, "run")[0] == 0
    org.create_as_user("account", {"name": "created in Sales meanwhile"})     # the sequence moves on
    killed_by_fault(sales_db, "pull:after-commit:2", "pull", "--from", org.url, "--config", config)
    code, out, err = cli(sales_db, "pull", "--from", org.url, "--config", config)
    assert code == 0 and "unpushed numbers withdrawn" in out, err + out
    assert cli(sales_db, "run")[0] == 0
    code, out, err = cli(sales_db, "push", "--config", config)
    assert code == 0, err + out
    accounts, _, _ = org_numbers(org)
    generated = [n for n in (seqpart(a, "ACC") for a in accounts) if n is not None]
    assert all(accounts) and len(set(accounts)) == len(accounts) and len(set(generated)) == len(generated)


# push ---------------------------------------------------------------------------------------

def org_state(org) -> dict[str, Any]:
    accounts = org.sql("SELECT accountid, accountnumber FROM account ORDER BY accountid")
    contacts = org.sql("SELECT contactid, msdynce_contactnumber, msdynce_isactivecustomer, "
                       "msdynce_iscompanyanaccount FROM contact ORDER BY contactid")
    seq = org.sql("SELECT msdynce_entityname, msdynce_numbersequence FROM msdynce_p2cautonumber")
    return {"account": [tuple(r.values()) for r in accounts], "contact": [tuple(r.values()) for r in contacts],
            "sequence": sorted(tuple(r.values()) for r in seq)}


def working_state(sales_db) -> dict[str, Any]:
    """What the org must hold after a complete push: the working copy's values."""
    db = sales_db.open()
    try:
        with db.engine.connect() as conn:
            accounts = conn.execute(sa.text("SELECT accountid, accountnumber FROM account")).all()
            contacts = conn.execute(sa.text(
                "SELECT contactid, msdynce_contactnumber, msdynce_isactivecustomer, msdynce_iscompanyanaccount "
                "FROM contact")).all()
            seq = conn.execute(sa.text(
                "SELECT msdynce_entityname, msdynce_numbersequence FROM msdynce_p2cautonumber")).all()
    finally:
        db.dispose()
    return {"account": sorted((str(a).lower(), n) for a, n in accounts),
            "contact": sorted((str(c).lower(), n, int(bool(x)), int(bool(y))) for c, n, x, y in contacts),
            "sequence": sorted((e, int(n)) for e, n in seq)}


def applied_once(org) -> None:
    """Each record PATCHed successfully at most once over every push; replays were 412s."""
    ok = [r.path for r in org.requests if r.method == "PATCH" and r.batch is not None and r.status < 300]
    assert len(ok) == len(set(ok))


@pytest.mark.parametrize("kill", ["push:before-commit:2", "push:after-commit:3", "requests:4", "requests:9"])
def test_push_killed_then_rerun(org, sales_db, config, kill):
    assert cli(sales_db, "pull", "--from", org.url, "--config", config)[0] == 0
    assert cli(sales_db, "run")[0] == 0
    org.clear_requests()
    if kill.startswith("requests:"):
        killed_after_requests(org, sales_db, int(kill.split(":")[1]), "push", "--config", config)
    else:
        killed_by_fault(sales_db, kill, "push", "--config", config)
    code, out, err = cli(sales_db, "push", "--config", config)
    assert code == 0, err + out
    state_after = org_state(org)
    expected = working_state(sales_db)
    assert sorted(state_after["account"]) == expected["account"]
    assert sorted((c, n, int(x), int(y)) for c, n, x, y in state_after["contact"]) == expected["contact"]
    assert state_after["sequence"] == expected["sequence"]
    applied_once(org)
    org.clear_requests()
    code, out, _ = cli(sales_db, "push", "--config", config)
    assert code == 0 and [r for r in org.requests if r.method != "GET"] == []
