"""`undo`: exact restore (checksum of data and schema), idempotence, conflicts, sequences, dry run."""

from __future__ import annotations

import json

from test_undo_support import build, checksum, invariants, invoke, run, schema_of, state, undo

from p2c_upgrade.undo.apply import undo_changes

from conftest import SalesDb
from helpers import execute, query, snapshot


def test_undo_of_a_complete_run_restores_the_tables_exactly_and_twice_changes_nothing(
        sales_db: SalesDb) -> None:
    build(sales_db)
    before = checksum(sales_db)
    original = state(sales_db)
    run(sales_db)
    assert checksum(sales_db) != before
    code, doc = undo(sales_db, "--run", "1")
    assert code == 0, doc
    assert doc["conflicts_total"] == 0 and doc["undo_run_id"] == 2
    assert sum(g["restored"] for g in doc["groups"]) == sum(g["total"] for g in doc["groups"]) > 0
    assert state(sales_db) == original
    assert checksum(sales_db) == before
    code, again = undo(sales_db, "--run", "1")
    assert code == 0
    assert sum(g["restored"] for g in again["groups"]) == 0
    assert all(g["already"] == g["total"] for g in again["groups"])
    assert checksum(sales_db) == before
    # the upgrade can simply run again, with the same numbers as the first time
    run(sales_db)
    invariants(sales_db)


def test_undo_can_be_undone(sales_db: SalesDb) -> None:
    build(sales_db)
    run(sales_db)
    after = state(sales_db)
    undo(sales_db, "--run", "1")
    code, doc = undo(sales_db, "--run", "2")
    assert code == 0, doc
    assert state(sales_db) == after
    invariants(sales_db)
    status = json.loads(invoke(["status", *sales_db.args, "--format", "json"]).stdout)
    states = {s["step"]: s["state"] for s in status["steps"]}
    assert states["account-numbers"] == "done" and states["company-is-account"] == "done"


def test_a_later_edit_is_reported_and_kept(sales_db: SalesDb) -> None:
    build(sales_db)
    run(sales_db)
    acc_id, acc_number = query(sales_db, "SELECT record_id, new_value FROM p2c_journal "
                                         "WHERE col = 'accountnumber' ORDER BY journal_id LIMIT 1")[0]
    con_id = query(sales_db, "SELECT record_id FROM p2c_journal WHERE col = 'msdynce_contactnumber' "
                             "ORDER BY journal_id LIMIT 1")[0][0]
    execute(sales_db, "UPDATE account SET accountnumber = 'EDITED-1' WHERE CAST(accountid AS TEXT) = :i",
            {"i": acc_id})
    execute(sales_db, "UPDATE contact SET msdynce_contactnumber = 'EDITED-2' "
                      "WHERE CAST(contactid AS TEXT) = :i", {"i": con_id})
    code, doc = undo(sales_db, "--run", "1")
    assert code == 3
    assert doc["conflicts_total"] == 2
    listed = {(c["table"], c["record_id"]): c for c in doc["conflicts"]}
    assert listed[("account", acc_id)]["current_value"] == "EDITED-1"
    assert listed[("account", acc_id)]["journaled_value"] == acc_number
    assert query(sales_db, "SELECT accountnumber FROM account WHERE CAST(accountid AS TEXT) = :i",
                 {"i": acc_id})[0][0] == "EDITED-1"
    # everything else went back; the edited contact keeps its column (and the value in it)
    assert query(sales_db, "SELECT count(*) FROM account WHERE accountnumber LIKE 'ACC-%'")[0][0] == 0
    assert query(sales_db, "SELECT msdynce_contactnumber FROM contact WHERE msdynce_contactnumber "
                           "IS NOT NULL") == [("EDITED-2",)]
    kept = {o["object"]: o for o in doc["schema"]}
    assert kept["column contact.msdynce_contactnumber"]["outcome"] == "kept"
    assert kept["column contact.msdynce_isactivecustomer"]["outcome"] == "removed"
    # the edited records no longer hold generated numbers: the sequences could go back
    assert "went from" in {s["entity"]: s for s in doc["sequences"]}["account"]["outcome"]
    # a second undo keeps them and reports them again
    code, again = undo(sales_db, "--run", "1")
    assert code == 3 and again["conflicts_total"] == 2


def test_sequence_stays_while_a_number_it_handed_out_is_still_in_use(sales_db: SalesDb) -> None:
    build(sales_db)
    run(sales_db)
    acc_id, number = query(sales_db, "SELECT record_id, new_value FROM p2c_journal "
                                     "WHERE col = 'accountnumber' ORDER BY journal_id DESC LIMIT 1")[0]
    # the same number as F&O compares it (case, trailing space): still in use
    execute(sales_db, "UPDATE account SET accountnumber = :v WHERE CAST(accountid AS TEXT) = :i",
            {"v": number.lower() + " ", "i": acc_id})
    seq_before = query(sales_db, "SELECT msdynce_numbersequence FROM msdynce_p2cautonumber "
                                 "WHERE msdynce_entityname = 'account'")[0][0]
    code, doc = undo(sales_db, "--run", "1")
    assert code == 3
    account = {s["entity"]: s for s in doc["sequences"]}["account"]
    assert "still in use" in account["outcome"] and account["after"] == seq_before
    assert "went from" in {s["entity"]: s for s in doc["sequences"]}["contact"]["outcome"]
    row = {o["object"]: o for o in doc["schema"]}["msdynce_p2cautonumber row 'account'"]
    assert row["outcome"] == "kept"
    assert query(sales_db, "SELECT msdynce_numbersequence FROM msdynce_p2cautonumber "
                           "WHERE msdynce_entityname = 'account'")[0][0] == seq_before


def test_sequence_goes_back_only_past_numbers_nobody_handed_out_later(sales_db: SalesDb) -> None:
    build(sales_db)
    run(sales_db)
    first_end = query(sales_db, "SELECT msdynce_numbersequence FROM msdynce_p2cautonumber "
                                "WHERE msdynce_entityname = 'account'")[0][0]
    execute(sales_db, "INSERT INTO account (accountid, name, statecode, createdon) VALUES "
                      "('00000000-0000-4000-8000-000000000001', 'Later', 0, '2030-01-01 00:00:00')")
    run(sales_db, "--step", "account-numbers")  # run 2 hands out one more number
    code, doc = undo(sales_db, "--run", "1")
    assert code == 0
    account = {s["entity"]: s for s in doc["sequences"]}["account"]
    assert account["after"] == first_end + 1 and "moved since" in account["outcome"]
    invariants(sales_db)
    code, doc = undo(sales_db, "--run", "2")  # the later run (run 3 was the first undo)
    assert {s["entity"]: s for s in doc["sequences"]}["account"]["after"] == first_end
    code, doc = undo(sales_db, "--run", "1")  # now nothing blocks it
    assert {s["entity"]: s for s in doc["sequences"]}["account"]["after"] == 1000
    invariants(sales_db)


def test_undo_step_and_the_status_it_leaves(sales_db: SalesDb) -> None:
    build(sales_db)
    run(sales_db)
    numbers = query(sales_db, "SELECT accountid, accountnumber FROM account ORDER BY accountid")
    code, doc = undo(sales_db, "--step", "company-is-account")
    assert code == 0 and [g["column"] for g in doc["groups"]] == ["msdynce_iscompanyanaccount"]
    assert query(sales_db, "SELECT count(*) FROM contact WHERE msdynce_iscompanyanaccount = :t",
                 {"t": True})[0][0] == 0
    assert query(sales_db, "SELECT accountid, accountnumber FROM account ORDER BY accountid") == numbers
    status = json.loads(invoke(["status", *sales_db.args, "--format", "json"]).stdout)
    states = {s["step"]: s for s in status["steps"]}
    assert states["company-is-account"]["state"] == "pending"
    assert "undone by run 2" in states["company-is-account"]["detail"]
    assert states["account-numbers"]["state"] == "done"
    verify = invoke(["verify", *sales_db.args])
    assert verify.exit_code == 3 and "company-is-account" in verify.output
    run(sales_db)
    assert invoke(["verify", *sales_db.args]).exit_code in (0, 3)
    invariants(sales_db)


def test_dry_run_writes_nothing_and_predicts_the_undo(sales_db: SalesDb) -> None:
    build(sales_db)
    run(sales_db)
    execute(sales_db, "UPDATE account SET accountnumber = 'EDITED' WHERE accountnumber = "
                      "(SELECT min(accountnumber) FROM account WHERE accountnumber LIKE 'ACC-%')")
    before, ledger = state(sales_db), query(sales_db, "SELECT count(*) FROM p2c_run")
    code, preview = undo(sales_db, "--run", "1", "--dry-run")
    assert code == 3 and preview["dry_run"] and preview["undo_run_id"] is None
    assert state(sales_db) == before and query(sales_db, "SELECT count(*) FROM p2c_run") == ledger
    code, done = undo(sales_db, "--run", "1")
    assert [(g["restored"], g["conflicts"]) for g in preview["groups"]] == \
        [(g["restored"], g["conflicts"]) for g in done["groups"]]
    assert [s["after"] for s in preview["sequences"]] == [s["after"] for s in done["sequences"]]
    assert [(o["object"], o["outcome"].replace("would be ", "")) for o in preview["schema"]] == \
        [(o["object"], o["outcome"]) for o in done["schema"]]


def test_small_batches_and_renumbered_duplicates(sales_db: SalesDb) -> None:
    build(sales_db)
    run(sales_db)
    after_run = snapshot(sales_db)
    renumber = invoke(["duplicates", *sales_db.args, "--no-progress", "--renumber"])
    assert renumber.exit_code == 0, renumber.output
    database = sales_db.open()
    try:
        result = undo_changes(database, run_id=2, batch_size=3)
    finally:
        database.dispose()
    assert result.exit_code == 0 and result.groups[0].restored == result.groups[0].total > 0
    assert snapshot(sales_db) == after_run
    invariants(sales_db)


def test_nothing_to_undo(sales_db: SalesDb) -> None:
    build(sales_db, accounts=5)
    result = invoke(["undo", *sales_db.args, "--run", "1"])
    assert result.exit_code == 1 and "nothing to undo" in result.stderr
    run(sales_db, "--no-journal")
    result = invoke(["undo", *sales_db.args, "--run", "7"])
    assert result.exit_code == 2 and "run 7 is not in the ledger" in result.stderr
    result = invoke(["undo", *sales_db.args, "--run", "1"])
    assert result.exit_code == 0 and "--no-journal" in result.stdout
    assert invoke(["undo", *sales_db.args]).exit_code == 2
    assert schema_of(sales_db)["contact"]["columns"][-1][0] == "msdynce_iscompanyanaccount"
