"""A record whose key changed after it synchronized: the next sync writes it under the new key
and takes its row under the old key away (database target and package), unless another record
has taken that key over."""

from __future__ import annotations

from pathlib import Path

from conftest import SalesDb
from sync_fixtures import (
    Targets,
    account,
    contact,
    customers_by_key,
    execute,
    load,
    package_zips,
    read_target,
    sync,
    uid,
    zip_csv_rows,
)


def _renumber(db: SalesDb, i: int, number: str) -> None:
    execute(db, "UPDATE account SET accountnumber = :n WHERE accountid = :id",
            n=number, id=uid("account", i))


def test_a_renumbered_account_leaves_no_row_under_its_old_key(sales_db: SalesDb,
                                                              tmp_path: Path) -> None:
    load(sales_db, [account(0), account(1)],
         [contact(0, parent=uid("account", 1), parent_type="account")])
    target = Targets("sqlite", tmp_path).new()
    sync(sales_db, target)
    _renumber(sales_db, 1, "ACC-00001-NEW")
    again = sync(sales_db, target)
    assert again.exit_code == 0
    customers = customers_by_key(target)
    assert sorted(customers) == ["ACC-00000-AAAAAA", "ACC-00001-NEW"]
    assert customers["ACC-00001-NEW"]["p2c_source_id"] == uid("account", 1)
    person = read_target(target)["fno_contact_persons"][0]
    assert "ACC-00001-NEW" in person  # the contact person follows its account
    assert sync(sales_db, target).to_dict()["totals"]["unchanged"] == 3


def test_two_accounts_that_swap_numbers_keep_both_rows(sales_db: SalesDb,
                                                       tmp_path: Path) -> None:
    load(sales_db, [account(0), account(1)], [])
    target = Targets("sqlite", tmp_path).new()
    sync(sales_db, target)
    _renumber(sales_db, 0, "SWAP")
    _renumber(sales_db, 1, "ACC-00000-AAAAAA")
    _renumber(sales_db, 0, "ACC-00001-AAAAAA")
    sync(sales_db, target)
    customers = customers_by_key(target)
    assert {k: v["p2c_source_id"] for k, v in customers.items()} == {
        "ACC-00000-AAAAAA": uid("account", 1), "ACC-00001-AAAAAA": uid("account", 0)}


def test_a_package_drops_the_old_key_of_a_renumbered_account(sales_db: SalesDb,
                                                             tmp_path: Path) -> None:
    load(sales_db, [account(0), account(1)], [])
    target = f"package:{tmp_path / 'pkg'}"
    sync(sales_db, target)
    _renumber(sales_db, 0, "ACC-00000-NEW")
    sync(sales_db, target)
    (zip_path,) = package_zips(target)
    rows = zip_csv_rows(zip_path, "Customers V2.csv")
    keys = sorted(r[0] for r in rows[1:])
    assert keys == ["ACC-00000-NEW", "ACC-00001-AAAAAA"]
