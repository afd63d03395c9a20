"""The plan's verdict gives the order that works (`run`, then `duplicates --renumber`, then
`sync`), and `duplicates --renumber` on an untouched database refuses before creating anything."""

from __future__ import annotations

import json

import sqlalchemy as sa
from click.testing import CliRunner
from test_plan_support import build

from p2c_upgrade.cli import main

from conftest import SalesDb
from helpers import snapshot


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def tables(db: SalesDb) -> set[str]:
    engine = db.engine()
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names(schema=db.schema))
    finally:
        engine.dispose()


def test_verdict_gives_the_order_that_works(sqlite_db: SalesDb) -> None:
    build(sqlite_db, accounts=40)
    code, out, _ = invoke("plan", *sqlite_db.args, "--format", "json")
    assert code == 3
    doc = json.loads(out)
    order = "`p2c-upgrade run`, then `p2c-upgrade duplicates --renumber`, then `p2c-upgrade sync`"
    assert order in doc["verdict"]
    action = next(f["action"] for f in doc["findings"] if f["code"] == "colliding_account_numbers")
    assert action.index("p2c-upgrade run") < action.index("duplicates --renumber") < action.index("sync")


def test_renumber_on_an_untouched_database_refuses_and_creates_nothing(sales_db: SalesDb) -> None:
    build(sales_db, accounts=40)
    before, names = snapshot(sales_db), tables(sales_db)
    code, out, err = invoke("duplicates", *sales_db.args, "--renumber", "--no-progress")
    assert code == 3, out + err
    assert "run `p2c-upgrade run` first" in err and "nothing was written" in err
    assert tables(sales_db) == names and not any(n.startswith("p2c_") for n in names)
    assert snapshot(sales_db) == before
    # the order the message gives works
    assert invoke("run", *sales_db.args, "--no-progress")[0] == 0
    code, out, err = invoke("duplicates", *sales_db.args, "--renumber", "--no-progress")
    assert code == 0, out + err


def test_a_step_without_prepare_refuses_before_the_ledger_exists(sqlite_db: SalesDb) -> None:
    build(sqlite_db, accounts=20)
    code, _, err = invoke("run", *sqlite_db.args, "--step", "account-numbers", "--no-progress")
    assert code == 3 and "prepare" in err
    assert not any(n.startswith("p2c_") for n in tables(sqlite_db))
