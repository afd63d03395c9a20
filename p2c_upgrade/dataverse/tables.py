"""What pull copies from the org and what push may write back, table by table.

Shapes: `TableSpec(name, entity_set, key, columns, lookups, pushable)`; `columns` are Web API
property names equal to the working database's column names; `lookups` map a local column
(`parentcustomerid`) to its `_x_value` property, the target table going to `<col>type` (from the
`Microsoft.Dynamics.CRM.lookuplogicalname` annotation; FACTS.md "Reaching the live systems").
`pushable` are the only columns push writes: what `run`, `duplicates --renumber` and `undo` change.
Values are compared as text (`canon`): booleans 'true'/'false' as the journal writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

LOOKUP_ANNOTATION = "@Microsoft.Dynamics.CRM.lookuplogicalname"


@dataclass(frozen=True)
class TableSpec:
    name: str
    entity_set: str
    key: str
    columns: tuple[str, ...]
    lookups: dict[str, str] = field(default_factory=dict)
    pushable: tuple[str, ...] = ()
    #: the local key differs from the org's (the sequence rows are keyed by their entity name)
    local_key: str | None = None
    p2c_only: bool = False
    booleans: tuple[str, ...] = ()
    datetimes: tuple[str, ...] = ("createdon",)

    @property
    def select(self) -> str:
        props = list(self.columns) + [f"_{c}_value" for c in self.lookups]
        if self.local_key and self.key not in props:
            props.insert(0, self.key)
        return ",".join(props)

    @property
    def record_key(self) -> str:
        return self.local_key or self.key


_DOC_COLUMNS = ("statecode", "createdon")

TABLES: tuple[TableSpec, ...] = (
    TableSpec("organization", "organizations", "organizationid",
              ("organizationid", "issopintegrationenabled"),
              pushable=("issopintegrationenabled",), booleans=("issopintegrationenabled",), datetimes=()),
    TableSpec("msdynce_p2cautonumber", "msdynce_p2cautonumbers", "msdynce_p2cautonumberid",
              ("msdynce_entityname", "msdynce_prefix", "msdynce_numbersequence", "msdynce_suffixlength"),
              pushable=("msdynce_numbersequence",), local_key="msdynce_entityname", p2c_only=True,
              datetimes=()),
    TableSpec("account", "accounts", "accountid",
              ("accountid", "name", "accountnumber", "address1_country", "address1_city") + _DOC_COLUMNS,
              pushable=("accountnumber",)),
    TableSpec("contact", "contacts", "contactid",
              ("contactid", "firstname", "lastname", "address1_country") + _DOC_COLUMNS,
              lookups={"parentcustomerid": "parentcustomeridtype"}),
    TableSpec("quote", "quotes", "quoteid", ("quoteid",) + _DOC_COLUMNS,
              lookups={"customerid": "customeridtype"}),
    TableSpec("salesorder", "salesorders", "salesorderid", ("salesorderid",) + _DOC_COLUMNS,
              lookups={"customerid": "customeridtype"}),
    TableSpec("invoice", "invoices", "invoiceid", ("invoiceid",) + _DOC_COLUMNS,
              lookups={"customerid": "customeridtype"}),
)

#: The contact columns the P2C solution adds; pulled (and pushed) only when it is installed.
P2C_CONTACT_COLUMNS = ("msdynce_contactnumber", "msdynce_isactivecustomer", "msdynce_iscompanyanaccount")
P2C_BOOLEANS = ("msdynce_isactivecustomer", "msdynce_iscompanyanaccount")

#: Sequence table in the org: the record push reserves numbers in.
SEQUENCE_TABLE = "msdynce_p2cautonumber"
#: which table/column holds the numbers of each sequence row
NUMBER_COLUMNS = {"account": ("account", "accountnumber"), "contact": ("contact", "msdynce_contactnumber")}


def table_specs(solution_installed: bool) -> list[TableSpec]:
    """The specs to pull, contact widened with the P2C columns when the solution is installed."""
    out: list[TableSpec] = []
    for spec in TABLES:
        if spec.p2c_only and not solution_installed:
            continue
        if spec.name == "contact" and solution_installed:
            spec = TableSpec(spec.name, spec.entity_set, spec.key, spec.columns + P2C_CONTACT_COLUMNS,
                             spec.lookups, P2C_CONTACT_COLUMNS, booleans=P2C_BOOLEANS)
        out.append(spec)
    return out


def with_columns(spec: TableSpec, extra: dict[str, Any]) -> TableSpec:
    """`spec` also pulling `extra` (column -> SQLAlchemy type; read-only, never pushed)."""
    cols = tuple(c for c in extra if c not in spec.columns)
    dates = tuple(c for c in cols if isinstance(extra[c], sa.DateTime))
    return TableSpec(spec.name, spec.entity_set, spec.key, spec.columns + cols, spec.lookups, spec.pushable,
                     spec.local_key, spec.p2c_only, spec.booleans, spec.datetimes + dates)


def spec_for(name: str, solution_installed: bool = True) -> TableSpec:
    for spec in table_specs(solution_installed):
        if spec.name == name:
            return spec
    raise KeyError(name)


def canon(value: Any) -> str | None:
    """A value as text, the way the journal writes it (booleans 'true'/'false')."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_datetime(value: Any) -> datetime | None:
    """Dataverse's `2024-01-31T10:00:00Z` as a naive UTC datetime (the working tables' DateTime)."""
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=None)


def org_value_for_push(spec: TableSpec, col: str, text: str | None) -> Any:
    """A journal/working value (text) as the JSON value the Web API expects."""
    if text is None:
        return None
    if col in spec.booleans:
        return text.lower() in ("true", "1")
    if col == "msdynce_numbersequence":
        return int(text)
    return text
