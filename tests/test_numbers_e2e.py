"""Numbers as the contract says, on SQLite and PostgreSQL, checked against the Python reference."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from p2c_upgrade.cli import main
from p2c_upgrade.rules.keys import dataverse_key as fold
from p2c_upgrade.rules.number_format import format_number, suffix_for

from conftest import SalesDb
from helpers import execute, query

T0 = datetime(2020, 1, 1)


def ids(n: int, ns: str = "a") -> list[str]:
    return [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ns}{i}")) for i in range(n)]


def add_accounts(db: SalesDb, rows: list[tuple[str, str | None, datetime | None]]) -> None:
    for accountid, number, created in rows:
        execute(db, "INSERT INTO account (accountid, name, accountnumber, statecode, createdon) "
                    "VALUES (:i, :n, :a, 0, :c)", {"i": accountid, "n": "Acme", "a": number, "c": created})


def run(db: SalesDb, *extra: str) -> None:
    result = CliRunner().invoke(main, ["run", *db.args, "--no-progress", "--batch-size", "3", *extra])
    assert result.exit_code == 0, result.output


def numbers(db: SalesDb) -> dict[str, str]:
    return {str(r[0]): r[1] for r in query(db, "SELECT accountid, accountnumber FROM account")}


def test_oldest_first_from_1000_existing_kept_blank_is_missing(sales_db: SalesDb) -> None:
    a = ids(7)
    add_accounts(sales_db, [
        (a[0], None, T0 + timedelta(days=5)),
        (a[1], "KEEP-1", T0),
        (a[2], "", T0 + timedelta(days=1)),
        (a[3], "   ", T0 + timedelta(days=3)),
        (a[4], None, T0 + timedelta(days=3)),  # same createdon as a[3]: key breaks the tie
        (a[5], None, None),  # undated: last
        (a[6], None, T0 + timedelta(days=2)),
    ])
    run(sales_db, "--step", "prepare", "--step", "account-numbers")
    got = numbers(sales_db)
    assert got[a[1]] == "KEEP-1"
    tie = sorted([a[3], a[4]])
    order = [a[2], a[6], *tie, a[0], a[5]]
    expected = {rid: format_number("ACC", 1000 + i, suffix_for(rid, "", 6)) for i, rid in enumerate(order)}
    assert {k: got[k] for k in order} == expected
    assert got[a[2]].startswith("ACC-01000-")
    seq = query(sales_db, "SELECT msdynce_numbersequence FROM msdynce_p2cautonumber "
                          "WHERE msdynce_entityname = 'account'")[0][0]
    assert seq == 1000 + len(order)


def test_existing_sequence_row_continues_and_padding_grows(sales_db: SalesDb) -> None:
    a = ids(3)
    add_accounts(sales_db, [(rid, None, T0 + timedelta(days=i)) for i, rid in enumerate(a)])
    run(sales_db, "--step", "prepare")
    execute(sales_db, "UPDATE msdynce_p2cautonumber SET msdynce_numbersequence = 99999 "
                      "WHERE msdynce_entityname = 'account'")
    run(sales_db)
    got = numbers(sales_db)
    assert [got[r].rsplit("-", 1)[0] for r in a] == ["ACC-99999", "ACC-100000", "ACC-100001"]


def test_sequence_row_at_5000_continues_at_5000(sales_db: SalesDb) -> None:
    a = ids(2)
    add_accounts(sales_db, [(rid, None, T0 + timedelta(days=i)) for i, rid in enumerate(a)])
    execute(sales_db, "CREATE TABLE msdynce_p2cautonumber (msdynce_entityname VARCHAR(64) PRIMARY KEY, "
                      "msdynce_prefix VARCHAR(3), msdynce_numbersequence INTEGER, msdynce_suffixlength INTEGER)")
    execute(sales_db, "INSERT INTO msdynce_p2cautonumber VALUES ('account', 'ACC', 5000, 6)")
    run(sales_db)
    got = numbers(sales_db)
    assert got[a[0]].startswith("ACC-05000-") and got[a[1]].startswith("ACC-05001-")
    contact_seq = query(sales_db, "SELECT msdynce_numbersequence FROM msdynce_p2cautonumber "
                                  "WHERE msdynce_entityname = 'contact'")
    assert contact_seq == [(1000,)]


def test_generated_numbers_never_repeat_existing_ones_as_fno_compares(sales_db: SalesDb) -> None:
    a = ids(5)
    add_accounts(sales_db, [
        (a[0], "acc-01000-zzzzzz", T0),        # looks generated: 1000 is taken (case-insensitive)
        (a[1], "ÀCC-01002-QQQQQQ  ", T0),      # accent and trailing spaces: 1002 is taken
        (a[2], None, T0 + timedelta(days=1)),
        (a[3], None, T0 + timedelta(days=2)),
        (a[4], None, T0 + timedelta(days=3)),
    ])
    run(sales_db)
    got = numbers(sales_db)
    assert [got[r].split("-")[1] for r in a[2:]] == ["01001", "01003", "01004"]
    folded = [fold(v) for v in got.values()]
    assert len(folded) == len(set(folded))


def test_contact_numbers_and_salt(sales_db: SalesDb, tmp_path: pytest.TempPathFactory) -> None:
    c = ids(4, "c")
    for i, cid in enumerate(c):
        execute(sales_db, "INSERT INTO contact (contactid, lastname, statecode, createdon) VALUES (:i, 'X', 0, :c)",
                {"i": cid, "c": T0 + timedelta(hours=i)})
    config = tmp_path / "p2c.toml"  # type: ignore[operator]
    config.write_text('[numbers]\nsalt = "pepper"\n')
    result = CliRunner().invoke(main, ["run", *sales_db.args, "--config", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    got = {str(r[0]): r[1] for r in query(sales_db, "SELECT contactid, msdynce_contactnumber FROM contact")}
    assert got == {cid: format_number("CON", 1000 + i, suffix_for(cid, "pepper", 6)) for i, cid in enumerate(c)}
