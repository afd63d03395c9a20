"""Applies the pending steps in order, each batch in its own transaction with its progress.

The runner holds the upgrade lock for the whole run, records the run and each step in the
ledger, and turns any failure into a `P2CError` after recording it (password masked).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from p2c_upgrade import interrupt
from p2c_upgrade.db.connection import Database, describe_db_error, translate_errors
from p2c_upgrade.db.lock import UpgradeLock
from p2c_upgrade.db.privileges import require_privileges
from p2c_upgrade.db.schema import P2C_COLUMNS, check_sales_schema, existing_columns
from p2c_upgrade.errors import BlockedError, P2CError
from p2c_upgrade.progress import NullProgress, Progress
from p2c_upgrade.upgrade import faults, fingerprint, ledger, prepared
from p2c_upgrade.upgrade.ledger import StepState
from p2c_upgrade.upgrade.numbers import ACCOUNT_RENUMBER
from p2c_upgrade.upgrade.registry import select_steps
from p2c_upgrade.upgrade.steps.base import Step, StepContext
from p2c_upgrade.upgrade.steps.numbers_step import NumberingStep

if TYPE_CHECKING:
    from p2c_upgrade.config import Config
    from p2c_upgrade.sync.summary import SyncSummary

#: Rows per batch. Measured on PostgreSQL at 1M accounts / 2M contacts (scripts/bench): 20,000
#: took 3.0x the one-statement baseline, 500,000 about 1.05x; small batches touch every heap page
#: of the table once per batch. Each batch is still its own bounded transaction.
DEFAULT_BATCH_SIZE = 500_000


@dataclass
class RunOptions:
    steps: list[str] | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    journal: bool = True
    salt: str = ""
    target: str | None = None
    config: Config | None = None
    show_personal_data: bool = False
    progress: Progress = field(default_factory=NullProgress)
    #: the fingerprint value of the approved plan the run was checked against (`run --plan`)
    approved_plan: str | None = None


@dataclass
class StepOutcome:
    step: str
    state: StepState
    rows_changed: int
    batches: int
    seconds: float
    detail: str | None = None


@dataclass
class RunReport:
    run_id: int
    outcomes: list[StepOutcome]
    blocked: list[str]
    sync_summary: SyncSummary | None = None
    #: a step refused because of the data (BlockedError): the run stopped there
    refused: str | None = None

    @property
    def rows_changed(self) -> int:
        return sum(o.rows_changed for o in self.outcomes)

    @property
    def sync_failed(self) -> bool:
        """Records failed to synchronize (they are recorded; a rerun retries them)."""
        return self.sync_summary is not None and self.sync_summary.exit_code != 0


def missing_p2c_columns(conn: Connection) -> list[str]:
    found = existing_columns(conn)
    return [f"{c.table}.{c.column}" for c in P2C_COLUMNS if c.column not in found.get(c.table, set())]


def run_upgrade(db: Database, options: RunOptions) -> RunReport:
    """Apply the selected steps; a step the data blocks (the sync while duplicates exist or
    the upgrade is unfinished) ends the run early with `report.refused` set."""
    return run_steps(db, select_steps(options.steps), options, "run")


def renumber_duplicates(db: Database, options: RunOptions) -> RunReport:
    """Give every colliding account but the oldest in its group a new number, journaled."""
    step = NumberingStep("duplicates-renumber",
                         "renumber all but the oldest account of each colliding group",
                         ACCOUNT_RENUMBER)
    return run_steps(db, [step], options, "duplicates")


def run_steps(db: Database, steps: list[Step], options: RunOptions, command: str) -> RunReport:
    with translate_errors(db):  # before anything is written, even the lock file
        require_privileges(db, command)
    with translate_errors(db), UpgradeLock(db, command), db.engine.connect() as conn:
        with conn.begin():
            tables = check_sales_schema(conn)
            if options.target and options.config is not None:  # run --target: the sync's rule
                from p2c_upgrade.sync.configured import check_configured_columns
                check_configured_columns(tables, options.config)
            prepared.require_prepared(
                conn, [s.name for s in steps], any(s.needs_p2c_columns for s in steps),
                "duplicates --renumber" if command == "duplicates" else command)
            ledger.ensure_tables(conn)
            fingerprint.check_salt(conn, options.salt, [s.name for s in steps])
            run_id = ledger.start_run(conn, command, {
                "steps": [s.name for s in steps], "batch_size": options.batch_size,
                "journal": options.journal, "target": db.mask(options.target or "") or None,
                "fingerprint": {"salt": fingerprint.salt_hash(options.salt),
                                "configuration": fingerprint.config_hash(options.config),
                                "plan": options.approved_plan},
            })
        report = RunReport(run_id, [], [])
        try:
            for step in steps:
                report.outcomes.append(_execute(db, conn, run_id, step, options, report))
                if report.refused:
                    break
        except BaseException as exc:
            message = exc.message if isinstance(exc, P2CError) else describe_db_error(exc, db)
            outcome_name = "blocked" if isinstance(exc, BlockedError) else "failed"
            if interrupt.is_interruption(exc):
                outcome_name, message = "interrupted", "interrupted by the user (Ctrl-C)"
                db.rollback_abandoned(exc)
            if conn.in_transaction():
                conn.rollback()
            with conn.begin():
                ledger.finish_run(conn, run_id, outcome_name, db.mask(message))
            raise
        with conn.begin():
            ledger.finish_run(conn, run_id, "blocked" if report.blocked else "done")
        return report


def _execute(db: Database, conn: Connection, run_id: int, step: Step, options: RunOptions,
             report: RunReport) -> StepOutcome:
    name = step.name
    started = time.monotonic()
    ctx = StepContext(
        db=db, conn=conn, run_id=run_id, step=name, batch_size=options.batch_size,
        journal=options.journal, salt=options.salt, target=options.target, config=options.config,
        progress=options.progress, show_personal_data=options.show_personal_data,
    )
    with conn.begin():
        if step.needs_p2c_columns:
            missing = missing_p2c_columns(conn)
            if missing:
                raise P2CError(f"step {name} needs the P2C columns {', '.join(missing)}: "
                               "run the prepare step first")
        # Key-range steps continue after the last committed range of an interrupted execution;
        # queue-based steps rebuild their queue from what is still to do and start at its head.
        cursor = ledger.resume_cursor(conn, name) if step.resumes_from_cursor else None
        ledger.start_step(conn, run_id, name)
    rows = batches = 0
    detail: str | None = None
    blocked: str | None = None
    skipped = False
    try:
        with conn.begin():
            total = step.begin(ctx, cursor)
        bar = options.progress.bar(total, name)
        while True:
            # a step with its own transactions (the sync) draws its own bars
            with (contextlib.nullcontext() if step.own_transactions
                  else options.progress.working(bar, f"batch {batches + 1}")):
                if step.own_transactions:
                    result = step.apply_batch(ctx, cursor)
                    with conn.begin():
                        ledger.record_batch(conn, run_id, name, result.rows, result.cursor)
                else:
                    with conn.begin():
                        result = step.apply_batch(ctx, cursor)
                        ledger.record_batch(conn, run_id, name, result.rows, result.cursor)
                        faults.checkpoint(name, "before-commit")
            faults.checkpoint(name, "after-commit")
            rows += result.rows
            batches += 1
            detail = result.detail or detail
            blocked = result.blocked or blocked
            skipped = skipped or result.skipped
            if result.sync_summary is not None:
                report.sync_summary = result.sync_summary
            moved = result.rows if result.scanned is None else result.scanned
            bar.update(min(moved, max(total - bar.n, 0)) if total is not None else moved)
            cursor = result.cursor
            if result.done:
                break
        bar.close()
        with conn.begin():
            step.end(ctx)
    except BaseException as exc:
        if interrupt.is_interruption(exc):
            db.rollback_abandoned(exc)
        if conn.in_transaction():
            conn.rollback()
        message = exc.message if isinstance(exc, P2CError) else describe_db_error(exc, db)
        state = StepState.BLOCKED if isinstance(exc, BlockedError) else StepState.FAILED
        if interrupt.is_interruption(exc):
            state, message = StepState.INTERRUPTED, "interrupted by the user (Ctrl-C)"
        with translate_errors(db), conn.begin():
            ledger.finish_step(conn, run_id, name, state, error=db.mask(message))
        if not isinstance(exc, BlockedError) or interrupt.is_interruption(exc):
            raise
        report.refused = db.mask(message)
        report.blocked.append(report.refused)
        return StepOutcome(name, state, rows, batches, time.monotonic() - started, report.refused)
    state = StepState.BLOCKED if blocked else StepState.SKIPPED if skipped else StepState.DONE
    with conn.begin():
        ledger.finish_step(conn, run_id, name, state, detail=blocked or detail)
    seconds = time.monotonic() - started
    options.progress.log(
        f"{name}: {state}, {rows:,} rows changed in {batches} batches, {seconds:.1f} s"
        + (f" ({blocked or detail})" if (blocked or detail) else "")
    )
    if blocked:
        report.blocked.append(blocked)
    return StepOutcome(name, state, rows, batches, seconds, blocked or detail)
