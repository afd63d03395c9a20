"""The sync routing preview: which records each initial-sync task would select after the
upgrade, which contacts no task selects and why, and the country values the sync cannot map.

Countries are resolved exactly as the sync does (`p2c_upgrade.sync.countries`: the task's value
map, then an exact ISO 3166 lookup, never fuzzy), once per distinct value: SQL groups the
records by country, Python only sees the distinct values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.config import Config
from p2c_upgrade.db.connection import Database
from p2c_upgrade.plan.findings import KINDS, finding
from p2c_upgrade.plan.model import Example, Finding, SyncTask, Unsynced
from p2c_upgrade.plan.source import EXAMPLES, Snapshot, contacts_sql, route_sql, statement
from p2c_upgrade.plan.steps import ContactSummary
from p2c_upgrade.sync.countries import CountryResolver
from p2c_upgrade.sync.entities import ENTITIES
from p2c_upgrade.sync.mapping import text
from p2c_upgrade.sync.reasons import REASONS
from p2c_upgrade.sync.selection import SKIP_REASONS_AFTER_UPGRADE
from p2c_upgrade.sync.templates import TaskPlan, plan_tasks, shipped_templates

#: The initial sync's per-run limit (dual-write guidance): at most 500,000 rows per task run.
ROW_LIMIT = 500_000
#: unknown country values the unknown_country finding's action writes out as configuration lines
MAPPED_EXAMPLES = 5

#: (task, F&O entity, what it selects), from the templates.
TASKS = tuple((t.task, ENTITIES[t.entity].display_name, t.selects) for t in shipped_templates())

#: Why contacts no task selects are skipped (`sync.selection`), with the sync's own meanings.
UNSYNCED_MEANINGS = {code: REASONS[code].meaning for code in SKIP_REASONS_AFTER_UPGRADE}


@dataclass
class CountryRule:
    """How one task turns address1_country into an ISO code."""

    resolver: CountryResolver
    default: str | None


def country_rules(config: Config) -> dict[str, CountryRule]:
    rules: dict[str, CountryRule] = {}
    for plan in plan_tasks(config):
        rule = _rule(plan, config)
        if rule is not None:
            rules[plan.task] = rule
    return rules


def _rule(plan: TaskPlan, config: Config) -> CountryRule | None:
    for name, spec in plan.fields:
        if name in plan.entity.country_fields and spec.source == "address1_country":
            mapping = plan.value_maps.get(spec.value_map or "country", {})
            return CountryRule(CountryResolver(mapping, config.country_codes), spec.default)
    return None


def sync_preview(accounts: int, contacts: ContactSummary
                 ) -> tuple[list[SyncTask], list[Unsynced], list[Finding]]:
    rows = {"Accounts": accounts, **{t: contacts.routes.get(t, 0)
                                     for t in ("Contacts", "ContactToCustomer")}}
    tasks = [SyncTask(task, entity, selects, rows[task], rows[task] > ROW_LIMIT)
             for task, entity, selects in TASKS]
    unsynced = [Unsynced(reason, contacts.routes.get(reason, 0), meaning)
                for reason, meaning in UNSYNCED_MEANINGS.items()]
    findings: list[Finding] = []
    over = [t for t in tasks if t.over_limit]
    if over:
        findings.append(finding(
            "sync_task_over_limit", len(over),
            [Example("sync", t.task, f"{t.rows:,} rows") for t in over],
            title=f"Sync tasks over the initial sync's per-run limit of {ROW_LIMIT:,} rows"))
    return tasks, unsynced, findings


def account_countries(conn: Connection, db: Database) -> dict[str | None, int]:
    sql = statement(db, "account_countries")
    return {r[0]: int(r[1]) for r in conn.execute(sa.text(sql))}


def country_findings(conn: Connection, db: Database, snap: Snapshot, config: Config,
                     accounts: dict[str | None, int], contacts: ContactSummary) -> list[Finding]:
    """Blank and unknown countries among the records the sync selects."""
    rules = country_rules(config)
    per_table: dict[str, list[tuple[str, dict[str | None, int]]]] = {
        "account": [("Accounts", accounts)],
        "contact": [(task, contacts.countries.get(task, {}))
                    for task in ("Contacts", "ContactToCustomer")],
    }
    counts: dict[str, dict[str, int]] = {"blank_country": {}, "unknown_country": {}}
    values: dict[tuple[str, str], set[str | None]] = {}
    for table, groups in per_table.items():
        for task, by_value in groups:
            rule = rules.get(task)
            if rule is None:
                continue
            for raw, n in by_value.items():
                value = text(raw)
                if value is None:
                    code = "blank_country"
                elif rule.resolver.resolve(value) is None:
                    code = "unknown_country"
                else:
                    continue
                counts[code][table] = counts[code].get(table, 0) + n
                values.setdefault((code, table), set()).add(raw)
    out: list[Finding] = []
    for code, by_table in counts.items():
        if not by_table:
            continue
        examples: list[Example] = []
        for table in by_table:
            examples += _examples(conn, db, snap, table, values[(code, table)])
        out.append(finding(code, sum(by_table.values()), examples, by_table,
                           title=_title(code, rules), action=_action(code, values)))
    return out


def _action(code: str, values: dict[tuple[str, str], set[str | None]]) -> str | None:
    """unknown_country: the kind's action with the configuration lines to fill in, one per
    unknown value (the first few, sorted), e.g. `[sync.value_maps.country] "Atlantis" = "??"`."""
    if code != "unknown_country":
        return None
    unknown = sorted({v for (c, _), vs in values.items() if c == code for v in vs if v is not None})
    lines = " ".join(f"{json.dumps(v, ensure_ascii=False)} = \"??\"" for v in unknown[:MAPPED_EXAMPLES])
    more = f" (and {len(unknown) - MAPPED_EXAMPLES} more values)" if len(unknown) > MAPPED_EXAMPLES else ""
    return f"{KINDS[code].action}: [sync.value_maps.country] {lines}{more}"


def _title(code: str, rules: dict[str, CountryRule]) -> str | None:
    if code != "blank_country":
        return None
    defaults = sorted({r.default or "none: the record fails to sync" for r in rules.values()})
    return ("Records the sync selects with a blank country (the sync's default applies: "
            + ", ".join(defaults) + ")")


def _examples(conn: Connection, db: Database, snap: Snapshot, table: str,
              raw_values: set[str | None]) -> list[Example]:
    strings = sorted(v for v in raw_values if v is not None)
    name = f"{table}_country_examples"
    extra: dict[str, str] = {}
    params: dict[str, Any] = {"values": strings, "with_null": 1 if None in raw_values else 0,
                              "examples": EXAMPLES}
    if table == "contact":
        routes, route_params = route_sql()
        extra = {"contacts": contacts_sql(db, snap), "selected": routes["selected"]}
        params.update(route_params)
    sql = sa.text(statement(db, name, **extra)).bindparams(
        sa.bindparam("values", expanding=True, type_=sa.String()))
    return [Example(table, r.id, r.value) for r in conn.execute(sql, params)]
