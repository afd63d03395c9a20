"""active-customers and company-is-account against a plain-Python oracle, on generated data."""

from __future__ import annotations

import uuid

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p2c_upgrade.cli import main

from conftest import SalesDb
from helpers import execute, query

TYPES = st.sampled_from(["account", "contact", "Contact", "garbage", None])
DOC_TABLES = ("quote", "salesorder", "invoice")
STATES = {"quote": 4, "salesorder": 5, "invoice": 4}  # every state code: Draft..Closed, Canceled, ...


@st.composite
def sales_data(draw: st.DrawFn) -> dict:
    accounts = [str(uuid.UUID(int=draw(st.integers(1, 2**64)) + i * 2**80)) for i in range(draw(st.integers(0, 4)))]
    n_contacts = draw(st.integers(1, 8))
    contacts = [str(uuid.UUID(int=(i + 1) * 2**96 + draw(st.integers(0, 999)))) for i in range(n_contacts)]
    dangling = str(uuid.UUID(int=7))
    refs = st.sampled_from(accounts + contacts + [dangling, None])
    contact_rows = [
        {"id": cid, "parent": draw(refs), "ptype": draw(TYPES), "pre_active": draw(st.booleans())}
        for cid in contacts
    ]
    docs = [
        {"table": draw(st.sampled_from(DOC_TABLES)), "customer": draw(refs), "ctype": draw(TYPES),
         "state": draw(st.integers(0, 4))}
        for _ in range(draw(st.integers(0, 10)))
    ]
    for doc in docs:
        doc["state"] %= STATES[doc["table"]]
    return {"accounts": accounts, "contacts": contact_rows, "docs": docs}


def oracle(data: dict) -> dict[str, tuple[bool, bool]]:
    out = {}
    for c in data["contacts"]:
        has_docs = any(d["customer"] == c["id"] and d["ctype"] == "contact" for d in data["docs"])
        out[c["id"]] = (c["pre_active"] or has_docs, c["parent"] is not None and c["ptype"] == "account")
    return out


def load(db: SalesDb, data: dict) -> None:
    for table in (*DOC_TABLES, "contact", "account"):
        execute(db, f"DELETE FROM {table}")
    for aid in data["accounts"]:
        execute(db, "INSERT INTO account (accountid, name, statecode) VALUES (:i, 'a', 0)", {"i": aid})
    for c in data["contacts"]:
        execute(db, "INSERT INTO contact (contactid, lastname, parentcustomerid, parentcustomeridtype, statecode, "
                    "msdynce_isactivecustomer) VALUES (:i, 'x', :p, :t, 0, :a)",
                {"i": c["id"], "p": c["parent"], "t": c["ptype"], "a": c["pre_active"]})
    for n, d in enumerate(data["docs"]):
        execute(db, f"INSERT INTO {d['table']} ({d['table']}id, customerid, customeridtype, statecode) "
                    "VALUES (:i, :c, :t, :s)",
                {"i": str(uuid.UUID(int=2**120 + n)), "c": d["customer"], "t": d["ctype"], "s": d["state"]})


def test_flags_match_the_oracle(sales_db: SalesDb) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["run", *sales_db.args, "--no-progress", "--step", "prepare"]).exit_code == 0

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(sales_data())
    def check(data: dict) -> None:
        load(sales_db, data)
        result = runner.invoke(main, ["run", *sales_db.args, "--no-progress", "--batch-size", "3",
                                      "--step", "active-customers", "--step", "company-is-account"])
        assert result.exit_code == 0, result.output
        got = {str(r[0]): (bool(r[1]), bool(r[2])) for r in query(
            sales_db, "SELECT contactid, msdynce_isactivecustomer, msdynce_iscompanyanaccount FROM contact")}
        assert got == oracle(data)

    check()


def test_named_cases(sales_db: SalesDb) -> None:
    """The cases the issue names, spelled out."""
    a, c_inv, c_cancel, c_child, c_pre, c_none = (str(uuid.UUID(int=i)) for i in range(1, 7))
    data = {
        "accounts": [a],
        "contacts": [
            {"id": c_inv, "parent": a, "ptype": "account", "pre_active": False},      # only an invoice
            {"id": c_cancel, "parent": None, "ptype": None, "pre_active": False},     # a canceled order
            {"id": c_child, "parent": c_inv, "ptype": "contact", "pre_active": False},  # parent is a contact
            {"id": c_pre, "parent": None, "ptype": None, "pre_active": True},         # active, no activity
            {"id": c_none, "parent": None, "ptype": None, "pre_active": False},
        ],
        "docs": [
            {"table": "invoice", "customer": c_inv, "ctype": "contact", "state": 2},
            {"table": "salesorder", "customer": c_cancel, "ctype": "contact", "state": 2},
            {"table": "quote", "customer": a, "ctype": "account", "state": 0},
        ],
    }
    runner = CliRunner()
    assert runner.invoke(main, ["run", *sales_db.args, "--no-progress", "--step", "prepare"]).exit_code == 0
    load(sales_db, data)
    assert runner.invoke(main, ["run", *sales_db.args, "--no-progress"]).exit_code == 0
    got = {str(r[0]): (bool(r[1]), bool(r[2])) for r in query(
        sales_db, "SELECT contactid, msdynce_isactivecustomer, msdynce_iscompanyanaccount FROM contact")}
    assert got == {c_inv: (True, True), c_cancel: (True, False), c_child: (False, False),
                   c_pre: (True, False), c_none: (False, False)}
