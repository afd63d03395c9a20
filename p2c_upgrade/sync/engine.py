"""The initial full sync: tasks in dependency order, records in key batches, state per record.

Per batch: read up to `batch_size` records with their state (one query that leaves out, in SQL,
every record synchronized under the same source digest), map and validate them in Python, skip
those whose fingerprint is unchanged since they last synchronized, check keys against their
owners, upsert the rest into the target (one transaction there), then record every outcome in
the Sales database (one transaction here). The three stages overlap across batches
(`pipeline.py`): batch N+1 is prepared while batch N is written to the target and batch N-1's
state is committed; batches are counted into the summary in key order.

A kill between the two commits is safe: the rerun re-maps the record, finds the target row
equal and records it as synchronized. Fault injection, for tests only (`p2c_upgrade.upgrade.faults`,
`P2C_FAULT_KILL=sync:<point>:<n>`): `before-commit` fires after the target's commit and
before the state's, `after-commit` after both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from p2c_upgrade import interrupt
from p2c_upgrade.config import DEFAULT_BATCH_SIZE, Config
from p2c_upgrade.db.connection import Database, translate_errors
from p2c_upgrade.errors import P2CError
from p2c_upgrade.progress import NullProgress, Progress
from p2c_upgrade.sync import keys, source, state
from p2c_upgrade.sync.configured import check_configured_columns
from p2c_upgrade.sync.mapping import Failure, Mapped, Mapper, text
from p2c_upgrade.sync.pipeline import Pipeline
from p2c_upgrade.sync.summary import SyncSummary, TaskSummary
from p2c_upgrade.sync.targets import (
    DatabaseTarget,
    PackageTarget,
    RowsRejected,
    Target,
    TargetRow,
    UpsertCounts,
    open_target,
)
from p2c_upgrade.sync.templates import TaskPlan, plan_tasks
from p2c_upgrade.upgrade import faults

STEP = "sync"  # fault-injection name: P2C_FAULT_KILL=sync:before-commit:N


def run_sync(
    db: Database,
    target: str,
    config: Config,
    *,
    run_id: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    show_personal_data: bool = False,
) -> SyncSummary:
    """Synchronize accounts and contacts to `target`; raises BlockedError (nothing written)
    while account numbers collide, P2CError when the upgrade has not run."""
    if db.read_only:
        raise P2CError("the database is opened read-only: the sync records its state in it")
    if batch_size < 1:
        raise P2CError("the batch size must be at least 1")
    progress = progress or NullProgress()
    started = time.perf_counter()
    plans = plan_tasks(config)
    with translate_errors(db):
        with db.engine.connect() as conn:
            tables = source.reflect(conn, {p.template.source for p in plans} | {"account"})
            check_configured_columns({n: list(t.c.keys()) for n, t in tables.items()}, config)
            source.check_columns(tables, plans)
            source.check_duplicates(conn)
        state.ensure_tables(db)
    tgt = open_target(target, package_max_rows=config.package_max_rows, batch_size=batch_size,
                      description="P2C initial sync", fno_settings=config.fno, say=progress.log)
    try:
        summary = SyncSummary(target=tgt.description, target_kind=tgt.kind, run_id=run_id,
                              organization_id=plans[0].organization_id if plans else "")
        if isinstance(tgt, PackageTarget):  # a package directory belongs to one Sales database
            with translate_errors(db):
                tgt.check_owner(state.knows_target(db, tgt.target_id))
        with translate_errors(db):
            summary.sync_run_id = state.start_run(db, tgt.description, tgt.target_id, run_id)
        try:
            if getattr(tgt, "deferred", False):  # fno: follow stopped imports, then preflight
                tgt.bind(db, summary.sync_run_id, plans, tables, config,  # type: ignore[attr-defined]
                         progress.log)
            _run(db, tgt, plans, tables, config, summary, batch_size, progress,
                 show_personal_data)
        except BaseException as exc:
            status = "failed"
            if interrupt.is_interruption(exc):
                status = "interrupted"
                db.rollback_abandoned(exc)
            with contextlib.suppress(Exception):  # the original error is the one to report
                state.finish_run(db, summary.sync_run_id, status, None, None)
            raise
        summary.seconds = time.perf_counter() - started
        with translate_errors(db):
            state.finish_run(db, summary.sync_run_id,
                             "done" if summary.exit_code == 0 else "incomplete",
                             summary.exit_code, summary.to_dict())
        return summary
    finally:
        tgt.close()


def _run(db: Database, tgt: Target, plans: list[TaskPlan], tables: dict[str, Any],
         config: Config, summary: SyncSummary, batch_size: int, progress: Progress,
         show_personal_data: bool) -> None:
    changed = False
    with translate_errors(db), db.engine.begin() as conn:
        keys.build_owners(conn, db, tgt.target_id, plans)
    statistics = state.Statistics(db)
    # On SQLite the reads and the state writes share the file's lock (the state is written
    # between reads); the target is written alongside unless it is that same file.
    state_thread = not db.dialect_impl.long_read_blocks_writers
    target_thread = state_thread or _separate_file(db, tgt)
    first_contact_task = next((p.task for p in plans if p.template.source == "contact"), None)
    for plan in plans:
        ts = TaskSummary(plan.task, plan.template.template, plan.entity.display_name)
        summary.tasks.append(ts)
        started = time.perf_counter()
        with translate_errors(db), db.engine.connect() as conn:
            total = source.count_selected(conn, plan, tables)
            if plan.task == first_contact_task:
                for reason, n in source.unselected_contacts(conn, plans, tables).items():
                    ts.skipped += n
                    ts.skipped_reasons[reason] += n
        runner = _TaskRun(db, tgt, plan, tables, config, ts, show_personal_data, statistics)
        runner.sync_run_id = summary.sync_run_id
        statistics.before_task()  # the task's read joins the state table
        batches = source.key_batches(db, plan, tables, tgt.target_id, runner.mapper.signature,
                                     batch_size)
        with progress.bar(total=total, desc=plan.task, unit="records") as bar, \
                contextlib.closing(batches):
            runner.on_accounted = bar.update
            Pipeline(runner.prepare, runner.write_target, runner.write_state, runner.account,
                     target_thread=target_thread, state_thread=state_thread
                     ).run(_translated(db, batches))
            changed = changed or runner.changed
            # The records the key batches left out were synchronized under the same source
            # digest: unchanged without being read (`source.batch_query`).
            skipped = max(0, total - runner.streamed)
            ts.selected += skipped
            ts.unchanged += skipped
            bar.update(skipped)
        ts.seconds = time.perf_counter() - started
        progress.log(f"{plan.task}: {ts.selected:,} selected, {ts.inserted:,} inserted, "
                     f"{ts.updated:,} updated, {ts.unchanged:,} unchanged, {ts.failed:,} failed")
    columns: dict[str, tuple[str, ...]] = {}
    for plan in plans:
        have = set(columns.get(plan.entity.name, ())) | set(plan.field_names)
        columns[plan.entity.name] = tuple(f for f in plan.entity.fields if f in have)
    summary.output = tgt.finish(columns, changed)
    if getattr(tgt, "deferred", False):
        _count_rejections(tgt, summary, config.listed_failures)


def _translated(db: Database, batches: Iterator[list[dict[str, Any]]]
                ) -> Iterator[list[dict[str, Any]]]:
    """The batches, a driver error of a read as a one-line `P2CError`."""
    while True:
        with translate_errors(db):
            rows = next(batches, None)
        if rows is None:
            return
        yield rows


def _separate_file(db: Database, tgt: Target) -> bool:
    """Whether a SQLite Sales database's file is not written by the target: a package (its
    store is its own file) or a database target in another file."""
    if isinstance(tgt, PackageTarget):
        return True
    if isinstance(tgt, DatabaseTarget) and db.path is not None:
        other = tgt.db.path
        return other is not None and other.resolve() != db.path.resolve()
    return False


def _count_rejections(tgt: Target, summary: SyncSummary, limit: int) -> None:
    """Records F&O refused on import move from sent (inserted/updated) to failed."""
    by_task = {t.task: t for t in summary.tasks}
    for r in tgt.rejections():  # type: ignore[attr-defined]
        ts = by_task.get(r.task)
        if ts is None:
            continue
        if ts.inserted:
            ts.inserted -= 1
        elif ts.updated:
            ts.updated -= 1
        ts.add_failure({"id": r.source_id, "number": r.key, "reason": r.reason,
                        "detail": r.detail}, limit)


_Write = tuple[Mapping[str, Any], str, Mapped]  # (row, source id, mapped record)


@dataclass
class _Batch:
    """One key batch between its stages (`pipeline.py`): `prepare`, `write_target`,
    `write_state`, `account` (in batch order)."""

    rows: int
    now: dt.datetime
    unchanged: int = 0
    writes: list[_Write] = field(default_factory=list)
    #: state rows to record, in `state.COLUMNS` order
    records: list[tuple[Any, ...]] = field(default_factory=list)
    #: listed-failure entries, in the order they were found
    failures: list[dict[str, Any]] = field(default_factory=list)
    counts: UpsertCounts = field(default_factory=UpsertCounts)


class _TaskRun:
    """One task's batches: outcome counting and the state rows to record."""

    def __init__(self, db: Database, tgt: Target, plan: TaskPlan, tables: dict[str, Any],
                 config: Config, ts: TaskSummary, show_personal_data: bool,
                 statistics: state.Statistics) -> None:
        self.db = db
        self.tgt = tgt
        self.plan = plan
        self.ts = ts
        self.mapper = Mapper(plan, config.country_codes)
        self.limit = config.listed_failures
        self.show = show_personal_data
        self.sync_run_id: int | None = None
        self.statistics = statistics  # shared by the tasks: they fill one state table
        self.deferred = bool(getattr(tgt, "deferred", False))
        #: records accounted (read and written), whether the target changed, progress
        self.streamed = 0
        self.changed = False
        self.on_accounted: Callable[[int], object] = lambda _rows: None

    def prepare(self, rows: Sequence[Mapping[str, Any]]) -> _Batch:
        """Map and validate one key batch, drop unchanged records and key conflicts (reads
        only: the target and state are written by `write_target` and `write_state`)."""
        b = _Batch(rows=len(rows), now=state.now())
        writes = b.writes
        for row, result in zip(rows, self.mapper.map_batch(rows), strict=True):
            sid = row["source_id"]
            if isinstance(result, Failure):
                self._failed(b, row, sid, result)
            elif row["state_status"] == state.SYNCED \
                    and row["state_fingerprint"] == result.fingerprint:
                b.unchanged += 1
                # the same values from a changed row (or state of an earlier version): record
                # the new digest so the next sync leaves the record out in SQL
                b.records.append(self._record(
                    b, row, sid, state.SYNCED, key=row["state_key_value"],
                    fold=row["state_key_fold"], fingerprint=result.fingerprint))
            else:
                writes.append((row, sid, result))
        if writes:
            b.writes = self._drop_key_conflicts(b, writes)
        return b

    def write_target(self, b: _Batch) -> None:
        """Upsert the batch into the target (one transaction there) and make the state rows
        of what was written (`pipeline`: in the target thread)."""
        writes = b.writes
        if writes:
            counts, writes = self._upsert(b, writes)
            status = state.SYNCED
            if self.deferred:
                # sent to F&O by `finish`: an update when F&O took the record before
                status = state.PENDING
                counts.updated = sum(1 for row, _, _ in writes
                                     if row["state_status"] == state.SYNCED)
                counts.inserted, counts.unchanged = len(writes) - counts.updated, 0
            b.counts = counts
            for row, sid, m in writes:
                b.records.append(self._record(b, row, sid, status, key=m.key, fold=m.key_fold,
                                              fingerprint=m.fingerprint))

    def write_state(self, b: _Batch) -> None:
        """Record every outcome of the batch in the Sales database (one transaction), after
        the batch's target commit (`pipeline`: the state stage)."""
        faults.checkpoint(STEP, "before-commit")
        if b.records:
            with translate_errors(self.db):
                with self.db.engine.begin() as conn:
                    state.write_records(conn, b.records)
                self.statistics.wrote(len(b.records))
        faults.checkpoint(STEP, "after-commit")

    def account(self, b: _Batch) -> None:
        """Count a written batch into the task's summary, in batch order (so the listed
        failures are the same on every run); `changed` once the target changed."""
        self.streamed += b.rows
        self.on_accounted(b.rows)
        ts = self.ts
        ts.selected += b.rows
        ts.unchanged += b.unchanged + b.counts.unchanged
        ts.inserted += b.counts.inserted
        ts.updated += b.counts.updated
        for entry in b.failures:
            ts.add_failure(entry, self.limit)
        self.changed = self.changed or bool(b.counts.inserted or b.counts.updated)

    def _upsert(self, b: _Batch, writes: list[_Write]
                ) -> tuple[UpsertCounts, list[_Write]]:
        """Write to the target; when it refuses the batch on its rows' data, write the halves
        again until each refused record fails alone (`target_rejected`, the target's message
        as the detail) and the others are written. Returns the counts and what was written."""
        try:
            # a record last written under another key (renumbered; the key a failure keeps is
            # the one it was written under) takes its old row away (`TargetRow.previous_key`)
            return self.tgt.upsert(self.plan.entity, self.plan.field_names, [
                TargetRow(m.key_fold, m.values, self.plan.task, sid,
                          row["state_key_fold"] if row["state_key_fold"] not in (None, m.key_fold)
                          else None)
                for row, sid, m in writes
            ]), writes
        except RowsRejected as exc:
            if len(writes) == 1:
                row, sid, _m = writes[0]
                self._failed(b, row, sid, Failure("target_rejected", exc.message))
                return UpsertCounts(), []
        half = len(writes) // 2
        first, done_first = self._upsert(b, writes[:half])
        second, done_second = self._upsert(b, writes[half:])
        return UpsertCounts(first.inserted + second.inserted, first.updated + second.updated,
                            first.unchanged + second.unchanged), done_first + done_second

    def _drop_key_conflicts(self, b: _Batch, writes: list[_Write]) -> list[_Write]:
        """A key another selected record of the entity keeps (`keys.py`: an account before a
        contact, then the oldest) is a failure: an upsert would overwrite that record in F&O."""
        folds = sorted({m.key_fold for _, _, m in writes})
        with translate_errors(self.db), self.db.engine.connect() as conn:
            owners = keys.owners(conn, self.tgt.target_id, self.plan.entity.name, folds)
        keep: list[_Write] = []
        for row, sid, m in writes:
            owner = owners.get(m.key_fold)
            if owner is not None and owner != (self.plan.task, sid):
                other_task, other_id = owner
                self._failed(b, row, sid, Failure(
                    "key_conflict", f"{self.plan.entity.key} {m.key!r} is kept by "
                    f"{other_task} record {other_id}"))
                continue
            # a key the Sales SQL could not see shared (a value map on the key): first wins
            owners.setdefault(m.key_fold, (self.plan.task, sid))
            keep.append((row, sid, m))
        return keep

    def _failed(self, b: _Batch, row: Mapping[str, Any], sid: str, failure: Failure) -> None:
        t = self.plan.template
        entry: dict[str, Any] = {"id": sid, "number": text(row[t.number_column]),
                                 "reason": failure.reason, "detail": failure.detail}
        if self.show:
            entry["name"] = " ".join(v for v in (text(row[c]) for c in t.name_columns) if v)
        b.failures.append(entry)
        if (row["state_status"], row["state_reason"], row["state_detail"]) != \
                (state.FAILED, failure.reason, failure.detail[:400]):
            # The key it was last written under stays: the target still holds that row.
            b.records.append(self._record(b, row, sid, state.FAILED, key=row["state_key_value"],
                                          fold=row["state_key_fold"], reason=failure.reason,
                                          detail=failure.detail[:400]))

    def _record(self, b: _Batch, row: Mapping[str, Any], sid: str, status: str, *,
                key: str | None,
                fold: str | None, fingerprint: str | None = None, reason: str | None = None,
                detail: str | None = None) -> tuple[Any, ...]:
        """A state row in `state.COLUMNS` order; the source digest is kept with a record
        written (synced or sent), not with a failure (a failed record is always re-read)."""
        number = text(row[self.plan.template.number_column])
        digest = row["source_digest"] if status != state.FAILED else None
        return (self.tgt.target_id, self.plan.task, sid, self.plan.entity.name, status, key,
                fold, fingerprint, reason, detail, number[:64] if number else None,
                self.sync_run_id, b.now, digest)
