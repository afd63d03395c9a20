"""The F&O data package target: the files Data management needs, split over the row limit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from p2c_upgrade.config import Config
from p2c_upgrade.sync.targets.package import plan_parts

from conftest import SalesDb
from sync_fixtures import dataset, load, package_zips, sync, zip_csv_rows

NS = "{http://schemas.microsoft.com/dynamics/2015/01/DataManagement}"
ENTITY_FILES = {"Customers V2": "Customers V2.csv", "CDS Contacts V2": "CDS Contacts V2.csv"}


def parse_utf16(data: bytes) -> ET.Element:
    assert data.startswith(b"\xff\xfe"), "UTF-16LE with a BOM"
    text = data.decode("utf-16")
    assert not text.lstrip("\ufeff").startswith("<?xml")
    return ET.fromstring(text.lstrip("\ufeff"))


def check_zip(path: Path) -> dict[str, int]:
    """Checks one package zip; returns the data rows per entity file."""
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert {"Manifest.xml", "PackageHeader.xml"} <= names
        header = parse_utf16(zf.read("PackageHeader.xml"))
        assert header.tag == f"{NS}DataManagementPackageHeader"
        assert header.findtext(f"{NS}PackageType") == "DefinitionGroup"
        assert header.findtext(f"{NS}ManifestType", "").endswith("DataManagementPackageManifest")
        manifest = parse_utf16(zf.read("Manifest.xml"))
        assert manifest.tag == f"{NS}DataManagementPackageManifest"
        assert [c.tag for c in manifest] == sorted(c.tag for c in manifest)
        levels: dict[str, int] = {}
        rows: dict[str, int] = {}
        for entity in manifest.iter(f"{NS}DataManagementPackageEntityData"):
            tags = [c.tag for c in entity]
            assert tags == sorted(tags), "children in alphabetical order"
            name = entity.findtext(f"{NS}EntityName", "")
            path_in_zip = entity.findtext(f"{NS}InputFilePath", "")
            assert path_in_zip in names, f"{path_in_zip} missing from {path.name}"
            levels[name] = int(entity.findtext(f"{NS}LevelInExecutionUnit", "0"))
            fields = [m.findtext(f"{NS}EntityField") for m in entity.iter(f"{NS}EntityMap")]
            raw = zf.read(path_in_zip)
            # the declared source format and the file's encoding agree: CSV-Unicode is UTF-16
            assert entity.findtext(f"{NS}SourceFormat") == "CSV-Unicode"
            assert raw.startswith(b"\xff\xfe")
            body = raw[2:].decode("utf-16-le")
            assert body.count("\n") == body.count("\r\n") and body.endswith("\r\n")
            table = zip_csv_rows(path, path_in_zip)
            assert table[0] == fields and all(f == f.upper() for f in table[0])
            rows[name] = len(table) - 1
            assert rows[name] > 0, "an entity without rows is left out (DMF2053)"
        assert set(names) - {"Manifest.xml", "PackageHeader.xml"} == {
            ENTITY_FILES[n] for n in rows}
        if len(levels) == 2:
            assert levels["Customers V2"] < levels["CDS Contacts V2"]
    return rows


def test_package_files_and_row_counts(sqlite_db: SalesDb, tmp_path: Path) -> None:
    accounts, contacts = dataset(12)
    load(sqlite_db, accounts, contacts)
    target = f"package:{tmp_path / 'pkg'}"
    summary = sync(sqlite_db, target, batch_size=5)
    zips = package_zips(target)
    assert len(zips) == 1
    rows = check_zip(zips[0])
    doc = summary.to_dict()
    synced = {t["task"]: t["inserted"] + t["updated"] + t["unchanged"] for t in doc["tasks"]}
    assert rows == doc["output"]["rows"] == {
        "Customers V2": synced["Accounts"] + synced["ContactToCustomer"],
        "CDS Contacts V2": synced["Contacts"]}
    assert doc["output"]["files"] == [str(zips[0])]

    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in zips}
    again = sync(sqlite_db, target, batch_size=5)
    assert again.to_dict()["totals"]["inserted"] == 0
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in package_zips(target)} \
        == before, "an unchanged package is not rewritten"


def test_package_over_the_row_limit_is_split(sales_db: SalesDb, tmp_path: Path) -> None:
    accounts, contacts = dataset(10)  # 10 accounts, 20 contacts
    load(sales_db, accounts, contacts)
    target = f"package:{tmp_path / 'pkg'}"
    summary = sync(sales_db, target, Config(package_max_rows=4))
    counts = summary.to_dict()["output"]["rows"]
    zips = package_zips(target)
    per_zip = [check_zip(z) for z in zips]
    assert all(n <= 4 for rows in per_zip for n in rows.values())
    assert sum(r.get("Customers V2", 0) for r in per_zip) == counts["Customers V2"]
    assert sum(r.get("CDS Contacts V2", 0) for r in per_zip) == counts["CDS Contacts V2"]
    # no zip holds contact persons before every customer has been in one
    seen_persons = False
    for rows in per_zip:
        if seen_persons:
            assert "Customers V2" not in rows
        seen_persons = seen_persons or "CDS Contacts V2" in rows
    expected = plan_parts(counts["Customers V2"], counts["CDS Contacts V2"], 4)
    assert len(zips) == len(expected) > 2

    # a larger limit later: stale parts are removed
    sync(sales_db, target, Config(package_max_rows=1000))
    assert len(package_zips(target)) == 1


def test_plan_parts() -> None:
    assert [[(e.name, o, n) for e, o, n in p] for p in plan_parts(5, 3, 2)] == [
        [("customers", 0, 2)], [("customers", 2, 2)],
        [("customers", 4, 1), ("contact_persons", 0, 2)], [("contact_persons", 2, 1)]]
    assert plan_parts(0, 0, 10) == []  # no rows: no package
    assert [[(e.name, n) for e, _, n in p] for p in plan_parts(0, 3, 2)] == [
        [("contact_persons", 2)], [("contact_persons", 1)]]
    assert [[(e.name, n) for e, _, n in p] for p in plan_parts(4, 4, 4)] == [
        [("customers", 4), ("contact_persons", 4)]]
