"""What each upgrade step would change, counted in SQL with the statements `run` itself uses.

The numbering steps run `run`'s own queue, reserved-number and assign statements over the
whole queue (so the announced ranges are the ones `run` hands out); the flag steps and
`prepare` use the same predicates as `sql/<dialect>/flags.sql` and `prepare.sql`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.db.schema import AUTONUMBER_ROWS, AUTONUMBER_TABLE, DOCUMENT_TABLES, P2C_COLUMNS
from p2c_upgrade.errors import P2CError
from p2c_upgrade.plan.model import BLOCKED, NOTHING, PENDING, NumberAt, NumberPlan, SchemaChange, StepPlan
from p2c_upgrade.plan.source import (
    Snapshot,
    contacts_sql,
    job_for,
    number_params,
    number_sql,
    route_sql,
    statement,
)
from p2c_upgrade.rules.number_format import MAX_NUMBER_LENGTH
from p2c_upgrade.sync.selection import contact_templates
from p2c_upgrade.upgrade.steps.prepare import customerid_index_missing

_PLURAL = {"column": "columns", "table": "tables", "row": "rows", "index": "indexes"}
_ARTICLE = {"quote": "a quote", "salesorder": "a salesorder", "invoice": "an invoice"}

#: Sync routes of contact_summary that a task selects: the contact templates' tasks.
CONTACT_TASKS = tuple(t.task for t in contact_templates())


def plan_prepare(conn: Connection, db: Database, snap: Snapshot
                 ) -> tuple[StepPlan, list[SchemaChange], int]:
    """Schema objects prepare would create, and organization rows it would switch on."""
    changes: list[SchemaChange] = []
    for col in P2C_COLUMNS:
        if not snap.has_column(col.table, col.column):
            default = f" DEFAULT {col.default}" if col.default else ""
            changes.append(SchemaChange(col.table, col.column, "column", col.ddl_type + default))
    if not snap.has_autonumber:
        changes.append(SchemaChange(AUTONUMBER_TABLE, AUTONUMBER_TABLE, "table",
                                    "the number sequences"))
    for entity, prefix, start, suffix_length in AUTONUMBER_ROWS:
        if snap.sequences[entity].source == "default":
            changes.append(SchemaChange(AUTONUMBER_TABLE, entity, "row",
                                        f"{prefix}|{start}|{suffix_length}"))
    for table in DOCUMENT_TABLES:
        if customerid_index_missing(conn, table):
            changes.append(SchemaChange(table, f"p2c_ix_{table}_customerid", "index",
                                        "on customerid, for active-customers"))
    org = 0
    if snap.has_organization_flag:
        org = int(conn.execute(sa.text(statement(db, "organization_count"))).scalar() or 0)
    parts = []
    if changes:
        kinds: dict[str, int] = defaultdict(int)
        for c in changes:
            kinds[c.kind] += 1
        parts.append(", ".join(f"{n} {_PLURAL[k] if n > 1 else k}" for k, n in kinds.items())
                     + " to create")
    if org:
        parts.append(f"{org} organization row(s) to switch issopintegrationenabled on")
    step = StepPlan("prepare", PENDING if parts else NOTHING, len(changes) + org,
                    "; ".join(parts) or "the P2C columns, sequences and indexes are in place")
    return step, changes, org


def plan_numbers(conn: Connection, db: Database, snap: Snapshot, step: str
                 ) -> tuple[StepPlan, NumberPlan]:
    job = job_for(step)
    seq = snap.sequences[job.entity]
    plan = NumberPlan(step=step, entity=job.entity, table=job.table, column=job.col,
                      prefix=None, suffix_length=None, sequence_source=seq.source, records=0,
                      next_value_before=None, next_value_after=None, error=seq.error)
    if seq.sequence is None:
        return StepPlan(step, BLOCKED, None, f"cannot plan: {seq.error}"), plan
    plan.prefix = seq.sequence.prefix
    plan.suffix_length = seq.sequence.suffix_length
    plan.next_value_before = plan.next_value_after = seq.sequence.next_value
    sql = number_sql(db, snap, job)
    params = number_params(snap, job.entity)
    count = int(conn.execute(sa.text(statement(db, "queue_size", queue=sql.queue)), params)
                .scalar() or 0)
    if count:
        at = statement(db, "number_at", planned=sql.planned)
        first = conn.execute(sa.text(at), number_params(snap, job.entity, 0, 1)).one()
        last_n = int(conn.execute(sa.text(statement(db, "nth_free", reserved=sql.reserved)),
                                  {**params, "count": count}).scalar_one())
        # run's last batch starts where the one before it left the sequence: at or below
        # last_n, with nothing free in between, so it hands out exactly last_n.
        last = conn.execute(sa.text(at), number_params(snap, job.entity, count - 1, count,
                                                       start=last_n)).one()
        if int(last.n) != last_n:
            raise P2CError(f"plan: the {job.entity} numbers do not add up "
                           f"(last {last.n}, expected {last_n}); please report this")
        plan.records = count
        plan.first = NumberAt(int(first.n), first.new, first.id)
        plan.last = NumberAt(last_n, last.new, last.id)
        plan.longest = max(len(first.new), len(last.new))
        plan.next_value_after = last_n + 1
    if not plan.records:
        return StepPlan(step, NOTHING, 0, f"no {job.table} is without {job.col}"), plan
    summary = (f"{plan.records:,} {job.table} records get {plan.first.number if plan.first else ''}"
               f" .. {plan.last.number if plan.last else ''}")
    status = PENDING
    if plan.longest > MAX_NUMBER_LENGTH:
        status = BLOCKED
        summary += f" (longer than {MAX_NUMBER_LENGTH} characters: run would stop)"
    return StepPlan(step, status, plan.records, summary), plan


@dataclass
class ContactSummary:
    """contact_summary aggregated: the two flag steps and the contacts' sync routes."""

    becomes_active: int = 0
    via: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DOCUMENT_TABLES, 0))
    to_true: int = 0
    to_false: int = 0
    routes: dict[str, int] = field(default_factory=dict)
    #: route -> country value -> contacts (only routes a sync task selects)
    countries: dict[str, dict[str | None, int]] = field(default_factory=dict)


def summarize_contacts(conn: Connection, db: Database, snap: Snapshot) -> ContactSummary:
    out = ContactSummary()
    routes, params = route_sql()
    sql = statement(db, "contact_summary", contacts=contacts_sql(db, snap), **routes)
    for r in conn.execute(sa.text(sql), params):
        out.routes[r.route] = out.routes.get(r.route, 0) + int(r.contacts)
        out.becomes_active += int(r.becomes_active or 0)
        for doc in DOCUMENT_TABLES:
            out.via[doc] += int(getattr(r, f"via_{doc}") or 0)
        out.to_true += int(r.company_to_true or 0)
        out.to_false += int(r.company_to_false or 0)
        if r.route in CONTACT_TASKS:
            per = out.countries.setdefault(r.route, {})
            per[r.address1_country] = per.get(r.address1_country, 0) + int(r.contacts)
    return out


def flag_steps(summary: ContactSummary) -> list[StepPlan]:
    active = summary.becomes_active
    via = ", ".join(f"{n:,} with {_ARTICLE[doc]}" for doc, n in summary.via.items() if n)
    company = summary.to_true + summary.to_false
    return [
        StepPlan("active-customers", PENDING if active else NOTHING, active,
                 f"{active:,} contacts become active customers ({via})" if active
                 else "every contact with a quote, order or invoice is an active customer"),
        StepPlan("company-is-account", PENDING if company else NOTHING, company,
                 f"{summary.to_true:,} flags No to Yes, {summary.to_false:,} Yes to No"
                 if company else "every contact's IsCompanyAnAccount matches its company"),
    ]
