"""Hostile values in what the tool prints and writes (issue 13, items 9-12): formulas in the
plan csv, control characters in every format and in the sync summary, a value one target
cannot store."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from pathlib import Path

from click.testing import CliRunner, Result
from test_hostile import account as sales_account
from test_hostile import insert

from p2c_upgrade.cli import main
from p2c_upgrade.plan.changes import FORMULA_STARTS
from p2c_upgrade.sync.targets import DatabaseTarget

from conftest import SalesDb
from sync_fixtures import Targets, account, contact, customers_by_key, load, uid

#: control characters other than the newline that ends a line of output
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def test_the_plan_csv_neutralises_formulas(sales_db: SalesDb) -> None:
    numbers = ["\t", "\t ", "\r\n"]  # blank: run renumbers them, so the list shows them
    rows = [sales_account(i, v) for i, v in enumerate(numbers)]
    if sales_db.kind == "sqlite":  # free-text primary keys
        rows += [dict(sales_account(10 + i, None), accountid=v)
                 for i, v in enumerate(["=HYPERLINK(\"http://x\")", "+1+2", "-3", "@SUM(A1)"])]
    insert(sales_db, "account", rows)
    result = invoke(["plan", *sales_db.args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    cells = [c for row in csv.reader(io.StringIO(result.stdout, newline="")) for c in row]
    assert cells and not [c for c in cells if c.startswith(FORMULA_STARTS)]
    assert "'\t" in cells
    if sales_db.kind == "sqlite":
        assert {"'=HYPERLINK(\"http://x\")", "'+1+2", "'-3", "'@SUM(A1)"} <= set(cells)


def test_every_plan_format_escapes_control_characters(sales_db: SalesDb, tmp_path: Path
                                                      ) -> None:
    evil = "Evil\r# VERDICT: no blockers\r\x1b[2J\u202e"
    insert(sales_db, "account", [sales_account(1, "ACC-1", name=evil),
                                 sales_account(2, "acc-1", name=evil)])
    for fmt in ("table", "markdown", "html"):
        result = invoke(["plan", *sales_db.args, "--format", fmt, "--show-personal-data"])
        assert result.exit_code == 3, result.output
        assert "Evil" in result.stdout  # the name is shown, escaped
        assert not CONTROL.findall(result.stdout), (fmt, CONTROL.findall(result.stdout))
        assert r"Evil\r#" in result.stdout.replace("\\#", "#"), fmt


def test_the_sync_summary_escapes_control_characters(sales_db: SalesDb, tmp_path: Path) -> None:
    load(sales_db, [account(1, accountnumber="ACC-1\x1b[31m", name="Acme\x1b]0;owned\x07 Ltd",
                            address1_country="Atlantis"),
                    account(2, accountnumber="ACC-2\r\u202eX", address1_country="Atlantis")], [])
    target = f"sqlite:///{tmp_path / 'fno.db'}"
    for extra in ([], ["--show-personal-data"]):
        result = invoke(["sync", *sales_db.args, "--no-progress", "--target", target, *extra])
        assert result.exit_code == 3, result.output
        assert "unknown_country" in result.stdout
        assert not CONTROL.findall(result.stdout), CONTROL.findall(result.stdout)
        assert r"ACC-1\x1b[31m" in result.stdout and r"ACC-2\r\u202eX" in result.stdout
    assert r"Acme\x1b]0;owned\x07 Ltd" in result.stdout


def test_a_record_the_target_cannot_store_fails_alone(tmp_path: Path, sqlite_db: SalesDb) -> None:
    """One NUL in one name: PostgreSQL text cannot hold it (SQLite Sales can)."""
    accounts = [account(i) for i in range(6)]
    accounts[3]["name"] = "Null\x00Byte Ltd"
    load(sqlite_db, accounts, [contact(1, parent=uid("account", 1), parent_type="account")])
    targets = Targets("postgresql", tmp_path)
    try:
        target = targets.new()
        args = ["sync", *sqlite_db.args, "--no-progress", "--target", target, "--format", "json"]
        for _ in range(2):  # and a rerun retries it alone, with the same outcome
            result = invoke(args)
            assert result.exit_code == 3, result.output
            assert '"failed_total": 1' in result.stdout and uid("account", 3) in result.stdout
            assert "target_rejected" in result.stdout and "NUL" in result.stdout
            written = customers_by_key(target)
            assert len(written) == 5 and "ACC-00003-AAAAAA" not in written
    finally:
        targets.drop()


def test_a_row_a_sqlite_target_rejects_fails_alone(sales_db: SalesDb, tmp_path: Path) -> None:
    load(sales_db, [account(i) for i in range(7)], [])
    fno = tmp_path / "fno.db"
    DatabaseTarget.open(f"sqlite:///{fno}").close()
    with sqlite3.connect(fno) as conn:  # the target refuses one row on its data
        conn.execute("CREATE TRIGGER p2c_test_refuse BEFORE INSERT ON fno_customers "
                     "WHEN NEW.customeraccount = 'ACC-00004-AAAAAA' "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the target'); END")
    result = invoke(["sync", *sales_db.args, "--no-progress", "--target", f"sqlite:///{fno}",
                     "--batch-size", "3"])
    assert result.exit_code == 3, result.output
    assert uid("account", 4) in result.stdout and "refused by the target" in result.stdout
    assert len(customers_by_key(f"sqlite:///{fno}")) == 6
