"""`p2c-upgrade plan`: the dry-run report. Exact, complete and read-only.

`build_plan(db, config)` reads one snapshot of a Sales database (untouched, half-upgraded or
done) in a read-only transaction and says what `run` would change, record for record;
`write_report(plan, fmt, out)` renders it as a terminal table, JSON, markdown, HTML or the csv
change list (streamed). See docs/plan.md and runbooks/reviewing-the-dry-run.md.
"""

from __future__ import annotations

from p2c_upgrade.plan.build import build_plan
from p2c_upgrade.plan.model import PLAN_VERSION, Plan
from p2c_upgrade.plan.render import FORMATS, write_report

__all__ = ["FORMATS", "PLAN_VERSION", "Plan", "build_plan", "write_report"]
