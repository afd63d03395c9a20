"""The sync engine on SQLite and PostgreSQL Sales databases: routing, defaults, state, reruns,
failures and their reasons, the duplicates gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from p2c_upgrade.config import parse_config
from p2c_upgrade.errors import BlockedError, P2CError
from p2c_upgrade.sync import iter_failures, last_run
from p2c_upgrade.sync.summary import SUMMARY_VERSION

from conftest import SalesDb
from sync_fixtures import (
    Targets,
    account,
    contact,
    customers_by_key,
    execute,
    load,
    read_target,
    sync,
    uid,
)


@pytest.fixture
def sqlite_targets(tmp_path: Path) -> Targets:
    return Targets("sqlite", tmp_path)


def task(summary: object, name: str) -> dict:
    return next(t for t in summary.to_dict()["tasks"] if t["task"] == name)  # type: ignore[attr-defined]


def test_routing_follows_the_contract(sales_db: SalesDb, sqlite_targets: Targets) -> None:
    acc = uid("account", 0)
    other = uid("contact", 99)
    contacts = []
    # (active, parent kind) -> expected route
    cases = {
        (True, "account"): "customer", (True, "contact"): "customer", (True, None): "customer",
        (False, "account"): "person", (False, "contact"): "parent_is_contact",
        (False, None): "no_parent",
    }
    for n, (active, kind) in enumerate(cases):
        parent = {"account": acc, "contact": other, None: None}[kind]
        contacts.append(contact(n, parent=parent, parent_type=kind, active=active))
    contacts.append(contact(99))  # the contact parent: inactive, no company
    # a stale flag: company is an account but IsCompanyAnAccount is No
    contacts.append(contact(50, parent=acc, parent_type="account", flag=False))
    load(sales_db, [account(0)], contacts)
    target = sqlite_targets.new()
    summary = sync(sales_db, target)

    customers = customers_by_key(target)
    persons = {r[1]: r for r in read_target(target)["fno_contact_persons"]}
    for n, (active, kind) in enumerate(cases):
        number = f"CON-{n:05d}-BBBBBB"
        route = cases[(active, kind)]
        assert (number in customers) == (route == "customer"), (active, kind)
        assert (number in persons) == (route == "person"), (active, kind)
        if route == "customer":
            assert customers[number]["partytype"] == "Person"
    assert customers["ACC-00000-AAAAAA"]["partytype"] == "Organization"
    assert task(summary, "Accounts")["selected"] == 1
    assert task(summary, "Contacts")["selected"] == 1
    assert task(summary, "ContactToCustomer")["selected"] == 3
    assert task(summary, "Contacts")["skipped_reasons"] == {
        "no_parent": 2, "parent_is_contact": 1, "company_not_flagged": 1}
    assert summary.to_dict()["not_synchronized"] == {
        "company_not_flagged": 1, "no_parent": 2, "parent_is_contact": 1}
    assert summary.exit_code == 0 and summary.failed_total == 0
    person = persons["CON-00003-BBBBBB"]
    assert "ACC-00000-AAAAAA" in person  # ASSOCIATEDCONTACTNUMBER: the parent's customer


def test_second_sync_writes_nothing_and_reports_everything_unchanged(
        sales_db: SalesDb, sqlite_targets: Targets) -> None:
    load(sales_db, [account(i) for i in range(5)],
         [contact(i, parent=uid("account", i % 5), parent_type="account", active=i % 2 == 0)
          for i in range(10)])
    target = sqlite_targets.new()
    first = sync(sales_db, target, batch_size=3)
    assert first.to_dict()["totals"]["inserted"] == 15
    before = read_target(target)
    state_before = _state(sales_db)
    second = sync(sales_db, target, batch_size=3)
    totals = second.to_dict()["totals"]
    assert totals == {"selected": 15, "inserted": 0, "updated": 0, "unchanged": 15,
                      "skipped": 0, "failed": 0}
    assert read_target(target) == before
    assert _state(sales_db) == state_before
    assert second.exit_code == 0


def _state(db: SalesDb) -> list[tuple]:
    engine = db.engine()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT task, source_id, status, key_value, fingerprint, reason, updated_at "
            "FROM p2c_sync_record ORDER BY task, source_id")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_failed_parent_fails_its_contact_persons_and_a_rerun_retries_them(
        sales_db: SalesDb, sqlite_targets: Targets) -> None:
    bad = account(1, address1_country="Atlantis")
    load(sales_db, [account(0), bad],
         [contact(0, parent=uid("account", 1), parent_type="account"),
          contact(1, parent=uid("account", 0), parent_type="account")])
    target = sqlite_targets.new()
    summary = sync(sales_db, target)
    doc = summary.to_dict()
    assert summary.exit_code == 3 and summary.failed_total == 2
    assert task(summary, "Accounts")["failures"] == [{
        "id": uid("account", 1), "number": "ACC-00001-AAAAAA", "reason": "unknown_country",
        "detail": task(summary, "Accounts")["failures"][0]["detail"]}]
    failure = task(summary, "Contacts")["failures"][0]
    assert failure["id"] == uid("contact", 0) and failure["reason"] == "parent_not_synchronized"
    assert "unknown_country" in failure["detail"] and "ACC-00001-AAAAAA" in failure["detail"]
    assert doc["not_synchronized"] == {"parent_not_synchronized": 1, "unknown_country": 1}
    assert doc["hint"] and "sync" in doc["hint"]
    assert "sync" in summary.to_text() and "parent_not_synchronized" in summary.to_text()
    assert {f["reason"] for f in iter_failures(sales_db.open(), _target_id(target))} == {
        "unknown_country", "parent_not_synchronized"}

    again = sync(sales_db, target)  # nothing fixed: same failures, nothing written
    assert again.to_dict()["totals"]["inserted"] == 0 and again.failed_total == 2

    execute(sales_db, "UPDATE account SET address1_country = 'Canada' WHERE accountid = :i",
            i=uid("account", 1))
    fixed = sync(sales_db, target)
    assert fixed.exit_code == 0 and fixed.failed_total == 0
    assert task(fixed, "Accounts")["inserted"] == 1 and task(fixed, "Accounts")["unchanged"] == 1
    assert task(fixed, "Contacts")["inserted"] == 1 and task(fixed, "Contacts")["unchanged"] == 1
    assert customers_by_key(target)["ACC-00001-AAAAAA"]["addresscountryregionisocode"] == "CA"
    run = last_run(sales_db.open())
    assert run and run["status"] == "done" and run["summary"]["version"] == SUMMARY_VERSION


def _target_id(target: str) -> str:
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT target_id FROM p2c_target")).scalar_one()
    engine.dispose()
    return str(found)


def test_defaults_and_value_maps_from_the_configuration(
        sales_db: SalesDb, sqlite_targets: Targets) -> None:
    load(sales_db, [account(0, address1_country="Deutschland"), account(1, address1_country=None),
                    account(2, address1_country="Narnia")], [])
    cfg = parse_config({"sync": {"defaults": {"CUSTOMERGROUPID": "77"},
                                 "value_maps": {"country": {"Deutschland": "DEU"}}}})
    target = sqlite_targets.new()
    summary = sync(sales_db, target, cfg)
    rows = customers_by_key(target)
    assert rows["ACC-00000-AAAAAA"]["addresscountryregionisocode"] == "DE"
    assert rows["ACC-00001-AAAAAA"]["addresscountryregionisocode"] == "US"
    assert {r["customergroupid"] for r in rows.values()} == {"77"}
    assert "ACC-00002-AAAAAA" not in rows
    assert task(summary, "Accounts")["failed_reasons"] == {"unknown_country": 1}
    assert summary.exit_code == 3


def test_keys_are_compared_as_fno_compares_them(sales_db: SalesDb, sqlite_targets: Targets
                                                ) -> None:
    load(sales_db, [account(0, accountnumber="ACC-1")],
         [contact(0, active=True, msdynce_contactnumber="acc-1 "),
          contact(1, active=True, msdynce_contactnumber="CON-7"),
          contact(2, active=True, msdynce_contactnumber="con-7")])
    target = sqlite_targets.new()
    summary = sync(sales_db, target)
    failures = task(summary, "ContactToCustomer")["failures"]
    assert sorted(f["reason"] for f in failures) == ["key_conflict", "key_conflict"]
    ids = {f["id"] for f in failures}
    assert uid("contact", 0) in ids and len(ids & {uid("contact", 1), uid("contact", 2)}) == 1
    assert sorted(customers_by_key(target), key=str.lower) in (
        ["ACC-1", "CON-7"], ["ACC-1", "con-7"])
    # a change of case is the same F&O key: an update, not a second customer
    execute(sales_db, "UPDATE account SET accountnumber = 'acc-1' WHERE accountid = :i",
            i=uid("account", 0))
    again = sync(sales_db, target)
    assert task(again, "Accounts")["updated"] == 1
    assert sorted(customers_by_key(target), key=str.lower)[0] == "acc-1"


def test_duplicate_account_numbers_block_and_nothing_is_written(
        sales_db: SalesDb, sqlite_targets: Targets) -> None:
    load(sales_db, [account(0, accountnumber="ACC-1"), account(1, accountnumber="acc-1 ")], [])
    target = sqlite_targets.new()
    with pytest.raises(BlockedError) as err:
        sync(sales_db, target)
    assert err.value.exit_code == 3 and "duplicates" in err.value.message
    assert not Path(target.removeprefix("sqlite:///")).exists()
    engine = sales_db.engine()
    with engine.connect() as conn:
        assert not sa.inspect(conn).has_table("p2c_sync_record")
    engine.dispose()


def test_sync_before_the_upgrade_names_the_missing_columns(
        sales_db: SalesDb, sqlite_targets: Targets) -> None:
    with pytest.raises(P2CError) as err:
        sync(sales_db, sqlite_targets.new())
    assert "msdynce_contactnumber" in err.value.message
    assert "msdynce_isactivecustomer" in err.value.message
    assert "p2c-upgrade run" in err.value.message


def test_names_only_with_personal_data(sqlite_db: SalesDb, sqlite_targets: Targets) -> None:
    sales_db = sqlite_db
    load(sales_db, [account(0, accountnumber=None, name="Secret Corp")],
         [contact(0, active=True, firstname=None, lastname=None),
          contact(1, active=True, address1_country="Atlantis", firstname="Zed", lastname="Q")])
    target = sqlite_targets.new()
    plain = json.dumps(sync(sales_db, target).to_dict())
    assert "Secret Corp" not in plain and "Zed" not in plain
    shown = sync(sales_db, target, show_personal_data=True)
    text = json.dumps(shown.to_dict()) + shown.to_text()
    assert "Secret Corp" in text and "Zed Q" in text


def test_password_never_appears(sqlite_db: SalesDb) -> None:
    sales_db = sqlite_db
    load(sales_db, [account(0)], [])
    with pytest.raises(P2CError) as err:
        sync(sales_db, "postgresql://someone:s3cr3t-pw@127.0.0.1:1/nowhere")
    assert "s3cr3t-pw" not in err.value.message


def test_a_bad_target_is_one_clear_error(sqlite_db: SalesDb, tmp_path: Path) -> None:
    sales_db = sqlite_db
    load(sales_db, [account(0)], [])
    with pytest.raises(P2CError):
        sync(sales_db, "mysql://x@y/z")
    (tmp_path / "file").write_text("x")
    with pytest.raises(P2CError, match="not a directory"):
        sync(sales_db, f"package:{tmp_path / 'file'}")
