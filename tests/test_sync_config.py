"""The configuration file: every key checked, mistakes named, defaults and maps merged."""

from __future__ import annotations

from pathlib import Path

import pytest

from p2c_upgrade.config import Config, FieldSpec, load_config
from p2c_upgrade.errors import UsageError
from p2c_upgrade.sync.templates import plan_tasks, shipped_templates

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p2c.toml"
    path.write_text(text, "utf-8")
    return path


def plan(config: Config, task: str) -> dict[str, FieldSpec]:
    return dict(next(p for p in plan_tasks(config) if p.task == task).fields)


def test_no_file_means_template_defaults() -> None:
    cfg = load_config(None)
    assert cfg.numbers_salt == "" and cfg.sync_target is None and cfg.sync_batch_size == 5000
    accounts = plan(cfg, "Accounts")
    assert accounts["CUSTOMERGROUPID"].default == "10"
    assert accounts["ADDRESSCOUNTRYREGIONISOCODE"].default == "USA"
    assert accounts["DELIVERYADDRESSCOUNTRYREGIONISOCODE"].default == "USA"
    assert accounts["SITEID"].default == "1" and accounts["WAREHOUSEID"].default == "13"
    assert accounts["LANGUAGEID"].default == "en-us"
    assert accounts["ISEXTERNALLYMAINTAINED"].constant == "Yes"
    person = plan(cfg, "ContactToCustomer")
    assert "SITEID" not in person and "WAREHOUSEID" not in person  # no template value
    assert person["CUSTOMERGROUPID"].default == "10"
    contacts = plan(cfg, "Contacts")
    assert contacts["ISCONTACTPERSONEXTERNALLYMAINTAINED"].constant == "Yes"
    assert contacts["PRIMARYADDRESSCOUNTRYREGIONISOCODE"].default == "USA"
    assert plan_tasks(cfg)[0].organization_id == "ORG001"


def test_templates_in_dependency_order() -> None:
    tasks = [t.task for t in shipped_templates()]
    assert tasks == ["Accounts", "Contacts", "ContactToCustomer"]
    assert {t.template for t in shipped_templates()} == {
        "Accounts (Sales to Fin and Ops)", "Contacts (Sales to Fin and Ops)",
        "Contacts to Customer (Sales to Fin and Ops)"}


def test_example_file_loads() -> None:
    cfg = load_config(ROOT / "examples" / "p2c-upgrade.toml")
    assert cfg.value_maps["country"]
    assert "payment_terms" in cfg.value_maps
    plan_tasks(cfg)  # every value map the fields name exists


def test_configured_values_replace_template_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
[numbers]
salt = "s1"
[sync]
target = "package:out"
batch_size = 100
country_codes = "alpha2"
[sync.defaults]
CustomerGroupId = "20"
SITEID = ""
AddressCountryRegionISOCode = "DE"
[sync.tasks.ContactToCustomer.defaults]
CUSTOMERGROUPID = "30"
[sync.tasks.Accounts.fields]
PAYMENTTERMS = { source = "address1_city", value_map = "payment_terms" }
[sync.value_maps.payment_terms]
"Net 30" = "Net30"
[sync.value_maps.country]
"Deutschland" = "DE"
"""))
    assert cfg.numbers_salt == "s1" and cfg.sync_target == "package:out"
    assert cfg.sync_batch_size == 100 and cfg.country_codes == "alpha2"
    accounts = plan(cfg, "Accounts")
    assert accounts["CUSTOMERGROUPID"].default == "20"
    assert accounts["SITEID"].default is None  # "" removes the template default
    assert accounts["ADDRESSCOUNTRYREGIONISOCODE"].default == "DE"
    assert accounts["PAYMENTTERMS"] == FieldSpec(source="address1_city", value_map="payment_terms")
    assert plan(cfg, "ContactToCustomer")["CUSTOMERGROUPID"].default == "30"
    # a global default reaches a task whose template has no mapping for the field
    assert "SITEID" not in plan(cfg, "ContactToCustomer")


@pytest.mark.parametrize(("text", "named"), [
    ("[sync]\ntargett = 'x'\n", "sync.targett"),
    ("[synk]\n", "synk"),
    ("[sync.defaults]\nNOSUCHFIELD = '1'\n", "NOSUCHFIELD"),
    ("[sync.tasks.Orders.defaults]\nSITEID = '1'\n", "sync.tasks.Orders"),
    ("[sync.tasks.Contacts.defaults]\nSITEID = '1'\n", "SITEID"),  # not a contact-person field
    ("[sync]\nbatch_size = 0\n", "sync.batch_size"),
    ("[sync]\nbatch_size = 'many'\n", "sync.batch_size"),
    ("[sync.defaults]\nCUSTOMERGROUPID = 10\n", "CUSTOMERGROUPID"),
    ("[sync.value_maps.country]\nNarnia = 'NAR'\n", "sync.value_maps.country"),
    ("[sync.defaults]\nADDRESSCOUNTRYREGIONISOCODE = 'Atlantis'\n", "ADDRESSCOUNTRYREGIONISOCODE"),
    ("[sync.tasks.Accounts.fields]\nPAYMENTTERMS = { source = 'x; drop table account' }\n",
     "PAYMENTTERMS"),
    ("[sync.tasks.Accounts.fields]\nPAYMENTTERMS = { sauce = 'x' }\n", "sauce"),
    ("[sync]\ncountry_codes = 'alpha9'\n", "sync.country_codes"),
    ("[numbers]\nsalt = 1\n", "numbers.salt"),
    ("[sync\n", "not valid TOML"),
])
def test_mistakes_are_usage_errors_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(UsageError) as err:
        load_config(write(tmp_path, text))
    assert named in err.value.message
    assert "\n" not in err.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_a_field_naming_an_undefined_value_map_is_a_usage_error(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
[sync.tasks.Accounts.fields]
PAYMENTTERMS = { source = "address1_city", value_map = "terms" }
"""))
    with pytest.raises(UsageError, match="terms"):
        plan_tasks(cfg)
