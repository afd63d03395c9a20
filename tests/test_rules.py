"""One set of rules: blank and key equality (rules/keys.py), which task selects a contact and why
none does (sync/selection.py), who keeps a shared key (sync/keys.py), and refusals caused by the
data exiting 3; each through `run`, `plan`, `duplicates` and the sync, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from p2c_upgrade.cli import main
from p2c_upgrade.db import sqlfiles
from p2c_upgrade.rules.keys import BLANK_CHARS, dataverse_key, fno_key, is_blank, sql_params

from conftest import SalesDb
from sync_fixtures import account, contact, execute, load, uid

NBSP, IDEOGRAPHIC, ZWSP = "\u00a0", "\u3000", "\u200b"


def at(year: int) -> dt.datetime:
    return dt.datetime(year, 1, 1)


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def plan_json(db: SalesDb) -> dict[str, Any]:
    result = invoke(["plan", *db.args, "--format", "json"])
    assert result.exit_code in (0, 3), result.output
    return json.loads(result.stdout)


def rows(db: SalesDb, sql: str, **params: Any) -> list[Any]:
    engine = db.engine()
    with engine.connect() as conn:
        out = conn.execute(sa.text(sql), params).all()
    engine.dispose()
    return out


# -- 2. blank and key equality ------------------------------------------------------------------

HOSTILE = ["ACC-9", "ACC-9 ", f"ACC-9{NBSP}", f"ACC-9{IDEOGRAPHIC}\t", " ACC-9", "acc-9",
           "ÀCC-9", "àcc-9", "MÜLLER", "muller", "ΣΊΣΥΦΟΣ", "σίσυφος", "Straße", "İSTANBUL",
           f"A{ZWSP}", "x\x1fy", NBSP, IDEOGRAPHIC, ZWSP, f" {NBSP}\t{IDEOGRAPHIC}", "", "Ǆ", "ǆ"]


def test_the_sql_computes_blank_and_both_keys_exactly_as_python(sales_db: SalesDb) -> None:
    """The SQL gets its character lists from rules/keys.py: equal on every hostile value."""
    load(sales_db, [account(i, accountnumber=v) for i, v in enumerate(HOSTILE)], [])
    database = sales_db.open()
    try:
        exprs = sqlfiles.key_sql(database.dialect, "accountnumber")
        sql = (f"SELECT accountnumber, {exprs['is_blank']}, {exprs['dataverse_key']}, "
               f"{exprs['fno_key']} FROM account")
        with database.engine.connect() as conn:
            got = conn.execute(sa.text(sql), sql_params()).all()
    finally:
        database.dispose()
    assert len(got) == len(HOSTILE)
    for value, blank, dv, fno in got:
        assert bool(blank) == is_blank(value), repr(value)
        assert dv == dataverse_key(value), repr(value)
        assert fno == fno_key(value), repr(value)


def test_the_definitions() -> None:
    assert {NBSP, IDEOGRAPHIC, ZWSP, "\ufeff", " ", "\t"} <= set(BLANK_CHARS)
    assert is_blank(NBSP) and is_blank(IDEOGRAPHIC) and is_blank(f"{ZWSP} ")
    assert dataverse_key(f"ACC-9{NBSP}") == dataverse_key("acc-9") == dataverse_key("ÀCC-9")
    assert fno_key(f"ACC-9{IDEOGRAPHIC}") == fno_key("acc-9") != fno_key("ÀCC-9")
    assert fno_key(" ACC-9") != fno_key("ACC-9")  # leading blanks are part of the key
    for a in HOSTILE:  # keys equal for F&O are equal for Dataverse: the gate is never laxer
        for b in HOSTILE:
            if fno_key(a) == fno_key(b):
                assert dataverse_key(a) == dataverse_key(b), (a, b)


def test_numbers_that_are_only_unicode_blanks_are_planned_numbered_and_synced(
        sales_db: SalesDb, tmp_path: Path) -> None:
    blanks = [NBSP, IDEOGRAPHIC, ZWSP, f" {NBSP}\t{IDEOGRAPHIC}"]
    load(sales_db, [account(i, accountnumber=v) for i, v in enumerate(blanks)]
         + [account(9)], [contact(i, msdynce_contactnumber=v) for i, v in enumerate(blanks)])
    steps = {s["step"]: s for s in plan_json(sales_db)["steps"]}
    assert steps["account-numbers"]["changes"] == len(blanks)
    assert steps["contact-numbers"]["changes"] == len(blanks)
    run = invoke(["run", *sales_db.args, "--no-progress"])
    assert run.exit_code == 0, run.output
    numbers = sorted(n for _, n in rows(sales_db, "SELECT accountid, accountnumber FROM account"))
    assert numbers[0] == "ACC-00009-AAAAAA" and all(n.startswith("ACC-0100") for n in numbers[1:])
    assert not [n for _, n in rows(sales_db, "SELECT contactid, msdynce_contactnumber FROM contact")
                if is_blank(n)]
    target = f"sqlite:///{tmp_path / 'fno.db'}"
    synced = invoke(["sync", *sales_db.args, "--no-progress", "--target", target,
                     "--format", "json"])
    summary = json.loads(synced.stdout)
    failed = {r: n for t in summary["tasks"] for r, n in t["failed_reasons"].items()}
    assert "missing_key" not in failed, failed
    assert synced.exit_code == 0, synced.output


def test_a_trailing_no_break_space_collides_in_the_gate_and_in_duplicates(
        sales_db: SalesDb, tmp_path: Path) -> None:
    load(sales_db, [account(1, accountnumber="ACC-9", createdon=at(2020)),
                    account(2, accountnumber=f"ACC-9{NBSP}", createdon=at(2021))], [])
    listed = invoke(["duplicates", *sales_db.args, "--format", "json"])
    assert listed.exit_code == 3, listed.output
    groups = json.loads(listed.stdout)["groups"]
    assert len(groups) == 1 and [m["kind"] for m in groups[0]["members"]] == ["kept",
                                                                              "trailing space"]
    assert [f["code"] for f in plan_json(sales_db)["findings"]
            if f["code"] == "colliding_account_numbers"]
    fno = tmp_path / "fno.db"
    result = invoke(["run", *sales_db.args, "--no-progress", "--target", f"sqlite:///{fno}"])
    assert result.exit_code == 3, result.output
    assert "duplicates --renumber" in result.stderr  # the gate, not the sync's key_conflict
    status = json.loads(invoke(["status", *sales_db.args, "--format", "json"]).stdout)
    states = {s["step"]: s["state"] for s in status["steps"]}
    assert states["duplicate-account-numbers"] == "blocked"
    assert states["initial-sync"] == "blocked"
    assert not fno.exists() or fno.stat().st_size == 0


# -- 3. skip reasons: the sync as plan -----------------------------------------------------------

UNKNOWN_TYPES = ["lead", "Account", "ACCOUNT", "", None, "systemuser"]


def test_contacts_whose_parent_type_is_unknown_are_skipped_as_plan_says(
        sales_db: SalesDb, tmp_path: Path) -> None:
    parent = uid("account", 0)
    cons = [contact(i, parent=parent, parent_type=t, flag=False)
            for i, t in enumerate(UNKNOWN_TYPES)]
    cons += [contact(10, parent=uid("contact", 11), parent_type="contact"),
             contact(11), contact(12, parent=parent, parent_type="account")]
    load(sales_db, [account(0)], cons)
    unsynced = {u["reason"]: u["rows"] for u in plan_json(sales_db)["sync"]["not_synchronized"]}
    assert unsynced == {"no_parent": 1, "parent_is_contact": 1,
                        "parent_type_unknown": len(UNKNOWN_TYPES)}
    target = f"sqlite:///{tmp_path / 'fno.db'}"
    synced = invoke(["sync", *sales_db.args, "--no-progress", "--target", target,
                     "--format", "json"])
    assert synced.exit_code == 0, synced.output
    skipped: dict[str, int] = {}
    for t in json.loads(synced.stdout)["tasks"]:
        for reason, n in t["skipped_reasons"].items():
            skipped[reason] = skipped.get(reason, 0) + n
    assert skipped == unsynced


# -- 4. key ownership follows the current data ------------------------------------------------

OLDEST, MIDDLE, NEWEST = ("00000000-0000-4000-8000-000000000003",
                          "00000000-0000-4000-8000-000000000002",
                          "00000000-0000-4000-8000-000000000001")  # the newest sorts first


def contact_persons(target: str) -> dict[str, str]:
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        found = conn.execute(sa.text(
            "SELECT contactpersonid, p2c_source_id FROM fno_contact_persons")).all()
    engine.dispose()
    return {str(k): str(v) for k, v in found}


def sync_json(db: SalesDb, target: str) -> tuple[int, dict[str, Any]]:
    result = invoke(["sync", *db.args, "--no-progress", "--target", target, "--format", "json"])
    assert result.exit_code in (0, 3), result.output
    tasks = {t["task"]: t for t in json.loads(result.stdout)["tasks"]}
    return result.exit_code, tasks["Contacts"]


def test_the_oldest_keeps_a_shared_key_and_the_first_sync_after_the_fix_writes_it(
        sales_db: SalesDb, tmp_path: Path) -> None:
    parent = uid("account", 0)
    holders = [(OLDEST, "CON-7", at(2019)), (MIDDLE, "con-7", at(2020)),
               (NEWEST, "CON-7 ", at(2021))]
    load(sales_db, [account(0)], [
        contact(i, parent=parent, parent_type="account", contactid=cid, msdynce_contactnumber=n,
                createdon=when) for i, (cid, n, when) in enumerate(holders)])
    target = f"sqlite:///{tmp_path / 'fno.db'}"
    code, task = sync_json(sales_db, target)
    assert code == 3
    assert {f["id"]: f["reason"] for f in task["failures"]} == {MIDDLE: "key_conflict",
                                                                NEWEST: "key_conflict"}
    assert all(OLDEST in f["detail"] for f in task["failures"])
    assert contact_persons(target) == {"CON-7": OLDEST}
    # The runbook's fix: clear the two newer numbers, run again (they get new numbers), sync.
    execute(sales_db, "UPDATE contact SET msdynce_contactnumber = NULL WHERE contactid IN "
                      "(:a, :b)", a=MIDDLE, b=NEWEST)
    assert invoke(["run", *sales_db.args, "--no-progress"]).exit_code == 0
    code, task = sync_json(sales_db, target)
    assert code == 0 and task["failed"] == 0, task
    persons = contact_persons(target)
    assert persons["CON-7"] == OLDEST and sorted(persons.values()) == sorted([OLDEST, MIDDLE,
                                                                              NEWEST])


def test_after_a_sync_a_renumbered_holder_no_longer_blocks_the_oldest(
        sales_db: SalesDb, tmp_path: Path) -> None:
    """The stale case: the newest wrote the key once (its number was the only one), then the
    oldest gets the number and the newest a new one: one sync writes both right."""
    parent = uid("account", 0)
    load(sales_db, [account(0)], [
        contact(0, parent=parent, parent_type="account", contactid=OLDEST,
                msdynce_contactnumber="CON-1", createdon=at(2019)),
        contact(1, parent=parent, parent_type="account", contactid=NEWEST,
                msdynce_contactnumber="CON-7", createdon=at(2021))])
    target = f"sqlite:///{tmp_path / 'fno.db'}"
    assert sync_json(sales_db, target)[0] == 0
    execute(sales_db, "UPDATE contact SET msdynce_contactnumber = :n WHERE contactid = :i",
            n="con-7", i=OLDEST)
    execute(sales_db, "UPDATE contact SET msdynce_contactnumber = :n WHERE contactid = :i",
            n="CON-8", i=NEWEST)
    code, task = sync_json(sales_db, target)
    assert code == 0 and task["failed"] == 0, task
    persons = contact_persons(target)
    assert persons["con-7"] == OLDEST and persons["CON-8"] == NEWEST


# -- 6. refusals caused by the data exit 3 -----------------------------------------------------

@pytest.mark.parametrize("column, value", [("msdynce_suffixlength", 17),
                                           ("msdynce_numbersequence", -1)])
def test_an_unusable_sequence_row_blocks_run_with_exit_3(sales_db: SalesDb, column: str,
                                                         value: int) -> None:
    load(sales_db, [account(0, accountnumber=None)], [])
    assert invoke(["run", *sales_db.args, "--no-progress", "--step", "prepare"]).exit_code == 0
    execute(sales_db, f"UPDATE msdynce_p2cautonumber SET {column} = :v", v=value)
    result = invoke(["run", *sales_db.args, "--no-progress"])
    assert result.exit_code == 3, result.output
    assert "msdynce_p2cautonumber" in result.stderr and "Traceback" not in result.output
