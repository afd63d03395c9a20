"""The F&O data entities the sync writes, as plain data: fields, keys, import order.

One definition serves the database target (its tables), the package target (file names, headers,
manifest) and validation (key length, required fields), so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    @property
    def file_name(self) -> str:
        return f"{self.display_name}.csv"


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
        "PRIMARYCONTACTPHONE", "ISEXTERNALLYMAINTAINED",
    ),
    country_fields=("ADDRESSCOUNTRYREGIONISOCODE", "DELIVERYADDRESSCOUNTRYREGIONISOCODE"),
    # FACTS.md: what an organization customer needs; the address country is required too.
    required=("CUSTOMERACCOUNT", "PARTYTYPE", "CUSTOMERGROUPID", "SALESCURRENCYCODE",
              "ADDRESSCOUNTRYREGIONISOCODE"),
    level=1,
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
        "DECISIONMAKINGROLECODE", "PRIMARYCONTACTEMAIL", "PRIMARYCONTACTPHONE",
        "ISCONTACTPERSONEXTERNALLYMAINTAINED",
    ),
    country_fields=("PRIMARYADDRESSCOUNTRYREGIONISOCODE",),
    required=("CONTACTPERSONID", "ASSOCIATEDCONTACTTYPE", "ASSOCIATEDCONTACTNUMBER",
              "PRIMARYADDRESSCOUNTRYREGIONISOCODE"),
    level=2,
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (CUSTOMERS, CONTACT_PERSONS)}

#: Every entity field name, for checking a configuration file.
ALL_FIELDS: frozenset[str] = frozenset(f for e in ENTITIES.values() for f in e.fields)


def entity(name: str) -> Entity:
    return ENTITIES[name]

