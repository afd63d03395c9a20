"""The F&O data entities the sync writes, as plain data: fields, keys, import order.

One definition serves the database target (its tables), the package target (file names, headers,
manifest) and validation (key length, required fields), so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from p2c_upgrade.rules import keys as key_rules

#: F&O natural keys (CustomerAccount, ContactPersonId) are 20 characters.
KEY_MAX_LENGTH = 20


@dataclass(frozen=True)
class Entity:
    """One F&O data entity: `fields` are the upper-case entity field names, in file order."""

    name: str  # our short name: "customers", "contact_persons"
    display_name: str  # the entity's name in Data management (the package's EntityName)
    target_entity: str  # the AOT entity
    table: str  # the table in a database target
    key: str
    fields: tuple[str, ...]
    country_fields: tuple[str, ...]
    required: tuple[str, ...]
    level: int  # LevelInExecutionUnit: customers import before contact persons
    cdm_entity: str  # the microsoft/CDM definition whose attributes are the entity's fields
    odata_collection: str  # the public OData collection (reconciliation reads it)
    odata_key: str  # the key field as OData names it

    @property
    def file_name(self) -> str:
        return f"{self.display_name}.csv"

    @property
    def cdm_fields(self) -> frozenset[str]:
        """Every field of the entity in Microsoft's CDM definition, upper case."""
        return cdm_fields(self.cdm_entity)


@lru_cache(maxsize=4)
def cdm_fields(cdm_entity: str) -> frozenset[str]:
    """The attribute names of a CDM entity definition, shipped as package data
    (`sync/cdm/<entity>.txt`, one name a line, from microsoft/CDM's `.cdm.json`)."""
    text = (resources.files("p2c_upgrade") / "sync" / "cdm" / f"{cdm_entity}.txt").read_text("utf-8")
    return frozenset(line.strip().upper() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def is_country_id_field(name: str) -> bool:
    """F&O's `...COUNTRYREGIONID` fields take the country/region id (alpha-3 in Microsoft's
    data); the `...COUNTRYREGIONISOCODE` fields take the two-letter ISO code."""
    return name.endswith("COUNTRYREGIONID")


CUSTOMERS = Entity(
    name="customers",
    display_name="Customers V2",
    target_entity="CustCustomerV2Entity",
    table="fno_customers",
    key="CUSTOMERACCOUNT",
    fields=(
        "CUSTOMERACCOUNT", "PARTYTYPE", "ORGANIZATIONNAME", "PERSONFIRSTNAME",
        "PERSONMIDDLENAME", "PERSONLASTNAME", "CUSTOMERGROUPID", "SALESCURRENCYCODE",
        "LANGUAGEID", "ADDRESSSTREET", "ADDRESSCITY", "ADDRESSZIPCODE", "ADDRESSSTATE",
        "ADDRESSCOUNTRYREGIONISOCODE", "DELIVERYADDRESSCOUNTRYREGIONISOCODE", "SITEID",
        "WAREHOUSEID", "PAYMENTTERMS", "DELIVERYTERMS", "DELIVERYMODE", "PRIMARYCONTACTEMAIL",
        "PRIMARYCONTACTPHONE", "ISEXTERNALLYMAINTAINED", "ADDRESSCOUNTRYREGIONID",
        "DELIVERYADDRESSCOUNTRYREGIONID",
    ),
    country_fields=("ADDRESSCOUNTRYREGIONISOCODE", "DELIVERYADDRESSCOUNTRYREGIONISOCODE",
                    "ADDRESSCOUNTRYREGIONID", "DELIVERYADDRESSCOUNTRYREGIONID"),
    # FACTS.md: what an organization customer needs; the address country is required too.
    required=("CUSTOMERACCOUNT", "PARTYTYPE", "CUSTOMERGROUPID", "SALESCURRENCYCODE",
              "ADDRESSCOUNTRYREGIONISOCODE"),
    level=1,
    cdm_entity="CustCustomerV3Entity",
    odata_collection="CustomersV3",
    odata_key="CustomerAccount",
)

CONTACT_PERSONS = Entity(
    name="contact_persons",
    display_name="CDS Contacts V2",
    target_entity="smmContactPersonCDSV2Entity",
    table="fno_contact_persons",
    key="CONTACTPERSONID",
    fields=(
        "CONTACTPERSONID", "FIRSTNAME", "MIDDLENAME", "LASTNAME", "ASSOCIATEDCONTACTTYPE",
        "ASSOCIATEDCONTACTNUMBER", "PRIMARYADDRESSCOUNTRYREGIONISOCODE",
        "DECISIONMAKINGROLECODE", "PRIMARYEMAILADDRESS", "PRIMARYPHONENUMBER",
        "ISCONTACTPERSONEXTERNALLYMAINTAINED", "PRIMARYADDRESSCOUNTRYREGIONID",
    ),
    country_fields=("PRIMARYADDRESSCOUNTRYREGIONISOCODE", "PRIMARYADDRESSCOUNTRYREGIONID"),
    required=("CONTACTPERSONID", "ASSOCIATEDCONTACTTYPE", "ASSOCIATEDCONTACTNUMBER",
              "PRIMARYADDRESSCOUNTRYREGIONISOCODE"),
    level=2,
    cdm_entity="smmContactPersonCDSV2Entity",
    odata_collection="CDSContactPersonsV2",
    odata_key="ContactPersonId",
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (CUSTOMERS, CONTACT_PERSONS)}

#: Every entity field name, for checking a configuration file.
ALL_FIELDS: frozenset[str] = frozenset(f for e in ENTITIES.values() for f in e.fields)


def entity(name: str) -> Entity:
    return ENTITIES[name]



def fno_key(value: str) -> str:
    """A key or code as F&O compares it: `p2c_upgrade.rules.keys.fno_key` (the one definition:
    case-insensitive, accent-sensitive, trailing blanks ignored), '' for a blank value."""
    return key_rules.fno_key(value) or ""
