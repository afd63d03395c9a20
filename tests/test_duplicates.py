"""The duplicates gate and its resolution, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from click.testing import CliRunner

from p2c_upgrade.cli import main
from p2c_upgrade.rules.keys import dataverse_key as fold

from conftest import SalesDb
from helpers import execute, query

T0 = datetime(2021, 6, 1)

PLANTED = [
    # (number, days after T0); each pair collides in one way
    ("DUP-1", 0), ("DUP-1", 1),            # exact
    ("abc-7", 0), ("ABC-7", 2),            # case
    ("MÜLLER-1", 0), ("MULLER-1", 3),      # accent
    ("X-9", 0), ("X-9   ", 4),             # trailing space
    ("UNIQUE-1", 0), (None, 0), ("", 0), ("  ", 0), (None, 1),  # never collide
]


def plant(db: SalesDb) -> list[str]:
    ids = []
    for i, (number, days) in enumerate(PLANTED):
        rid = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"dup{i}"))
        ids.append(rid)
        execute(db, "INSERT INTO account (accountid, name, accountnumber, statecode, createdon) "
                    "VALUES (:i, 'n', :a, 0, :c)", {"i": rid, "a": number, "c": T0 + timedelta(days=days)})
    return ids


def test_duplicates_finds_every_kind_and_renumber_resolves(sales_db: SalesDb) -> None:
    ids = plant(sales_db)
    runner = CliRunner()
    listed = runner.invoke(main, ["duplicates", *sales_db.args, "--format", "json"])
    assert listed.exit_code == 3, listed.output
    groups = json.loads(listed.output)["groups"]
    assert len(groups) == 4
    kinds = sorted(m["kind"] for g in groups for m in g["members"] if not m["keeps"])
    assert kinds == ["accent", "case", "exact", "trailing space"]
    keepers = {m["id"] for g in groups for m in g["members"] if m["keeps"]}
    assert keepers == {ids[0], ids[2], ids[4], ids[6]}  # the oldest of each pair

    table = runner.invoke(main, ["duplicates", *sales_db.args])
    assert table.exit_code == 3 and "trailing space" in table.output

    assert runner.invoke(main, ["run", *sales_db.args, "--no-progress", "--step", "prepare"]).exit_code == 0
    fixed = runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--no-progress"])
    assert fixed.exit_code == 0, fixed.output
    assert "renumbered 4 accounts" in fixed.output
    numbers = {str(r[0]): r[1] for r in query(sales_db, "SELECT accountid, accountnumber FROM account")}
    assert [numbers[ids[i]] for i in (0, 2, 4, 6)] == ["DUP-1", "abc-7", "MÜLLER-1", "X-9"]
    renumbered = [numbers[ids[i]] for i in (1, 3, 5, 7)]
    assert [n.split("-")[:2] for n in renumbered] == [["ACC", "01000"], ["ACC", "01001"],
                                                       ["ACC", "01002"], ["ACC", "01003"]]
    assert numbers[ids[9]] is None and numbers[ids[10]] == ""  # untouched until account-numbers
    journal = query(sales_db, "SELECT old_value, new_value FROM p2c_journal WHERE step = 'duplicates-renumber' "
                                "AND tbl = 'account'")
    assert sorted(r[0] for r in journal) == sorted(["DUP-1", "ABC-7", "MULLER-1", "X-9   "])
    again = runner.invoke(main, ["duplicates", *sales_db.args])
    assert again.exit_code == 0 and "no colliding" in again.output
    non_blank = [fold(v) for v in numbers.values() if v and v.strip()]
    assert len(non_blank) == len(set(non_blank))


def test_run_reports_the_gate_and_verify_fails_until_resolved(sales_db: SalesDb) -> None:
    plant(sales_db)
    runner = CliRunner()
    result = runner.invoke(main, ["run", *sales_db.args, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "BLOCKED: 4 groups" in result.output
    assert runner.invoke(main, ["verify", *sales_db.args]).exit_code == 3
    assert runner.invoke(main, ["duplicates", *sales_db.args, "--renumber", "--no-progress"]).exit_code == 0
    checked = runner.invoke(main, ["verify", *sales_db.args])
    assert checked.exit_code == 0, checked.output
