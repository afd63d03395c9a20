"""`plan --target fno:URL`: the F&O preflight's gaps as findings of the plan itself.

The preflight (`p2c_upgrade/fno/preflight.py`) reads the Sales database and F&O's OData setup
collections only; nothing is uploaded or imported. Each gap becomes one example of a blocker
finding (codes `fno_*` in `p2c_upgrade/plan/findings.py` KINDS), so every format (table, JSON,
markdown, HTML, csv) shows it and `plan` exits 3 (contract: exit 3, blocked by the data).
Shapes: `Finding.count` = records carrying the missing values (1 for the legal entity and the
number sequence); examples `F&O <legal entity> | <field or subject> | <missing value>`.
Errors: a target other than `fno:` is a UsageError; F&O unreachable, 401/403 are one line
(FnoError, exit 1) from the client.
"""

from __future__ import annotations

from typing import Any

from p2c_upgrade.db.connection import Database
from p2c_upgrade.errors import UsageError
from p2c_upgrade.plan import findings as fnd
from p2c_upgrade.plan.model import Example, Finding, Plan
from p2c_upgrade.plan.source import EXAMPLES

PREFIX = "fno:"


def add_fno_preflight(plan: Plan, db: Database, config: Any, target: str) -> int:
    """Run the preflight against `target` (`fno:https://HOST`) and add its findings to `plan`
    (re-ordered, blockers first). Returns the number of gaps found (0: F&O is ready)."""
    from p2c_upgrade.fno.preflight import plan_preflight

    if not target.startswith(PREFIX):
        raise UsageError(f"plan --target takes a live F&O environment: fno:https://HOST, not {target!r}")
    gaps = plan_preflight(db, config, target[len(PREFIX):])
    legal = config.fno.legal_entity or ""
    grouped: dict[str, Finding] = {}
    for gap in gaps:
        f = grouped.get(gap.code)
        if f is None:
            f = grouped[gap.code] = fnd.finding(gap.code, 0)
            f.count = 0
        f.count += max(gap.records, 1)
        f.by_table[f"F&O {legal}"] = f.count
        if len(f.examples) < EXAMPLES:
            f.examples.append(Example(f"F&O {legal}", gap.subject or gap.code,
                                      gap.value or gap.message))
    plan.findings = fnd.ordered([*plan.findings, *grouped.values()])
    return len(gaps)
