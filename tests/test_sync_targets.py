"""The same Sales data gives the same F&O contents from a SQLite or PostgreSQL source, into a
SQLite or PostgreSQL target or a package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from p2c_upgrade.sync.entities import CONTACT_PERSONS, CUSTOMERS

from conftest import SalesDb, require_pg
from sync_fixtures import (
    Targets,
    dataset,
    load,
    package_zips,
    read_target,
    sync,
    zip_csv_rows,
)

#: contents seen so far by any (source, target) combination: all must agree
_SEEN: list[dict[str, Any]] = []


@pytest.fixture(params=["sqlite", "postgresql"])
def targets(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Targets]:
    """Fresh database targets: SQLite files or PostgreSQL schemas."""
    if request.param == "postgresql":
        require_pg()
    made = Targets(request.param, tmp_path)
    yield made
    made.drop()


def contents_from_database(target: str, columns: dict[str, list[str]]) -> dict[str, Any]:
    """Entity rows as the package would carry them (its columns, text values)."""
    rows = read_target(target)
    out: dict[str, Any] = {}
    for entity, table in ((CUSTOMERS, "fno_customers"), (CONTACT_PERSONS, "fno_contact_persons")):
        all_fields = ["p2c_key", *[f.lower() for f in entity.fields], "p2c_task", "p2c_source_id"]
        idx = [all_fields.index(c.lower()) for c in columns[entity.display_name]]
        out[entity.display_name] = sorted(
            tuple("" if r[i] is None else r[i] for i in idx) for r in rows[table])
    return out


def contents_from_package(target: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    out: dict[str, Any] = {}
    headers: dict[str, list[str]] = {}
    for path in package_zips(target):
        for entity in (CUSTOMERS, CONTACT_PERSONS):
            table = zip_csv_rows(path, entity.file_name)
            if table:
                headers[entity.display_name] = table[0]
                out.setdefault(entity.display_name, []).extend(tuple(r) for r in table[1:])
    return {k: sorted(v) for k, v in out.items()}, headers


def test_same_contents_for_every_source_and_target(sales_db: SalesDb, targets: Targets,
                                                   tmp_path: Path) -> None:
    accounts, contacts = dataset(15)
    accounts[3]["address1_country"] = "Atlantis"  # one failure, and its contact persons
    load(sales_db, accounts, contacts)
    target = targets.new()
    summary = sync(sales_db, target, batch_size=4)
    package = f"package:{tmp_path / 'pkg'}"
    packaged = sync(sales_db, package, batch_size=4)
    assert summary.to_dict()["tasks"] == [
        {**t, "seconds": summary.to_dict()["tasks"][i]["seconds"],
         "records_per_second": summary.to_dict()["tasks"][i]["records_per_second"]}
        for i, t in enumerate(packaged.to_dict()["tasks"])]
    assert summary.exit_code == 3
    assert summary.to_dict()["not_synchronized"]["unknown_country"] == 1
    for t in summary.to_dict()["tasks"]:
        assert t["selected"] == t["inserted"] + t["updated"] + t["unchanged"] + t["failed"]

    from_package, headers = contents_from_package(package)
    from_db = contents_from_database(target, headers)
    assert from_db == from_package
    assert summary.to_dict()["output"]["rows"] == {k: len(v) for k, v in from_db.items()}
    for seen in _SEEN:
        assert seen == from_db
    _SEEN.append(from_db)

    again = sync(sales_db, target, batch_size=4)
    assert again.to_dict()["totals"]["inserted"] == again.to_dict()["totals"]["updated"] == 0
    assert contents_from_database(target, headers) == from_db
