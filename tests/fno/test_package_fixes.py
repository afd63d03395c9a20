"""The data package as F&O reads it: encoding, country codes, field names, empty entities.

Each kind was found by importing a package the product wrote into the stand-in (issue 11)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import pytest

from p2c_upgrade.config import Config, parse_config
from p2c_upgrade.errors import UsageError
from p2c_upgrade.sync.entities import ENTITIES

from .conftest import TOKEN
from conftest import SalesDb
from sync_fixtures import account, contact, load, package_zips, sync, uid

ACTIONS = "/data/DataManagementDefinitionGroups/Microsoft.Dynamics.DataEntities."


def _action(fno: Any, name: str, **params: Any) -> Any:
    req = Request(fno.url + ACTIONS + name, data=json.dumps(params).encode(), method="POST",
                  headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())["value"]


def import_zip(fno: Any, path: Path) -> dict[str, Any]:
    """Upload and import one zip by hand (as an admin would); the execution's record."""
    blob = json.loads(_action(fno, "GetAzureWriteUrl", uniqueFileName=path.name))["BlobUrl"]
    with urlopen(Request(blob, data=path.read_bytes(), method="PUT",
                         headers={"x-ms-blob-type": "BlockBlob"}), timeout=10) as resp:
        assert resp.status == 201
    execution = _action(fno, "ImportFromPackage", packageUrl=blob, definitionGroupId=path.stem,
                        executionId="", execute=True, overwrite=True, legalEntityId="USMF")
    deadline = time.time() + 20
    while _action(fno, "GetExecutionSummaryStatus", executionId=execution) in ("NotRun", "Executing"):
        assert time.time() < deadline
        time.sleep(0.05)
    return next(e for e in fno.executions() if e["id"] == execution)


def test_the_products_package_imports_cleanly(sqlite_db: SalesDb, fno: Any, tmp_path: Path) -> None:
    """UTF-16 files under CSV-Unicode, two-letter ISO codes, real field names: every row lands."""
    load(sqlite_db, [account(0), account(1, address1_country="")],
         [contact(0, parent=uid("account", 0), parent_type="account"),
          contact(1, active=True, address1_country="France")])
    target = f"package:{tmp_path / 'pkg'}"
    assert sync(sqlite_db, target).exit_code == 0
    [zip_path] = package_zips(target)
    execution = import_zip(fno, zip_path)
    assert execution["status"] == "Succeeded", execution["errors"]
    assert {c["CustomerAccount"]: c["AddressCountryRegionISOCode"] for c in fno.customers()} == {
        "ACC-00000-AAAAAA": "US", "ACC-00001-AAAAAA": "US", "CON-00001-BBBBBB": "FR"}
    assert [p["ContactPersonId"] for p in fno.contact_persons()] == ["CON-00000-BBBBBB"]


def test_an_entity_without_rows_is_left_out(sqlite_db: SalesDb, fno: Any, tmp_path: Path) -> None:
    load(sqlite_db, [account(0)], [])
    target = f"package:{tmp_path / 'pkg'}"
    sync(sqlite_db, target)
    [zip_path] = package_zips(target)
    execution = import_zip(fno, zip_path)
    assert execution["status"] == "Succeeded", execution["errors"]
    assert [e["entity_name"] for e in execution["entities"]] == ["Customers V2"]


def test_no_rows_no_package(sqlite_db: SalesDb, tmp_path: Path) -> None:
    load(sqlite_db, [], [])
    target = f"package:{tmp_path / 'pkg'}"
    assert sync(sqlite_db, target).exit_code == 0
    assert package_zips(target) == []


@pytest.mark.parametrize(("name", "hint"), [("PRIMARYCONTACTEMAIL", "PRIMARYEMAILADDRESS"),
                                            ("PRIMARYCONTACTPHONE", "PRIMARYPHONENUMBER"),
                                            ("NOSUCHFIELD", "CDM")])
def test_a_field_the_entity_lacks_is_a_usage_error(name: str, hint: str) -> None:
    data = {"sync": {"tasks": {"Contacts": {"fields": {name: {"source": "emailaddress1"}}}}}}
    with pytest.raises(UsageError, match=hint) as info:
        parse_config(data)
    assert info.value.exit_code == 2


def test_contact_persons_take_their_own_email_field() -> None:
    cfg = parse_config({"sync": {"tasks": {"Contacts": {"fields": {
        "PRIMARYEMAILADDRESS": {"source": "emailaddress1"}}}}}})
    assert "PRIMARYEMAILADDRESS" in cfg.task_fields["Contacts"]


def test_every_field_the_sync_writes_exists_in_the_cdm_definition() -> None:
    for entity in ENTITIES.values():
        assert set(entity.fields) <= entity.cdm_fields, entity.display_name


def test_iso_fields_get_alpha2_and_country_id_fields_alpha3(sqlite_db: SalesDb, tmp_path: Path) -> None:
    """The template default USA is kept and converted; ...COUNTRYREGIONID gets F&O's id."""
    from p2c_upgrade.config import FieldSpec

    load(sqlite_db, [account(0, address1_country=None)], [])
    cfg = Config(task_fields={"Accounts": {"ADDRESSCOUNTRYREGIONID": FieldSpec(
        source="address1_country", value_map="country", default="USA")}})
    target = f"package:{tmp_path / 'pkg'}"
    sync(sqlite_db, target, cfg)
    from sync_fixtures import zip_csv_rows

    [zip_path] = package_zips(target)
    header, row = zip_csv_rows(zip_path, "Customers V2.csv")
    values = dict(zip(header, row, strict=True))
    assert values["ADDRESSCOUNTRYREGIONISOCODE"] == "US"
    assert values["ADDRESSCOUNTRYREGIONID"] == "USA"
