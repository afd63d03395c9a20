"""What `status` and `verify` report: read-only, answering even while a run holds the lock."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database, translate_errors
from p2c_upgrade.db.lock import holder
from p2c_upgrade.db.schema import check_sales_schema
from p2c_upgrade.fno.journal import last_imports
from p2c_upgrade.render import iso_utc
from p2c_upgrade.sync.state import last_run as sync_last_run
from p2c_upgrade.upgrade import ledger
from p2c_upgrade.upgrade.registry import STEP_NAMES, all_steps
from p2c_upgrade.upgrade.runner import missing_p2c_columns
from p2c_upgrade.upgrade.truth import apply_current_truth

STATUS_VERSION = 1


def status_document(db: Database) -> dict[str, Any]:
    with translate_errors(db), db.engine.connect() as conn:
        check_sales_schema(conn)
        known = ledger.latest_step_status(conn) if ledger.tables_exist(conn) else {}
        last = ledger.latest_run(conn) if ledger.tables_exist(conn) else None
    lock_holder = holder(db)
    steps = []
    for name in STEP_NAMES:
        st = known.get(name)
        if st is None:
            steps.append({"step": name, "state": "pending", "rows_changed": 0, "batches": 0,
                          "run_id": None, "started_at": None, "finished_at": None,
                          "detail": None, "error": None})
            continue
        row = asdict(st)
        if row["state"] == "running" and lock_holder is None:
            row["state"] = "interrupted"
        steps.append(row)
    if last is not None:
        if last.get("outcome") == "running" and lock_holder is None:
            last["outcome"] = "interrupted"
        last = {k: last[k] for k in ("run_id", "command", "started_at", "finished_at", "os_user",
                                     "host", "pid", "tool_version", "outcome", "error")}
    sync = sync_last_run(db)
    if sync is not None:
        sync = {k: sync.get(k) for k in ("sync_run_id", "status", "exit_code", "target",
                                         "started_at", "finished_at")}
        if sync["status"] == "running" and lock_holder is None:
            sync["status"] = "interrupted"
        sync["started_at"], sync["finished_at"] = (iso_utc(sync["started_at"]),
                                                   iso_utc(sync["finished_at"]))
    with translate_errors(db), db.engine.connect() as conn:
        apply_current_truth(conn, steps, sync)
    return {"version": STATUS_VERSION, "database": db.label, "schema": db.schema,
            "lock": {"held": lock_holder is not None, "holder": lock_holder},
            "last_run": last, "steps": steps, "last_sync": sync, "fno_imports": last_imports(db)}


def verify_checks(db: Database) -> list[dict[str, Any]]:
    """Each step's post-conditions: one entry per step with ok and the failures."""
    with translate_errors(db), db.engine.connect() as conn:
        check_sales_schema(conn)
        return _checks(conn, db, [n for n in STEP_NAMES if n != "initial-sync"])


def _checks(conn: Connection, db: Database, names: list[str] | tuple[str, ...]
            ) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    missing = missing_p2c_columns(conn)
    for step in all_steps():
        if step.name not in names:
            continue
        if missing and step.name != "prepare" and step.needs_p2c_columns:
            problems = ["not prepared: missing " + ", ".join(missing)]
        else:
            problems = step.verify(conn, db)
        checks.append({"check": step.name, "ok": not problems, "failures": problems})
    return checks
