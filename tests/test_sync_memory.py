"""Memory stays flat whatever the table sizes: the peak at 5x the records is about the same.

A full collection runs at every batch boundary (through the fault-injection checkpoint), so the
peak measures the live working set, not cyclic garbage waiting for Python's next collection.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from p2c_upgrade.db.schema import sales_metadata
from p2c_upgrade.sync import engine

from conftest import SalesDb
from sync_fixtures import dataset, load, sync


def peak_for(tmp_path: Path, accounts: int) -> int:
    path = tmp_path / f"sales{accounts}.db"
    db = SalesDb("sqlite", f"sqlite:///{path}", None, path)
    sql = db.engine()
    sales_metadata().create_all(sql)
    sql.dispose()
    load(db, *dataset(accounts))
    gc.collect()
    tracemalloc.start()
    try:
        summary = sync(db, f"package:{tmp_path / f'pkg{accounts}'}", batch_size=150)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.failed_total == 0
    assert summary.to_dict()["totals"]["selected"] > accounts
    return peak


def test_memory_does_not_grow_with_the_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    monkeypatch.setattr(engine.faults, "checkpoint",
                        lambda step, point: point == "after-commit" and gc.collect(1))
    peak_for(tmp_path, 20)  # imports and caches warm
    # the pipeline holds three batches (sync/pipeline.py): both runs have it full
    small = peak_for(tmp_path, 450)  # three full batches of accounts
    large = peak_for(tmp_path, 2250)
    assert large < small * 1.2, (small, large)
