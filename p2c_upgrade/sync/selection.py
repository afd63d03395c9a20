"""Which task selects a record, and why no task selects a contact: the one definition.

**Selection** is each template's `[selection]` (`p2c_upgrade/templates/*.toml`): every listed
column equals its value, a NULL flag counting as No. **A contact no template selects** is
skipped for the first rule of `SKIP_RULES` that holds, else for `FALLBACK`:

| reason | condition |
|---|---|
| `no_parent` | parentcustomerid is NULL |
| `company_not_flagged` | parentcustomeridtype = 'account' (only before the upgrade's flag step) |
| `parent_is_contact` | parentcustomeridtype = 'contact' |
| `parent_type_unknown` | anything else: NULL, '', 'lead', 'Account', 'systemuser', ... |

Type values compare exactly (case-sensitive), as the Contacts template, `company-is-account`
(sql/<dialect>/flags.sql) and the sync's parent join do. The sync builds SQLAlchemy expressions
from this (`selection`, `skip_reason`); `plan` renders the same rules as SQL over the contact
state it computes for after the upgrade (`route_sql`). The reasons' meanings and fixes are in
`reasons.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from p2c_upgrade.sync.templates import TaskPlan, Template, shipped_templates


@dataclass(frozen=True)
class SkipRule:
    reason: str
    #: the parentcustomeridtype it matches; None: the rule is "parentcustomerid is NULL"
    parent_type: str | None
    #: whether a contact can still have this reason once the upgrade has run (plan reports it)
    after_upgrade: bool


SKIP_RULES = (
    SkipRule("no_parent", None, True),
    SkipRule("company_not_flagged", "account", False),
    SkipRule("parent_is_contact", "contact", True),
)
FALLBACK = "parent_type_unknown"

#: Every reason a skipped contact can have, in the order the rules are tried.
SKIP_REASONS = (*(r.reason for r in SKIP_RULES), FALLBACK)
#: The reasons plan reports: those a contact can have after the upgrade.
SKIP_REASONS_AFTER_UPGRADE = (*(r.reason for r in SKIP_RULES if r.after_upgrade), FALLBACK)


def contact_templates() -> tuple[Template, ...]:
    """The templates that select contacts, in dependency order."""
    return tuple(t for t in shipped_templates() if t.source == "contact")


# -- the sync: SQLAlchemy over the Sales tables ----------------------------------------------


def selection(plan: TaskPlan, table: sa.FromClause) -> list[sa.ColumnElement[bool]]:
    """The template's selection; a NULL flag counts as No."""
    conds: list[sa.ColumnElement[bool]] = []
    for col, value in plan.template.selection:
        column = table.c[col]
        if isinstance(value, bool):
            conds.append(sa.func.coalesce(column, sa.false()) == sa.literal(value))
        else:
            conds.append(column == sa.literal(value))
    return conds


def skip_reason(contact: sa.FromClause) -> sa.ColumnElement[str]:
    """Why a contact no template selects is skipped (a CASE over its parent columns)."""
    whens: list[tuple[sa.ColumnElement[bool], str]] = []
    for rule in SKIP_RULES:
        if rule.parent_type is None:
            whens.append((contact.c.parentcustomerid.is_(None), rule.reason))
        else:
            whens.append((contact.c.parentcustomeridtype == rule.parent_type, rule.reason))
    return sa.case(*whens, else_=FALLBACK)


# -- SQL text: plan.sql's contact state, the sync's key owners --------------------------------


class Binder:
    """Names bind parameters `<prefix>_<n>` for values rendered into SQL text; `params` holds
    them for the execution."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.params: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"{self.prefix}_{len(self.params)}"
        self.params[name] = value
        return f"CAST(:{name} AS text)" if isinstance(value, str) else f":{name}"


def selection_sql(t: Template, columns: Mapping[str, str], bind: Binder,
                  flag: Callable[[bool], Any] = bool) -> str:
    """The template's selection as a SQL condition: `columns` maps each selection column to
    the SQL expression to read; `flag` turns a flag value into what that expression holds
    (bool for the Sales columns, int for plan's 1/0 state)."""
    conds = []
    for col, value in t.selection:
        expr = columns[col]
        if isinstance(value, bool):
            conds.append(f"coalesce({expr}, {bind(flag(False))}) = {bind(flag(value))}")
        else:
            conds.append(f"{expr} = {bind(value)}")
    return "(" + " AND ".join(conds or ["1 = 1"]) + ")"


def route_sql(columns: Mapping[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    """SQL for plan.sql: `{route}`, the task whose template selects a contact, else its skip
    reason (`SKIP_RULES`); and `{selected}`, whether any contact template selects it. `columns`
    maps each column the rules read (the templates' selection columns, parentcustomerid,
    parentcustomeridtype) to the SQL expression plan reads it from; flags as 1/0. Returns the
    two fragments and their bind parameters (`route_*`)."""
    bind = Binder("route")
    tasks = [(selection_sql(t, columns, bind, int), t.task) for t in contact_templates()]
    whens = [f"WHEN {cond} THEN {bind(task)}" for cond, task in tasks]
    for rule in SKIP_RULES:
        if rule.parent_type is None:
            cond = f"{columns['parentcustomerid']} IS NULL"
        else:
            cond = f"{columns['parentcustomeridtype']} = {bind(rule.parent_type)}"
        whens.append(f"WHEN {cond} THEN {bind(rule.reason)}")
    route = "CASE " + " ".join(whens) + f" ELSE {bind(FALLBACK)} END"
    selected = "(" + " OR ".join(cond for cond, _ in tasks) + ")"
    return {"route": route, "selected": selected}, bind.params
