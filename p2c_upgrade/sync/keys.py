"""Who keeps a key in F&O, from the Sales data as it is now.

Records of the tasks that write one F&O entity (customers: Accounts and ContactToCustomer;
contact persons: Contacts) may share a key as F&O compares keys (`rules.keys.fno_key`). One of
them keeps it: the first task in dependency order (an account before a contact), then the
oldest record (createdon, then primary key), as `plan` and `duplicates` order them. The others
fail as `key_conflict`.

At the start of every sync `build_owners` recomputes, set-based in the Sales database, the keys
held by more than one selected record and who keeps each (`p2c_sync_key_owner`, per target);
a batch looks up only its own keys (`owners`). So after a fix in Sales (the newer holders
cleared and renumbered by `run`) the very next sync writes the keeping record under the key,
whatever an earlier sync recorded.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db import sqlfiles
from p2c_upgrade.db.connection import Database
from p2c_upgrade.rules.keys import sql_params
from p2c_upgrade.sync import state
from p2c_upgrade.sync.bulk import select_in
from p2c_upgrade.sync.selection import Binder, selection_sql
from p2c_upgrade.sync.templates import TaskPlan


def key_column(plan: TaskPlan) -> str:
    """The Sales column the task's key comes from (the key field's source, else the
    template's number column)."""
    spec = dict(plan.fields).get(plan.entity.key)
    if spec is not None and spec.source and not spec.source.startswith("@"):
        return spec.source
    return plan.template.number_column


def build_owners(conn: Connection, db: Database, target_id: str, plans: list[TaskPlan]) -> None:
    """Replace this target's key owners with those of the current Sales data (one statement
    per entity, in the caller's transaction)."""
    d = db.dialect
    conn.execute(sa.text(sqlfiles.statement(d, "sync", "clear_key_owners")),
                 {"target_id": target_id})
    entities: dict[str, list[tuple[int, TaskPlan]]] = {}
    for rank, plan in enumerate(plans):
        entities.setdefault(plan.entity.name, []).append((rank, plan))
    for entity, ranked in entities.items():
        bind = Binder("owner")
        parts = []
        for rank, plan in ranked:
            t = plan.template
            columns = {c: f"t.{db.quote(c)}" for c, _ in t.selection}
            parts.append(sqlfiles.statement(
                d, "sync", "key_candidates", task=bind(plan.task), task_rank=bind(rank),
                id=db.quote(t.id_column), source=db.quote(t.source),
                selected=selection_sql(t, columns, bind),
                **sqlfiles.key_sql(d, f"t.{db.quote(key_column(plan))}")))
        sql = sqlfiles.statement(d, "sync", "key_owners", candidates=" UNION ALL ".join(parts))
        conn.execute(sa.text(sql), {**sql_params(), **bind.params,
                                    "target_id": target_id, "entity": entity})


def owners(conn: Connection, target_id: str, entity: str, folds: list[str]
           ) -> dict[str, tuple[str, str]]:
    """Of these keys (`fno_key`), those more than one record has: key -> (task, source_id)
    of the record that keeps it."""
    found = select_in(conn, state.key_owners, ("key_fold", "task", "source_id"), "key_fold",
                      folds, {"entity": entity, "target_id": target_id})
    return {fold: (task, source_id) for fold, task, source_id in found}
