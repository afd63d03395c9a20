"""Every data-quality problem planted in a test database appears in the plan with its count
and its records; a clean database reports none."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from test_plan_support import execute, plan_json, run

from p2c_upgrade.db.lock import UpgradeLock
from p2c_upgrade.db.schema import sales_metadata
from p2c_upgrade.plan import build_plan, findings, routing

from conftest import SalesDb


def ids(prefix: str, n: int) -> list[str]:
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}{i}")) for i in range(n)]


A = ids("account", 9)
C = ids("contact", 7)
D = ids("document", 5)
GONE = ids("missing", 2)


def insert(db: SalesDb, rows: dict[str, list[dict[str, Any]]]) -> None:
    md = sales_metadata()
    engine = db.engine()
    with engine.begin() as conn:
        for table, values in rows.items():
            conn.execute(md.tables[table].insert(), values)
    engine.dispose()


def account(i: int, number: str | None, country: str | None, year: int = 2020) -> dict[str, Any]:
    return {"accountid": A[i], "name": f"Company {i}", "accountnumber": number,
            "address1_country": country, "address1_city": "Berlin", "statecode": 0,
            "createdon": _date(year, i)}


def contact(i: int, parent: str | None, ptype: str | None, country: str | None
            ) -> dict[str, Any]:
    return {"contactid": C[i], "firstname": "Ann", "lastname": f"Lee{i}",
            "parentcustomerid": parent, "parentcustomeridtype": ptype, "address1_country": country, "statecode": 0,
            "createdon": _date(2021, i)}


def document(table: str, i: int, customer: str | None, ctype: str | None) -> dict[str, Any]:
    return {f"{table}id": D[i], "customerid": customer, "customeridtype": ctype, "statecode": 0,
            "createdon": _date(2022, i)}


def _date(year: int, i: int) -> dt.datetime:
    return dt.datetime(year, 1, 1 + i, 12, 0, 0)


def plant(db: SalesDb) -> None:
    if db.kind == "postgresql":  # Sales says varchar(20); plant what a looser column holds
        execute(db, "ALTER TABLE account ALTER COLUMN accountnumber TYPE varchar(40)")
    insert(db, {
        "account": [
            account(0, None, "Germany"),
            account(1, "DUP-1", "France", 2019), account(2, "dup-1", "France", 2021),
            account(3, "ACC/1", "Canada"), account(4, "A+B", "Canada"),
            account(5, "X" * 25, "USA"),
            account(6, None, ""), account(7, None, None), account(8, None, "Atlantis"),
        ],
        "contact": [
            contact(0, A[0], "account", "Germany"),      # active (salesorder): ContactToCustomer
            contact(1, GONE[0], "account", "Germany"),   # parent missing; Contacts route
            contact(2, GONE[1], "contact", "Narnia"),    # parent missing; not synchronized
            contact(3, C[0], "lead", "Germany"),         # parent type unknown
            contact(4, None, None, "   "),               # active (quote): blank country counts
            contact(5, None, None, "Narnia"),            # not synchronized: not counted
            contact(6, A[0], "account", "Mordor"),       # Contacts route: unknown country
        ],
        "quote": [document("quote", 0, C[4], "contact"), document("quote", 1, GONE[0], "account")],
        "invoice": [document("invoice", 2, None, None)],
        "salesorder": [document("salesorder", 3, A[0], "systemuser"),
                       document("salesorder", 4, C[0], "contact")],
        "organization": [{"organizationid": ids("org", 1)[0], "issopintegrationenabled": False}],
    })


def counts(doc: dict[str, Any]) -> dict[str, int]:
    return {f["code"]: f["count"] for f in doc["findings"]}


def finding(doc: dict[str, Any], code: str) -> dict[str, Any]:
    return next(f for f in doc["findings"] if f["code"] == code)


def test_planted_problems_are_reported_with_their_counts(sales_db: SalesDb) -> None:
    plant(sales_db)
    doc = plan_json(sales_db)
    assert counts(doc) == {
        "colliding_account_numbers": 1,
        "account_number_too_long": 1,
        "account_number_bad_characters": 2,
        "contact_parent_missing": 2,
        "contact_parent_type_unknown": 1,
        "document_customer_missing": 2,
        "document_customer_type_unknown": 1,
        "blank_country": 3,
        "unknown_country": 2,
    }
    severities = [f["severity"] for f in doc["findings"]]
    assert severities == sorted(severities)  # "blocker" < "warning": blockers first
    assert doc["has_blockers"]
    assert {e["id"] for e in finding(doc, "contact_parent_missing")["examples"]} == {C[1], C[2]}
    assert finding(doc, "document_customer_missing")["by_table"] == {"quote": 1, "invoice": 1}
    assert {e["id"] for e in finding(doc, "document_customer_missing")["examples"]} == {D[1], D[2]}
    assert finding(doc, "blank_country")["by_table"] == {"account": 2, "contact": 1}
    assert {e["value"] for e in finding(doc, "unknown_country")["examples"]} == {"Atlantis",
                                                                                "Mordor"}
    assert {e["value"] for e in finding(doc, "account_number_bad_characters")["examples"]} == {
        "ACC/1", "A+B"}
    group = doc["duplicates"]["groups"][0]["members"]
    assert [(m["id"], m["kind"], m["keeps"]) for m in group] == [(A[1], "kept", True),
                                                                  (A[2], "case", False)]
    assert "name" not in group[0]
    assert plan_json(sales_db, "--show-personal-data")["duplicates"]["groups"][0]["members"][0][
        "name"] == "Company 1"
    # Routing and the flags.
    tasks = {t["task"]: t["rows"] for t in doc["sync"]["tasks"]}
    assert tasks == {"Accounts": 9, "Contacts": 2, "ContactToCustomer": 2}
    unsynced = {u["reason"]: u["rows"] for u in doc["sync"]["not_synchronized"]}
    assert unsynced == {"no_parent": 1, "parent_is_contact": 1, "parent_type_unknown": 1}
    assert doc["active_customers"] == {"contacts": 2,
                                       "via": {"quote": 1, "salesorder": 1, "invoice": 0}}
    assert doc["company_is_account"]["false_to_true"] == 3


def test_problems_of_a_prepared_database(sales_db: SalesDb, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    plant(sales_db)
    run(sales_db, "--step", "prepare")
    if sales_db.kind == "postgresql":
        execute(sales_db, "ALTER TABLE contact ALTER COLUMN msdynce_contactnumber TYPE varchar(40)")
    for cid, number in ((C[0], "C-1"), (C[1], "c-1 "), (C[2], "CON:3"), (C[3], "Y" * 25)):
        execute(sales_db, "UPDATE contact SET msdynce_contactnumber = :n WHERE contactid = :i",
                {"n": number, "i": cid})
    execute(sales_db, "UPDATE msdynce_p2cautonumber SET msdynce_suffixlength = 16 "
                      "WHERE msdynce_entityname = 'account'")
    execute(sales_db, "UPDATE msdynce_p2cautonumber SET msdynce_suffixlength = 99 "
                      "WHERE msdynce_entityname = 'contact'")
    monkeypatch.setattr(routing, "ROW_LIMIT", 3)
    db = sales_db.open(read_only=True)
    try:
        with UpgradeLock(db, "run"):
            plan = build_plan(db, None)
    finally:
        db.dispose()
    got = {f.code: f.count for f in plan.findings}
    assert got == {
        "colliding_account_numbers": 1, "colliding_contact_numbers": 1,
        "account_number_too_long": 1, "account_number_bad_characters": 2,
        "contact_number_too_long": 1, "contact_number_bad_characters": 1,
        "sequence_invalid": 1, "number_too_long": 1,
        "contact_parent_missing": 2, "contact_parent_type_unknown": 1,
        "document_customer_missing": 2, "document_customer_type_unknown": 1,
        "blank_country": 3, "unknown_country": 2, "sync_task_over_limit": 1,
        "run_in_progress": 1,
    }
    assert [f.code for f in plan.findings] == [c for c in findings.KINDS if c in got]
    steps = {s.step: s for s in plan.steps}
    assert steps["contact-numbers"].status == "blocked" and steps["contact-numbers"].changes is None
    assert steps["account-numbers"].status == "blocked" and plan.numbers[0].longest == 26
    assert steps["prepare"].status == "nothing to do"


def test_a_clean_database_reports_no_findings(sales_db: SalesDb) -> None:
    insert(sales_db, {
        "account": [account(0, None, "Germany"), account(1, "CUST-1", "US"),
                    account(2, None, "France")],
        "contact": [contact(0, A[0], "account", "DE"), contact(1, None, None, "Canada"),
                    contact(2, C[0], "contact", None)],  # not synchronized: country unchecked
        "quote": [document("quote", 0, C[1], "contact"), document("quote", 1, A[1], "account")],
        "salesorder": [document("salesorder", 2, A[2], "account")],
        "invoice": [document("invoice", 3, C[0], "contact")],
    })
    doc = plan_json(sales_db)
    assert doc["findings"] == [] and not doc["has_blockers"]
    assert doc["duplicates"] == {"group_count": 0, "record_count": 0, "groups": []}
    run(sales_db)
    after = plan_json(sales_db)
    assert after["findings"] == [] and after["nothing_to_do"] and after["state"] == "upgraded"
