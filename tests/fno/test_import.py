"""Importing the initial sync into F&O (the stand-in): clean import, per-record rejections and
the rerun that sends only what failed or changed."""

from __future__ import annotations

from typing import Any

from .helpers import actions, fno_sync, record_states
from conftest import SalesDb
from sync_fixtures import account, contact, load, uid


def test_clean_import_then_nothing_to_send(sales_db: SalesDb, fno: Any) -> None:
    load(sales_db, [account(0), account(1, address1_country=None)],
         [contact(0, parent=uid("account", 0), parent_type="account"),
          contact(1, active=True, address1_country="France")])
    summary = fno_sync(sales_db, fno)
    doc = summary.to_dict()
    assert summary.exit_code == 0, doc
    assert doc["totals"]["inserted"] == 4 and doc["totals"]["failed"] == 0
    assert sorted(c["CustomerAccount"] for c in fno.customers()) == [
        "ACC-00000-AAAAAA", "ACC-00001-AAAAAA", "CON-00001-BBBBBB"]
    assert [p["ContactPersonId"] for p in fno.contact_persons()] == ["CON-00000-BBBBBB"]
    assert [i["status"] for i in doc["output"]["imports"]] == ["Succeeded"]
    assert {s for s, _, _ in record_states(sales_db).values()} == {"synced"}

    again = fno_sync(sales_db, fno)
    assert again.exit_code == 0 and again.to_dict()["totals"]["unchanged"] == 4
    assert len(actions(fno, "ImportFromPackage")) == 1, "nothing new: no second import"
