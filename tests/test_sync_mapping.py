"""Mapping and validation of single records, without a database."""

from __future__ import annotations

from typing import Any

import pytest

from p2c_upgrade.config import Config, FieldSpec, parse_config
from p2c_upgrade.sync.mapping import Failure, Mapped, Mapper
from p2c_upgrade.sync.templates import plan_tasks


def mapper(task: str, config: Config | None = None) -> Mapper:
    cfg = config or Config()
    plan = next(p for p in plan_tasks(cfg) if p.task == task)
    return Mapper(plan, cfg.country_codes)


def values(result: Mapped | Failure, m: Mapper) -> dict[str, Any]:
    assert isinstance(result, Mapped), result
    return dict(zip(m.names, result.values, strict=True))


def account_row(**kw: Any) -> dict[str, Any]:
    row = {"accountid": "a1", "accountnumber": "ACC-01000-ABCDEF", "name": "Contoso",
           "address1_country": "United States", "address1_city": "Seattle"}
    row.update(kw)
    return row


def contact_row(**kw: Any) -> dict[str, Any]:
    row = {"contactid": "c1", "msdynce_contactnumber": "CON-01000-ABCDEF", "firstname": "Ann",
           "lastname": "Lee", "address1_country": "Canada", "parentcustomerid": "a1",
           "parentcustomeridtype": "account", "parent_found": "a1", "parent_status": "synced",
           "parent_key": "ACC-01000-ABCDEF", "parent_reason": None, "parent_number": "ACC-1",
           "msdynce_isactivecustomer": False, "msdynce_iscompanyanaccount": True}
    row.update(kw)
    return row


def test_account_becomes_an_organization_customer() -> None:
    m = mapper("Accounts")
    v = values(m.map(account_row()), m)
    assert v == {
        "CUSTOMERACCOUNT": "ACC-01000-ABCDEF", "PARTYTYPE": "Organization",
        "ORGANIZATIONNAME": "Contoso", "CUSTOMERGROUPID": "10", "SALESCURRENCYCODE": "USD",
        "LANGUAGEID": "en-us", "ADDRESSCITY": "Seattle", "ADDRESSCOUNTRYREGIONISOCODE": "US",
        "DELIVERYADDRESSCOUNTRYREGIONISOCODE": "US", "SITEID": "1", "WAREHOUSEID": "13",
        "ISEXTERNALLYMAINTAINED": "Yes",
    }


@pytest.mark.parametrize("blank", [None, "", "   ", "\t"])
def test_defaults_apply_only_where_sales_is_blank(blank: str | None) -> None:
    cfg = parse_config({"sync": {"tasks": {"Accounts": {
        "fields": {"SITEID": {"source": "address1_city", "default": "7"}}}}}})
    m = mapper("Accounts", cfg)
    assert values(m.map(account_row(address1_country=blank, address1_city=blank)), m)[
        "ADDRESSCOUNTRYREGIONISOCODE"] == "US"
    assert values(m.map(account_row(address1_city=blank)), m)["SITEID"] == "7"
    assert values(m.map(account_row(address1_city="3")), m)["SITEID"] == "3"
    assert values(m.map(account_row(address1_country="France")), m)[
        "ADDRESSCOUNTRYREGIONISOCODE"] == "FR"


def test_a_configured_value_replaces_the_template_default() -> None:
    cfg = parse_config({"sync": {"defaults": {"CUSTOMERGROUPID": "90",
                                              "ADDRESSCOUNTRYREGIONISOCODE": "CAN"}}})
    m = mapper("Accounts", cfg)
    v = values(m.map(account_row(address1_country=None)), m)
    assert v["CUSTOMERGROUPID"] == "90" and v["ADDRESSCOUNTRYREGIONISOCODE"] == "CA"


def test_value_maps_translate() -> None:
    cfg = parse_config({"sync": {
        "value_maps": {"country": {"Deutschland": "DEU", "France": "BEL"},
                       "payment_terms": {"Net 30": "Net30"}},
        "tasks": {"Accounts": {"fields": {
            "PAYMENTTERMS": {"source": "address1_city", "value_map": "payment_terms"}}}},
    }})
    m = mapper("Accounts", cfg)
    v = values(m.map(account_row(address1_country=" deutschland ", address1_city="net 30")), m)
    assert v["ADDRESSCOUNTRYREGIONISOCODE"] == "DE" and v["PAYMENTTERMS"] == "Net30"
    # the map wins over the exact lookup; an unmapped value passes through unchanged
    v = values(m.map(account_row(address1_country="France", address1_city="Net 60")), m)
    assert v["ADDRESSCOUNTRYREGIONISOCODE"] == "BE" and v["PAYMENTTERMS"] == "Net 60"


def test_decision_making_role_is_mapped_to_decision() -> None:
    m = mapper("Contacts")
    v = values(m.map(contact_row()), m)
    assert v["DECISIONMAKINGROLECODE"] == "Decision"
    assert v["ASSOCIATEDCONTACTNUMBER"] == "ACC-01000-ABCDEF"
    assert v["ASSOCIATEDCONTACTTYPE"] == "Customer"
    assert v["PRIMARYADDRESSCOUNTRYREGIONISOCODE"] == "CA"


@pytest.mark.parametrize(("value", "alpha3", "alpha2"), [
    ("USA", "USA", "US"), ("us", "USA", "US"), ("United States", "USA", "US"),
    ("germany", "DEU", "DE"), ("840", "USA", "US"),
])
def test_country_exact_lookup(value: str, alpha3: str, alpha2: str) -> None:
    for fmt, want in (("alpha3", alpha3), ("alpha2", alpha2)):
        m = mapper("Accounts", Config(country_codes=fmt))
        assert values(m.map(account_row(address1_country=value)), m)[
            "ADDRESSCOUNTRYREGIONISOCODE"] == want


@pytest.mark.parametrize("value", ["Atlantis", "Untied States", "Germny", "Deutschland"])
def test_unknown_country_is_an_error_for_the_record_never_a_guess(value: str) -> None:
    m = mapper("Accounts")
    result = m.map(account_row(address1_country=value))
    assert isinstance(result, Failure) and result.reason == "unknown_country"
    assert value in result.detail


@pytest.mark.parametrize(("row", "reason"), [
    ({"accountnumber": None}, "missing_key"),
    ({"accountnumber": "  "}, "missing_key"),
    ({"accountnumber": "ACC-01000-ABCDEFGHIJKL"}, "key_too_long"),
    ({"name": None}, "missing_required"),
])
def test_account_validation(row: dict[str, Any], reason: str) -> None:
    result = mapper("Accounts").map(account_row(**row))
    assert isinstance(result, Failure) and result.reason == reason


def test_key_of_exactly_twenty_characters_is_fine() -> None:
    assert isinstance(mapper("Accounts").map(account_row(accountnumber="A" * 20)), Mapped)


def test_removed_required_default_fails_the_record() -> None:
    cfg = parse_config({"sync": {"defaults": {"CUSTOMERGROUPID": ""}}})
    result = mapper("Accounts", cfg).map(account_row())
    assert isinstance(result, Failure) and result.reason == "missing_required"
    assert "CUSTOMERGROUPID" in result.detail


def test_person_customer_needs_a_name() -> None:
    m = mapper("ContactToCustomer")
    result = m.map(contact_row(firstname=None, lastname=" "))
    assert isinstance(result, Failure) and result.reason == "missing_person_name"
    v = values(m.map(contact_row(firstname=None)), m)
    assert v["PARTYTYPE"] == "Person" and v["PERSONLASTNAME"] == "Lee"
    assert v["CUSTOMERACCOUNT"] == "CON-01000-ABCDEF"


@pytest.mark.parametrize(("row", "reason"), [
    ({"msdynce_contactnumber": None}, "missing_key"),
    ({"parentcustomeridtype": "contact"}, "parent_not_account"),
    ({"parentcustomerid": None, "parentcustomeridtype": None}, "parent_not_account"),
    ({"parent_found": None}, "parent_missing"),
    ({"parent_status": "failed", "parent_reason": "unknown_country"}, "parent_not_synchronized"),
    ({"parent_status": None}, "parent_not_synchronized"),
])
def test_contact_person_validation(row: dict[str, Any], reason: str) -> None:
    result = mapper("Contacts").map(contact_row(**row))
    assert isinstance(result, Failure) and result.reason == reason


def test_failure_details_never_hold_names() -> None:
    for task, row in (("ContactToCustomer", contact_row(firstname=None, lastname=None)),
                      ("Contacts", contact_row(address1_country="Atlantis")),
                      ("Accounts", account_row(accountnumber=None))):
        result = mapper(task).map(row)
        assert isinstance(result, Failure)
        for name in ("Ann", "Lee", "Contoso"):
            assert name not in result.detail


def test_fingerprint_follows_the_mapped_values() -> None:
    m = mapper("Accounts")
    a, b = m.map(account_row()), m.map(account_row(name="Contoso "))
    c = m.map(account_row(name="Fabrikam"))
    assert isinstance(a, Mapped) and isinstance(b, Mapped) and isinstance(c, Mapped)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert a.key_fold == "acc-01000-abcdef"


def test_field_spec_round_trip() -> None:
    assert FieldSpec(source="x").value_map is None
