"""The Sales side of the sync: checks before anything is written, and the key-batch queries.

Every query is SQLAlchemy Core over reflected tables: column names from templates and the
configuration are looked up in the reflected table (never pasted into SQL text), and values are
bound parameters.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import BlockedError, P2CError
from ..schema import P2C_COLUMNS
from . import state
from .templates import TaskPlan

PARENT_COLUMNS = ("parentcustomerid", "parentcustomeridtype")


def reflect(conn: Connection, names: set[str]) -> dict[str, sa.Table]:
    md = sa.MetaData()
    insp = sa.inspect(conn)
    missing = sorted(n for n in names if not insp.has_table(n))
    if missing:
        raise P2CError("not a Sales database: missing table " + ", ".join(missing))
    return {n: sa.Table(n, md, autoload_with=conn) for n in sorted(names)}


def check_columns(tables: dict[str, sa.Table], plans: list[TaskPlan]) -> None:
    """Name every missing column at once: P2C columns mean the upgrade has not run."""
    p2c = [f"{c.table}.{c.column}" for c in P2C_COLUMNS
           if c.table in tables and c.column not in tables[c.table].c]
    if p2c:
        raise P2CError("the upgrade has not been run: missing column " + ", ".join(p2c)
                       + "; run `p2c-upgrade run` before the sync")
    missing: list[str] = []
    for plan in plans:
        t = plan.template
        table = tables[t.source]
        needed = plan.source_columns() + (list(PARENT_COLUMNS) if t.parent_task else [])
        for col in needed:
            if col not in table.c:
                where = [f"{name}" for name, spec in plan.fields if spec.source == col]
                label = f"{t.source}.{col}" + (f" (mapped to {', '.join(where)} in task "
                                                f"{t.task})" if where else "")
                if label not in missing:
                    missing.append(label)
    if missing:
        raise P2CError("cannot synchronize: missing column " + ", ".join(missing))


def check_duplicates(conn: Connection) -> None:
    from ..duplicates import count_collision_groups

    groups = count_collision_groups(conn)
    if groups:
        raise BlockedError(
            f"initial-sync is blocked: {groups} groups of colliding account numbers; list them "
            "with `p2c-upgrade duplicates`, resolve with `p2c-upgrade duplicates --renumber`, "
            "then sync again (nothing was written)"
        )


def selection(plan: TaskPlan, table: sa.Table) -> list[sa.ColumnElement[bool]]:
    """The template's selection; a NULL flag counts as No."""
    conds: list[sa.ColumnElement[bool]] = []
    for col, value in plan.template.selection:
        column = table.c[col]
        if isinstance(value, bool):
            conds.append(sa.func.coalesce(column, sa.false()) == sa.literal(value))
        else:
            conds.append(column == sa.literal(value))
    return conds


def count_selected(conn: Connection, plan: TaskPlan, tables: dict[str, sa.Table]) -> int:
    table = tables[plan.template.source]
    query = sa.select(sa.func.count()).select_from(table).where(*selection(plan, table))
    return int(conn.execute(query).scalar_one())


def batch_query(plan: TaskPlan, tables: dict[str, sa.Table], target_id: str,
                after: Any, limit: int) -> sa.Select[Any]:
    """The next key batch of the task's records, with their state (and their parent's)."""
    t = plan.template
    src = tables[t.source].alias("src")
    rec = state.records.alias("s")
    key = src.c[t.id_column]
    cols: list[Any] = [src.c[c].label(c) for c in plan.source_columns()]
    cols += [rec.c.status.label("state_status"), rec.c.fingerprint.label("state_fingerprint"),
             rec.c.reason.label("state_reason"), rec.c.detail.label("state_detail"),
             rec.c.key_value.label("state_key_value"), rec.c.key_fold.label("state_key_fold")]
    joined = src.outerjoin(rec, sa.and_(
        rec.c.target_id == target_id, rec.c.task == t.task,
        rec.c.source_id == sa.cast(key, sa.String),
    ))
    if t.parent_task:
        parent = tables["account"].alias("pa")
        pstate = state.records.alias("ps")
        cols += [src.c[c].label(c) for c in PARENT_COLUMNS if c not in plan.source_columns()]
        cols += [parent.c.accountid.label("parent_found"),
                 parent.c.accountnumber.label("parent_number"),
                 pstate.c.status.label("parent_status"),
                 pstate.c.key_value.label("parent_key"),
                 pstate.c.reason.label("parent_reason")]
        joined = joined.outerjoin(parent, sa.and_(
            src.c.parentcustomeridtype == "account",
            parent.c.accountid == src.c.parentcustomerid,
        )).outerjoin(pstate, sa.and_(
            pstate.c.target_id == target_id, pstate.c.task == t.parent_task,
            pstate.c.source_id == sa.cast(src.c.parentcustomerid, sa.String),
        ))
    query = sa.select(*cols).select_from(joined).where(*selection(plan, src))
    if after is not None:
        query = query.where(key > after)
    return query.order_by(key).limit(limit)


def unselected_contacts(conn: Connection, plans: list[TaskPlan], tables: dict[str, sa.Table]
                        ) -> dict[str, int]:
    """Contacts that no task selects, counted by why (reason codes of `reasons.py`)."""
    contact = tables["contact"]
    chosen = [sa.and_(*selection(p, contact)) for p in plans if p.template.source == "contact"]
    reason = sa.case(
        (contact.c.parentcustomerid.is_(None), "no_parent"),
        (contact.c.parentcustomeridtype == "account", "company_not_flagged"),
        else_="parent_is_contact",
    ).label("reason")
    query = (sa.select(reason, sa.func.count()).select_from(contact)
             .where(sa.not_(sa.or_(*chosen))).group_by(reason))
    return {str(r): int(n) for r, n in conn.execute(query)}
