"""A database target's upsert (the package's store too) and the package's CSV rendering, at the
level of one batch: exact counts whatever the path a batch takes, and the files' exact bytes."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from p2c_upgrade.sync.entities import CUSTOMERS
from p2c_upgrade.sync.targets import DatabaseTarget, RowsRejected, TargetRow, UpsertCounts
from p2c_upgrade.sync.targets import database as database_module
from p2c_upgrade.sync.targets.package import ZIP_LEVEL, _write_csv

from conftest import require_pg
from sync_fixtures import Targets

FIELDS = ("CUSTOMERACCOUNT", "ORGANIZATIONNAME")


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseTarget]:
    if request.param == "postgresql":
        require_pg()
    made = Targets(request.param, tmp_path)
    tgt = DatabaseTarget.open(made.new())
    try:
        yield tgt
    finally:
        tgt.close()
        made.drop()


def row(key: str, name: str | None = "Contoso", task: str = "Accounts") -> TargetRow:
    return TargetRow(key.lower(), (key, name), task, f"id-{key}")


def counts(c: UpsertCounts) -> tuple[int, int, int]:
    return c.inserted, c.updated, c.unchanged


def contents(tgt: DatabaseTarget) -> list[tuple[str | None, ...]]:
    with tgt.reading(CUSTOMERS, FIELDS) as take:
        return take(1000)


def test_counts_are_exact_whichever_path_a_batch_takes(target: DatabaseTarget,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    shortcut: list[bool] = []
    real = database_module._insert_all

    def spy(*args: Any) -> UpsertCounts | None:
        result = real(*args)
        shortcut.append(result is not None)
        return result

    monkeypatch.setattr(database_module, "_insert_all", spy)
    assert counts(target.upsert(CUSTOMERS, FIELDS, [row("A-1"), row("A-2")])) == (2, 0, 0)
    assert shortcut == [True]  # a first batch: inserted without looking its keys up
    gen = target.generation()

    # a resumed sync sends rows the store has (one equal, one changed) with new ones: the
    # plain INSERT fails on the first known key and nothing of it stays
    mixed = [row("A-3"), row("A-1"), row("A-2", "Fabrikam"), row("A-4")]
    assert counts(target.upsert(CUSTOMERS, FIELDS, mixed)) == (2, 1, 1)
    assert shortcut == [True, False]
    assert target.generation() == gen + 1

    # the next batch takes the general path (no failed INSERT per batch) and, all new,
    # lets the one after take the shortcut again
    assert counts(target.upsert(CUSTOMERS, FIELDS, [row("A-5")])) == (1, 0, 0)
    assert shortcut == [True, False]
    assert counts(target.upsert(CUSTOMERS, FIELDS, [row("A-6")])) == (1, 0, 0)
    assert shortcut == [True, False, True]

    # a rerun of everything: nothing written, the generation (the package's signature) kept
    gen = target.generation()
    again = [row("A-1"), row("A-2", "Fabrikam"), row("A-3"), row("A-4"), row("A-5"), row("A-6")]
    assert counts(target.upsert(CUSTOMERS, FIELDS, again)) == (0, 0, 6)
    assert target.generation() == gen
    assert contents(target) == [(f"A-{i}", "Fabrikam" if i == 2 else "Contoso")
                                for i in range(1, 7)]


def test_a_key_twice_in_a_batch_is_still_refused(target: DatabaseTarget) -> None:
    with pytest.raises(RowsRejected):
        target.upsert(CUSTOMERS, FIELDS, [row("B-1"), row("B-1", "Other")])
    assert contents(target) == []
    assert target.generation() == 0
    assert counts(target.upsert(CUSTOMERS, FIELDS, [row("B-1")])) == (1, 0, 0)


def test_reading_streams_in_key_order(target: DatabaseTarget) -> None:
    keys = [f"K-{i:03d}" for i in (5, 1, 9, 3, 7, 2, 8)]
    target.upsert(CUSTOMERS, FIELDS, [row(k, None if k.endswith("3") else k) for k in keys])
    with target.reading(CUSTOMERS, FIELDS, batch=2) as take:
        got = [take(3), take(3), take(3), take(3)]
    assert [len(g) for g in got] == [3, 3, 1, 0]
    assert [r for g in got for r in g] == [
        (k, None if k.endswith("3") else k) for k in sorted(keys)]


TRICKY = [("plain", "x"), ("comma,inside", 'quote "q"'), ("cr\rlf\nboth\r\n", None),
          ("", "  spaces  "), ("ümlaut ß", "emoji \U0001F600 past the BMP"), (None, None),
          ("tab\tsep", "semicolon;")]


def csv_row_by_row(fields: tuple[str, ...], rows: list[tuple[str | None, ...]]) -> bytes:
    """The file as the writer made it before it wrote in chunks: a text wrapper, a row at a
    time, None as an empty string."""
    raw = io.BytesIO()
    raw.write(codecs.BOM_UTF16_LE)
    out = io.TextIOWrapper(raw, encoding="utf-16-le", newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    for r in rows:
        writer.writerow(["" if v is None else v for v in r])
    out.flush()
    return raw.getvalue()


@pytest.mark.parametrize("chunk", [1, 3, 100])
def test_csv_bytes_do_not_depend_on_the_chunks(tmp_path: Path, chunk: int) -> None:
    fields = ("F1", "F2")
    rows = TRICKY * 3
    pending = iter(rows)

    def take(n: int) -> list[tuple[str | None, ...]]:
        return list(itertools.islice(pending, n))

    with zipfile.ZipFile(tmp_path / "p.zip", "w") as zf:
        _write_csv(zf, CUSTOMERS, fields, take, len(rows) - 2, chunk=chunk)
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        data = zf.read(CUSTOMERS.file_name)
        info = zf.getinfo(CUSTOMERS.file_name)
    assert data == csv_row_by_row(fields, rows[:-2])
    deflate = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15)  # raw deflate, as zip entries
    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert info.compress_size == len(deflate.compress(data) + deflate.flush())
    assert take(5) == rows[-2:], "exactly `count` rows taken"


def test_csv_refuses_a_store_that_ran_short(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "p.zip", "w") as zf, \
            pytest.raises(Exception, match="changed while rendering"):
        _write_csv(zf, CUSTOMERS, ("F1",), lambda n: [], 1)
