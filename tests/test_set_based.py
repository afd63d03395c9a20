"""Every step's database work is set-based, and memory does not grow with the table size."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from p2c_upgrade.demo.generator import generate
from p2c_upgrade.upgrade.runner import RunOptions, run_upgrade

from conftest import SalesDb


def count_statements(db: SalesDb, accounts: int, batch_size: int) -> dict[str, int]:
    database = db.open(must_exist=False)
    generate(database, accounts, seed=3)
    seen: list[str] = []

    @event.listens_for(database.engine, "before_cursor_execute")
    def _count(conn: sa.Connection, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    report = run_upgrade(database, RunOptions(batch_size=batch_size))
    database.dispose()
    return {"statements": len(seen), "batches": sum(o.batches for o in report.outcomes),
            "rows": report.rows_changed}


def test_statements_grow_with_batches_not_rows(sales_db: SalesDb) -> None:
    stats = count_statements(sales_db, accounts=400, batch_size=200)
    assert stats["rows"] > 1000  # numbers and flags for hundreds of records
    # a handful of statements per batch (bounds, temp batch table, journal, update, sequence,
    # ledger) and per step, never one per row
    assert stats["statements"] < 20 * stats["batches"] + 100
    assert stats["statements"] < stats["rows"] / 3


# VmHWM, not ru_maxrss: Linux carries the parent's high-water mark over fork and exec into
# ru_maxrss, and the parent here is pytest holding the generated data.
PEAK_RSS = """
import sys
from p2c_upgrade.db.connection import open_database
from p2c_upgrade.upgrade.runner import RunOptions, run_upgrade
db = open_database(sys.argv[1], sys.argv[2] or None)
run_upgrade(db, RunOptions(batch_size=2000))
print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')))
"""


def peak_rss_kib(db: SalesDb, accounts: int) -> int:
    database = db.open(must_exist=False)
    generate(database, accounts, seed=5)
    database.dispose()
    out = subprocess.run([sys.executable, "-c", PEAK_RSS, db.url, db.schema or ""], capture_output=True,
                         text=True, check=True, env=os.environ.copy())
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_table_size(sales_db: SalesDb, second_db: SalesDb) -> None:
    small = peak_rss_kib(sales_db, 1_000)
    large = peak_rss_kib(second_db, 15_000)  # 15x the rows: 15k accounts, 30k contacts, 45k documents
    assert large < small * 1.10 + 4096, f"peak RSS {small} KiB at 1k accounts, {large} KiB at 15k"
