"""Numbers too large for the database and malformed journal entries (issue 13, item 15)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from test_hostile import account, insert, run_ok
from test_undo_support import checksum

from p2c_upgrade.cli import main
from p2c_upgrade.db.schema import AUTONUMBER_TABLE

from conftest import SalesDb
from helpers import execute, query

HUGE = str(10**20)


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def usage_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_numbers_too_large_for_the_database_are_usage_errors(sales_db: SalesDb,
                                                              tmp_path: Path) -> None:
    insert(sales_db, "account", [account(i, None) for i in range(3)])
    run_ok(sales_db)
    for value in (HUGE, "2147483648"):
        config = tmp_path / "p2c.toml"
        config.write_text(f"[sync]\nbatch_size = {value}\n")
        line = usage_error(invoke(["sync", *sales_db.args, "--no-progress", "--config",
                                   str(config), "--target", f"package:{tmp_path / 'pkg'}"]))
        assert "batch_size" in line
        for dry in ([], ["--dry-run"]):  # click's own usage message
            result = invoke(["undo", *sales_db.args, "--no-progress", "--run", value, *dry])
            assert result.exit_code == 2 and "--run" in result.stderr, result.output
            assert "Traceback" not in result.output


def test_malformed_sequence_entries_are_left_alone(sales_db: SalesDb) -> None:
    insert(sales_db, "account", [account(i, None) for i in range(3)])
    untouched = checksum(sales_db)
    run_ok(sales_db)
    sequence = query(sales_db, f"SELECT msdynce_entityname, msdynce_numbersequence FROM "
                               f"{AUTONUMBER_TABLE} ORDER BY 1")
    forged = [("account", "(row)", "garbage", None), ("contact", "(row)", "CON|x|6", None),
              ("zzz", "(row)", f"Z|{HUGE}|6", None), ("account", "(row)", None, "A|B|C|D"),
              ("account", "msdynce_numbersequence", HUGE, str(sequence[0][1])),
              ("contact", "msdynce_numbersequence", "x", str(sequence[1][1]))]
    for record_id, col, old, new in forged:
        execute(sales_db, "INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, "
                          "old_value, new_value) VALUES (1, 'x', :t, :r, :c, :o, :n)",
                {"t": AUTONUMBER_TABLE, "r": record_id, "c": col, "o": old, "n": new})
    before = checksum(sales_db)
    dry = invoke(["undo", *sales_db.args, "--no-progress", "--run", "1", "--dry-run",
                  "--format", "json"])
    assert dry.exit_code in (0, 3), dry.output
    assert checksum(sales_db) == before
    result = invoke(["undo", *sales_db.args, "--no-progress", "--run", "1"])
    assert result.exit_code in (0, 3), result.output
    assert "malformed" in dry.stdout and "malformed" in result.stdout
    assert checksum(sales_db) == untouched  # the run undone; the forged entries moved nothing
