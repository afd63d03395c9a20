"""Does the F&O environment hold what the records will reference? Checked before anything is
uploaded (`sync`/`run --target fno:`) and by `plan --target fno:` (reads only).

The values come from the Sales database after defaults and value maps, exactly as the mapper
will produce them: one `SELECT column, count(*) ... GROUP BY column` per Sales column over the
task's selected rows, then the (few) distinct values go through the task's compiled mapping.
Then the environment's setup is read over OData: LegalEntities, CustomerGroups (of the legal
entity), Currencies, LanguageCodes, AddressCountryRegions (ISOcode for the `...ISOCODE` fields,
CountryRegion for the `...COUNTRYREGIONID` fields), and the customer account number sequence
(NumberSequencesV2References -> SequenceV2Tables): it must be Manual or allow "To a higher number"
(Microsoft Learn, dual-write-numseq). Each gap is a `Finding` naming what to set up in F&O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from p2c_upgrade.errors import BlockedError
from p2c_upgrade.fno.client import FnoClient
from p2c_upgrade.sync import source
from p2c_upgrade.sync.countries import map_key
from p2c_upgrade.sync.entities import fno_key, is_country_id_field
from p2c_upgrade.sync.mapping import Mapper, text
from p2c_upgrade.sync.templates import TaskPlan

#: field -> (OData collection, its value field, per company?, what to set up)
SETUP = {
    "CUSTOMERGROUPID": ("CustomerGroups", "CustomerGroupId", True,
                        "customer group {v} (Accounts receivable > Setup > Customer groups)"),
    "SALESCURRENCYCODE": ("Currencies", "CurrencyCode", False,
                          "currency {v} (General ledger > Currencies > Currencies)"),
    "LANGUAGEID": ("LanguageCodes", "LanguageId", False,
                   "language {v} (Organization administration > Setup > Languages)"),
}
#: field -> the finding's code (plan's finding codes, `p2c_upgrade/plan/findings.py` KINDS)
CODES = {"CUSTOMERGROUPID": "fno_customer_group", "SALESCURRENCYCODE": "fno_currency",
         "LANGUAGEID": "fno_language"}


@dataclass(frozen=True)
class Finding:
    """One gap. `subject` names what is missing (a field, "legal entity", "number sequence"),
    `value` the missing value or the sequence's code; `records` how many records carry it."""

    code: str  # fno_legal_entity, fno_customer_group, fno_currency, fno_language,
    #            fno_country, fno_number_sequence
    message: str
    records: int = 0
    subject: str = ""
    value: str = ""


def distinct_values(conn: sa.Connection, plans: list[TaskPlan], tables: dict[str, Any],
                    country_codes: str) -> dict[str, Counter[str]]:
    """field -> value -> records carrying it, for the checked fields of every task."""
    checked = set(SETUP)
    out: dict[str, Counter[str]] = {}
    for plan in plans:
        mapper = Mapper(plan, country_codes)
        table = tables[plan.template.source]
        total: int | None = None
        for step in mapper.steps:
            if step.name not in checked and step.name not in plan.entity.country_fields:
                continue
            counter = out.setdefault(step.name, Counter())
            if step.row_key is None:
                value = step.constant if step.constant is not None else step.default
                if value is not None:
                    if total is None:
                        total = source.count_selected(conn, plan, tables)
                    if total:
                        counter[value] += total
                continue
            column = table.c[step.row_key]
            query = (sa.select(column, sa.func.count()).where(*source.selection(plan, table))
                     .group_by(column))
            for raw, n in conn.execute(query):
                value = text(raw)
                if value is None:
                    mapped = step.default
                elif step.resolver is not None:
                    mapped = step.resolver.resolve(value)  # unknown: the record fails locally
                elif step.value_map is not None:
                    mapped = step.value_map.get(map_key(value), value)
                else:
                    mapped = value
                if mapped is not None:
                    counter[mapped] += int(n)
    return out


def _set(client: FnoClient, collection: str, field: str, params: dict[str, str] | None = None
         ) -> set[str]:
    return {fno_key(str(row.get(field, ""))) for row in
            client.odata(collection, {"$select": field, **(params or {})})}


def check(client: FnoClient, legal_entity: str, values: dict[str, Counter[str]]) -> list[Finding]:
    """Compare the values with the environment's setup; every gap is a finding."""
    findings: list[Finding] = []
    entities = _set(client, "LegalEntities", "LegalEntityId")
    if fno_key(legal_entity) not in entities:
        return [Finding("fno_legal_entity", f"legal entity {legal_entity} does not exist in F&O: "
                        "set [fno] legal_entity to an existing company (Organization "
                        "administration > Organizations > Legal entities)",
                        subject="legal entity", value=legal_entity)]
    company = legal_entity.lower()
    for field, (collection, key, per_company, what) in SETUP.items():
        if not values.get(field):
            continue
        params = {"cross-company": "true", "$filter": f"dataAreaId eq '{company}'"} \
            if per_company else {}
        have = _set(client, collection, key, params)
        for value, n in sorted(values[field].items()):
            if fno_key(value) not in have:
                findings.append(Finding(CODES[field], f"{field} {value!r} ({n:,} "
                                        f"records) does not exist in F&O{' ' + legal_entity if per_company else ''}: "
                                        f"create {what.format(v=repr(value))}, or map it to one "
                                        "that exists ([sync.defaults] / [sync.value_maps])", n,
                                        field, value))
    country_fields = [f for f in values if f.endswith("ISOCODE") or is_country_id_field(f)]
    if country_fields:
        rows = list(client.odata("AddressCountryRegions", {"$select": "CountryRegion,ISOcode"}))
        iso = {fno_key(str(r.get("ISOcode", ""))) for r in rows}
        ids = {fno_key(str(r.get("CountryRegion", ""))) for r in rows}
        for field in sorted(country_fields):
            have, kind = (ids, "country/region id") if is_country_id_field(field) else (iso, "ISO code")
            for value, n in sorted(values[field].items()):
                if fno_key(value) not in have:
                    findings.append(Finding("fno_country", f"{field} {value!r} ({n:,} records) is "
                                            f"not the {kind} of any country/region in F&O: add it "
                                            "(Organization administration > Global address book > "
                                            "Addresses > Country/region), or set [sync] "
                                            "country_codes / a country value map", n,
                                            field, value))
    findings.extend(_sequence(client, legal_entity))
    return findings


def _sequence(client: FnoClient, legal_entity: str) -> list[Finding]:
    refs = [r for r in client.odata("NumberSequencesV2References")
            if str(r.get("DataTypeName", "")).lower() == "customer account"
            and fno_key(str(r.get("ScopeValue", ""))) in (fno_key(legal_entity), "")]
    where = ("Accounts receivable > Setup > Accounts receivable parameters > Number sequences, "
             "Customer account")
    if not refs or not refs[0].get("NumberSequenceCode"):
        return [Finding("fno_number_sequence", f"no number sequence is set for customer accounts in "
                        f"{legal_entity}: set one up ({where}) that is Manual or allows "
                        "\"To a higher number\"", subject="number sequence")]
    code = str(refs[0]["NumberSequenceCode"])
    seqs = [s for s in client.odata("SequenceV2Tables")
            if fno_key(str(s.get("NumberSequenceCode", ""))) == fno_key(code)
            and fno_key(str(s.get("ScopeValue", ""))) in (fno_key(legal_entity), "")]
    if not seqs:
        return [Finding("fno_number_sequence", f"number sequence {code} of customer accounts is not "
                        "readable in F&O (SequenceV2Tables)", subject="number sequence",
                        value=code)]
    seq = seqs[0]
    if str(seq.get("Manual")) == "Yes" or str(seq.get("ToAHigherNumber")) == "Yes":
        return []
    return [Finding("fno_number_sequence", f"number sequence {code} of customer accounts in "
                    f"{legal_entity} refuses given numbers (neither Manual nor \"To a higher "
                    f"number\"), so F&O rejects every new customer: set Manual = Yes in "
                    f"Organization administration > Number sequences > {code} ({where})",
                    subject="number sequence", value=code)]


def preflight(db: Any, client: FnoClient, legal_entity: str, plans: list[TaskPlan],
              tables: dict[str, Any], config: Any) -> list[Finding]:
    with db.engine.connect() as conn:
        values = distinct_values(conn, plans, tables, config.country_codes)
    return check(client, legal_entity, values)


def require_preflight(db: Any, client: FnoClient, legal_entity: str, plans: list[TaskPlan],
                      tables: dict[str, Any], config: Any) -> None:
    """Raise BlockedError (exit 3) naming every finding; nothing has been uploaded."""
    findings = preflight(db, client, legal_entity, plans, tables, config)
    if findings:
        lines = "; ".join(f.message for f in findings)
        raise BlockedError(f"F&O is not ready for the import ({len(findings)} findings, nothing "
                           f"was uploaded): {lines}")


def plan_preflight(db: Any, config: Any, url: str) -> list[Finding]:
    """The preflight for `plan --target fno:URL` (reads Sales and F&O only)."""
    from p2c_upgrade.sync.targets.fno import connect
    from p2c_upgrade.sync.templates import plan_tasks

    client, _ = connect(url, config.fno)
    plans = plan_tasks(config)
    with db.engine.connect() as conn:
        tables = source.reflect(conn, {p.template.source for p in plans} | {"account"})
    return preflight(db, client, config.fno.require_legal_entity(), plans, tables, config)
