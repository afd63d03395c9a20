"""The plan's csv change list is what `run` then changes, record for record and number for
number; the first and last numbers it announces are the ones `run` assigns."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_plan_support import (
    build,
    execute,
    half_upgrade,
    journal_changes,
    parse_csv,
    plan_json,
    plan_output,
    query,
    run,
)

from p2c_upgrade.rules.number_format import seqpart

from conftest import SalesDb


@pytest.mark.parametrize("state", ["untouched", "half-upgraded"])
def test_change_list_is_what_run_changes(sales_db: SalesDb, state: str, tmp_path: Path) -> None:
    build(sales_db)
    config = tmp_path / "p2c.toml"
    config.write_text('[numbers]\nsalt = "plan-test"\n', encoding="utf-8")
    if state == "half-upgraded":  # resumed with the same salt (another one is refused)
        half_upgrade(sales_db, "--config", str(config))
    out_file = tmp_path / "changes.csv"
    code, _ = plan_output(sales_db, "csv", "--config", str(config), "--output", str(out_file))
    assert code == 3  # planted duplicates
    planned = sorted(parse_csv(out_file.read_bytes().decode("utf-8")))
    doc = plan_json(sales_db, "--config", str(config))
    run(sales_db, "--config", str(config))

    made = journal_changes(sales_db)
    assert planned == made
    steps = {s["step"]: s["changes"] for s in doc["steps"]}
    for step in ("account-numbers", "contact-numbers", "active-customers", "company-is-account"):
        journaled = [c for c in made if c[0] == step and c[1] != "msdynce_p2cautonumber"]
        assert steps[step] == len(journaled), step
    if state == "half-upgraded":
        assert steps["account-numbers"] == 0 and steps["prepare"] == 0
        assert 0 < steps["contact-numbers"] < 120

    # The announced ranges are the ones run assigned.
    for numbers in doc["numbers"]:
        if not numbers["records"]:
            continue
        assigned = {c[2]: c[5] for c in made
                    if c[0] == numbers["step"] and c[1] == numbers["table"]}
        first, last = numbers["first"], numbers["last"]
        assert assigned[first["record_id"]] == first["number"]
        assert assigned[last["record_id"]] == last["number"]
        seqs = sorted(seqpart(v, numbers["prefix"]) for v in assigned.values())
        assert (seqs[0], seqs[-1]) == (first["n"], last["n"])
        assert len(assigned) == numbers["records"]
        nxt = query(sales_db, "SELECT msdynce_numbersequence FROM msdynce_p2cautonumber "
                              "WHERE msdynce_entityname = :e", {"e": numbers["entity"]})[0][0]
        assert nxt == numbers["next_value_after"]


def test_reserved_numbers_are_skipped_as_run_skips_them(sales_db: SalesDb) -> None:
    """Existing values that look generated take their numbers: plan and run skip the same."""
    build(sales_db, accounts=30)
    run(sales_db, "--step", "prepare")
    execute(sales_db, "UPDATE msdynce_p2cautonumber SET msdynce_numbersequence = 5000 "
                      "WHERE msdynce_entityname = 'account'")
    ids = [r[0] for r in query(sales_db, "SELECT accountid FROM account "
                                         "WHERE accountnumber IS NULL ORDER BY accountid")]
    for i, number in enumerate(("acc-05000-zzzzzz", "ACC-05002-AAAAAA ", "ÀCC-05003-X")):
        execute(sales_db, "UPDATE account SET accountnumber = :n WHERE accountid = :i",
                {"n": number, "i": ids[i]})
    doc = plan_json(sales_db)
    numbers = doc["numbers"][0]
    assert numbers["sequence_source"] == "table" and numbers["first"]["n"] == 5001
    run(sales_db)
    assigned = {c[2]: c[5] for c in journal_changes(sales_db) if c[0] == "account-numbers"
                and c[1] == "account"}
    assert assigned[numbers["last"]["record_id"]] == numbers["last"]["number"]
    assert numbers["last"]["n"] == 5000 + numbers["records"] + 2  # 5000, 5002, 5003 taken
