"""Records F&O rejects are recorded per record with F&O's message; fixed in Sales, only they are
sent again. The preflight would have caught most of these before the upload, so it is switched
off here (`no_preflight`): the environment changed between the preflight and the import."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import actions, fno_config, fno_sync, record_states
from conftest import SalesDb
from sync_fixtures import account, contact, execute, load, uid


@pytest.fixture
def no_preflight(monkeypatch: pytest.MonkeyPatch) -> None:
    from p2c_upgrade.fno import preflight

    monkeypatch.setattr(preflight, "check", lambda *args: [])


def _setup_without_france() -> Any:
    from fno_standin import FnoSetup
    from fno_standin.environment import iso_countries

    return FnoSetup(countries=tuple(c for c in iso_countries() if c.iso_code != "FR"))


def test_rejected_records_are_recorded_then_only_they_are_sent_again(
        sales_db: SalesDb, start_fno: Any, no_preflight: None) -> None:
    from p2c_upgrade.config import FieldSpec

    fno = start_fno(setup=_setup_without_france())
    load(sales_db, [account(0), account(1, address1_city="40"), account(2, address1_city="GBP")],
         [contact(0, parent=uid("account", 1), parent_type="account"),   # its customer fails
          contact(1, parent=uid("account", 0), parent_type="account"),
          contact(2, parent=uid("account", 0), parent_type="account", address1_country="France")])
    cfg = fno_config()
    # customer group and currency from Sales columns, so that one record can carry a bad one
    cfg.task_fields = {"Accounts": {
        "CUSTOMERGROUPID": FieldSpec(source="address1_city", value_map="group", default="10"),
        "SALESCURRENCYCODE": FieldSpec(source="address1_city", value_map="currency",
                                       default="USD")}}
    cfg.value_maps = {"group": {"Seattle": "10", "GBP": "10"},
                      "currency": {"Seattle": "USD", "40": "USD"}}
    summary = fno_sync(sales_db, fno, cfg)
    doc = summary.to_dict()
    assert summary.exit_code == 3 and doc["failed_total"] == 4, doc
    states = record_states(sales_db)
    group = states[uid("account", 1)]
    assert group[:2] == ("failed", "fno_rejected") and "Customer group" in group[2]
    assert "Currency" in states[uid("account", 2)][2]
    assert "Customers" in states[uid("contact", 0)][2], "a contact person whose customer is missing"
    assert "'FR'" in states[uid("contact", 2)][2]
    assert states[uid("account", 0)][0] == "synced" and states[uid("contact", 1)][0] == "synced"
    listed = {f["id"]: f["reason"] for t in doc["tasks"] for f in t["failures"]}
    assert listed == dict.fromkeys([uid("account", 1), uid("account", 2), uid("contact", 0),
                                    uid("contact", 2)], "fno_rejected")

    # fixed in Sales: only the four go again, in one new import
    execute(sales_db, "UPDATE account SET address1_city = 'Seattle' WHERE accountid <> :i",
            i=uid("account", 0))
    execute(sales_db, "UPDATE contact SET address1_country = 'Germany'")
    before = len(actions(fno, "ImportFromPackage"))
    fixed = fno_sync(sales_db, fno, cfg)
    totals = fixed.to_dict()["totals"]
    assert fixed.exit_code == 0, fixed.to_dict()
    assert totals["unchanged"] == 2 and totals["inserted"] + totals["updated"] == 4
    assert len(actions(fno, "ImportFromPackage")) == before + 1
    assert len(fno.customers()) == 3 and len(fno.contact_persons()) == 3


def test_a_number_sequence_that_refuses_given_numbers(sqlite_db: SalesDb, start_fno: Any,
                                                      no_preflight: None) -> None:
    from fno_standin import FnoSetup

    fno = start_fno(setup=FnoSetup().with_sequence(manual=False, to_higher=False))
    load(sqlite_db, [account(0)], [contact(0, parent=uid("account", 0), parent_type="account")])
    summary = fno_sync(sqlite_db, fno)
    assert summary.exit_code == 3
    states = record_states(sqlite_db)
    assert "doesn't allow change to a higher number" in states[uid("account", 0)][2]
    assert states[uid("contact", 0)][0] == "failed"
    assert fno.customers() == []
