"""`build_plan`: the whole dry-run report from one read-only snapshot of the database."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from p2c_upgrade import __version__
from p2c_upgrade.config import Config
from p2c_upgrade.db.connection import Database
from p2c_upgrade.db.lock import holder
from p2c_upgrade.host import host_name, os_user
from p2c_upgrade.plan import findings as fnd
from p2c_upgrade.plan.estimate import estimate_run
from p2c_upgrade.plan.model import BLOCKED, NOTHING, PENDING, READY, Example, Plan, StepPlan
from p2c_upgrade.plan.push import plan_push
from p2c_upgrade.plan.routing import ROW_LIMIT, account_countries, country_findings, sync_preview
from p2c_upgrade.plan.source import read_only_session, read_snapshot
from p2c_upgrade.plan.steps import flag_steps, plan_numbers, plan_prepare, summarize_contacts
from p2c_upgrade.sync.configured import check_configured_columns
from p2c_upgrade.upgrade.fingerprint import settings_parts, with_value


def build_plan(db: Database, config: Config | None, *, show_personal_data: bool = False) -> Plan:
    """Everything `run` would change, the duplicates, the data-quality findings and the sync
    routing; reads only (see `source.read_only_session`)."""
    config = config or Config()
    with read_only_session(db) as conn:
        snap = read_snapshot(conn, db, config.numbers_salt or "")
        check_configured_columns(snap.tables, config)
        plan = Plan(db=db, snapshot=snap,
                    generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    tool_version=__version__, show_personal_data=show_personal_data,
                    row_limit=ROW_LIMIT,
                    generated_by={"user": os_user(), "host": host_name()})
        prepare, plan.schema_changes, plan.organization_changes = plan_prepare(conn, db, snap)
        plan.steps.append(prepare)
        for step in ("account-numbers", "contact-numbers"):
            step_plan, numbers = plan_numbers(conn, db, snap, step)
            plan.steps.append(step_plan)
            plan.numbers.append(numbers)
        contacts = summarize_contacts(conn, db, snap)
        plan.steps += flag_steps(contacts)
        plan.active_customers = {"contacts": contacts.becomes_active, "via": dict(contacts.via)}
        plan.company_is_account = {"changes": contacts.to_true + contacts.to_false,
                                   "false_to_true": contacts.to_true,
                                   "true_to_false": contacts.to_false}
        plan.duplicates = fnd.duplicate_groups(conn)
        plan.steps.append(_gate(len(plan.duplicates)))
        countries = account_countries(conn, db)
        plan.sync_tasks, plan.unsynced, sync_findings = sync_preview(
            sum(countries.values()), contacts)
        plan.steps.append(_sync_step(plan))
        found = fnd.collision_findings(conn, snap, plan.duplicates)
        found += fnd.sequence_findings(snap, plan.numbers)
        found += fnd.key_findings(conn, db, snap)
        found += fnd.reference_findings(conn, db)
        found += country_findings(conn, db, snap, config, countries, contacts)
        found += sync_findings
        plan.push, push_findings = plan_push(conn, config)
        found += push_findings
        if show_personal_data:
            fnd.add_names(conn, db, found, plan.duplicates)
    running = holder(db)
    if running:
        found.append(fnd.finding("run_in_progress", 1, [Example("lock", "holder", running)]))
    plan.findings = fnd.ordered(found)
    plan.fingerprint = plan_fingerprint(plan, config)
    plan.estimate = estimate_run(db.dialect, {s.step: s.changes for s in plan.steps
                                              if s.status == PENDING and s.changes is not None})
    return plan


def plan_fingerprint(plan: Plan, config: Config) -> dict[str, Any]:
    """What determines `run`'s result, as this plan read it (`upgrade.fingerprint`)."""
    sequences: dict[str, Any] = {}
    for entity, sp in sorted(plan.snapshot.sequences.items()):
        seq = sp.sequence
        sequences[entity] = ({"prefix": seq.prefix, "next_value": seq.next_value,
                              "suffix_length": seq.suffix_length} if seq is not None
                             else {"error": sp.error})
    data = {
        "changes": {s.step: s.changes for s in plan.steps if s.changes is not None},
        "numbers": {n.step: [n.records, n.first.number if n.first else None,
                             n.last.number if n.last else None] for n in plan.numbers},
        "duplicate_groups": len(plan.duplicates),
    }
    return with_value({**settings_parts(config), "sequences": sequences, "data": data})


def _gate(groups: int) -> StepPlan:
    if groups:
        return StepPlan("duplicate-account-numbers", BLOCKED, 0,
                        f"{groups} groups of colliding account numbers block initial-sync")
    return StepPlan("duplicate-account-numbers", NOTHING, 0, "no colliding account numbers")


def _sync_step(plan: Plan) -> StepPlan:
    rows = ", ".join(f"{t.task} {t.rows:,}" for t in plan.sync_tasks)
    if plan.duplicates:
        return StepPlan("initial-sync", BLOCKED, None,
                        f"blocked by duplicate account numbers; would select {rows}")
    return StepPlan("initial-sync", READY, None,
                    f"would select {rows} (see Sync routing); plan does not sync")
