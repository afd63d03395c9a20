"""`undo`: put back the old values recorded in the change journal (`p2c_journal`).

Safe on production data because every restore is guarded: a record is written only while it
still holds the value the journaled change gave it. A record changed since by someone else is
left alone and reported as a conflict (exit 3); a second undo finds everything back already and
writes nothing. Work is set-based, in batches of journal ids, newest first, each batch one
transaction that also journals what undo itself changed (step `undo`, under the undo's own run
id), so an undo can be undone with `undo --run <its run id>`.

Per run, in this order: schema objects an undone undo had taken away are re-created; values are
restored; the number sequences go back, newest move first, only while nobody moved them since and
every number the move handed out is free again (else they stay and a note says why); last, the
schema objects `prepare` created (columns, the sequence table and rows, indexes) are taken away,
each only when nothing but its default is left in it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade import interrupt
from p2c_upgrade.db import sqlfiles
from p2c_upgrade.db.connection import Database, translate_errors
from p2c_upgrade.db.dialects import dialect_for
from p2c_upgrade.db.lock import UpgradeLock
from p2c_upgrade.db.privileges import require_privileges
from p2c_upgrade.db.schema import AUTONUMBER_TABLE, existing_columns, pk_type_sql
from p2c_upgrade.errors import MAX_INTEGER, P2CError, UsageError
from p2c_upgrade.progress import NullProgress, Progress
from p2c_upgrade.rules.number_format import seqpart
from p2c_upgrade.undo.report import COLUMNS, LISTED_CONFLICTS, SCHEMA_KINDS, SEQUENCES, Column, Entry, Group, UndoResult
from p2c_upgrade.undo.schema_objects import SchemaObjects
from p2c_upgrade.upgrade import faults, ledger
from p2c_upgrade.upgrade.ledger import StepState
from p2c_upgrade.upgrade.numbers import NumberJob

DEFAULT_BATCH_SIZE = 10_000


def undo_changes(db: Database, *, run_id: int | None = None, step: str | None = None,
                 dry_run: bool = False, progress: Progress | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE) -> UndoResult:
    """Undo run `run_id`, or step `step` in every run that journaled it (newest run first)."""
    if (run_id is None) == (step is None):
        raise UsageError("give exactly one of --run ID or --step NAME")
    if batch_size < 1:
        raise UsageError("the batch size must be at least 1")
    result = UndoResult(dry_run=dry_run, run_id=run_id, step=step)
    progress = progress or NullProgress()
    with translate_errors(db):
        if dry_run:
            with db.engine.connect() as conn:
                result.runs = _scope(conn, run_id, step, result)
                conn.rollback()
                _Undo(db, conn, result, None, batch_size, progress).all(step)
            return result
        with db.engine.connect() as conn:
            owns = _altered_tables(conn, _scope(conn, run_id, step, UndoResult(True, run_id, step)), step)
        require_privileges(db, "undo", owns=owns)
        with UpgradeLock(db, "undo"), db.engine.connect() as conn:
            with conn.begin():
                result.runs = _scope(conn, run_id, step, result)
                undo_run = ledger.start_run(conn, "undo", {"run": run_id, "step": step})
                ledger.start_step(conn, undo_run, "undo")
            result.undo_run_id = undo_run
            try:
                _Undo(db, conn, result, undo_run, batch_size, progress).all(step)
            except BaseException as exc:
                outcome = "failed"
                if interrupt.is_interruption(exc):
                    outcome = "interrupted"
                    db.rollback_abandoned(exc)
                if conn.in_transaction():
                    conn.rollback()
                message = exc.message if isinstance(exc, P2CError) else db.mask(str(exc).split("\n")[0])
                if outcome == "interrupted":
                    message = "interrupted by the user (Ctrl-C)"
                with conn.begin():
                    ledger.finish_step(conn, undo_run, "undo", StepState(outcome), error=message)
                    ledger.finish_run(conn, undo_run, outcome, message)
                raise
            with conn.begin():
                _finish(conn, result, undo_run)
    return result


def _scope(conn: Connection, run_id: int | None, step: str | None, result: UndoResult) -> list[int]:
    if not ledger.tables_exist(conn):
        raise P2CError("nothing to undo: no p2c-upgrade run is recorded in this database")
    if run_id is not None:
        row = conn.execute(sa.select(ledger.runs.c.options).where(ledger.runs.c.run_id == run_id)).first()
        if row is None:
            raise UsageError(f"run {run_id} is not in the ledger (`p2c-upgrade runs` lists the runs)")
        if row.options and '"journal": false' in row.options:
            result.remarks.append(f"run {run_id} ran with --no-journal: what it changed was not "
                                  "journaled and cannot be undone")
        return [run_id]
    runs = [int(r[0]) for r in conn.execute(sa.text(_sql(conn, "runs_of_step")), {"step": step})]
    if not runs:
        result.remarks.append(f"no journaled change of step {step!r}: nothing to undo")
    return runs


def _altered_tables(conn: Connection, runs: list[int], step: str | None) -> tuple[str, ...]:
    """The tables whose schema undo may change (it must own them): prepare's objects."""
    out: set[str] = set()
    for run_id in runs:
        for e in conn.execute(sa.text(_sql(conn, "special_entries")), {"run_id": run_id, "step": step}):
            if e.col in SCHEMA_KINDS:
                out.add(e.tbl)
    return tuple(sorted(out))


def _sql(conn: Connection, name: str, **identifiers: str) -> str:
    return sqlfiles.statement(conn.dialect.name, "undo", name, **identifiers)


def _finish(conn: Connection, result: UndoResult, undo_run: int) -> None:
    """Close the undo's ledger rows; steps it undid show as pending again in `status`."""
    restored = sum(g.restored for g in result.groups)
    detail = (f"undid run {result.run_id}" if result.run_id is not None else f"undid step {result.step}")
    detail += f": {restored} values restored, {result.conflicts_total} conflicts left alone"
    state = StepState.BLOCKED if result.conflicts_total else StepState.DONE
    ledger.finish_step(conn, undo_run, "undo", state, detail=detail)
    undone = {g.step for g in result.groups if g.restored} - {"undo"}
    for name in sorted(undone):
        ledger.start_step(conn, undo_run, name)
        ledger.finish_step(conn, undo_run, name, StepState.PENDING, detail=f"undone by run {undo_run}")
    if any(g.step == "undo" and g.restored for g in result.groups):
        redone = conn.execute(sa.select(ledger.steps.c.step).where(
            ledger.steps.c.run_id.in_(result.runs), ledger.steps.c.state == StepState.PENDING.value))
        for (name,) in redone:
            if name not in undone:
                ledger.start_step(conn, undo_run, name)
                ledger.finish_step(conn, undo_run, name, StepState.DONE, detail=f"redone by undo run {undo_run}")
    ledger.finish_run(conn, undo_run, state.value)


class _Undo(SchemaObjects):
    """One undo (or its dry run) on one connection; `undo_run` None means write nothing."""

    def __init__(self, db: Database, conn: Connection, result: UndoResult, undo_run: int | None,
                 batch_size: int, progress: Progress) -> None:
        self.db, self.conn, self.result = db, conn, result
        self.undo_run, self.batch_size, self.progress = undo_run, batch_size, progress
        self.dialect = conn.dialect.name
        self.pk_types: dict[str, str] = {}
        # dry run: what the restores would have changed, simulated
        self.freed: dict[tuple[str, str], list[str]] = {}
        self.to_default: Counter[tuple[str, str]] = Counter()
        self.sim_seq: dict[str, int | None] = {}
        self.sim_gone: set[tuple[str, str, str]] = set()
        self.held: dict[tuple[int, str], Counter[int | None]] = {}

    @property
    def dry(self) -> bool:
        return self.undo_run is None

    def q(self, name: str) -> str:
        return self.db.quote(name)

    def sql(self, name: str, **identifiers: str) -> str:
        return _sql(self.conn, name, **identifiers)

    def run(self, name: str, params: dict[str, Any], **identifiers: str) -> sa.CursorResult[Any]:
        return self.conn.execute(sa.text(self.sql(name, **identifiers)), params)

    def schema(self) -> dict[str, set[str]]:
        return existing_columns(self.conn)

    def all(self, step: str | None) -> None:
        for run_id in self.result.runs:
            self.one_run(run_id, step)

    def one_run(self, run_id: int, step: str | None) -> None:
        scope = {"run_id": run_id, "step": step}
        with self.conn.begin():
            specials = [Entry(*r) for r in self.run("special_entries", scope)]
            rows = list(self.run("value_groups", scope))
        ddl = [e for e in specials if e.col in SCHEMA_KINDS]
        seqs = [e for e in specials if e.tbl == AUTONUMBER_TABLE and e.col == "msdynce_numbersequence"]
        for e in ddl:
            if e.new is None:
                self.recreate(run_id, e)
        for e in seqs:
            if _int(e.new) < _int(e.old):
                self.sequence(run_id, e, seqs, forward=True)
        bar = self.progress.bar(sum(int(r.n) for r in rows), f"undo run {run_id}")
        for r in rows:
            group = Group(run_id, r.step, r.tbl, r.col, int(r.n))
            self.result.groups.append(group)
            self.values(group, int(r.lo), int(r.hi), bar)
        bar.close()
        for e in seqs:
            if _int(e.new) > _int(e.old):
                self.sequence(run_id, e, seqs, forward=False)
        for e in ddl:
            if e.new is not None:
                self.remove(e)

    # values ---------------------------------------------------------------------------------
    def fragments(self, col: Column) -> dict[str, str]:
        ids = {"table": self.q(col.table), "pk": self.q(col.pk), "col": self.q(col.name)}
        if col.table not in self.pk_types:
            self.pk_types[col.table] = pk_type_sql(self.conn, col.table, col.pk)
        ids["pk_type"] = self.pk_types[col.table]
        for part in ("current", "restored", "non_default"):
            ids[part] = self.sql(f"{part}_{col.kind}", col=ids["col"])
        ids["default_text"] = "'false'" if col.kind == "bool" else "NULL"
        return ids

    def values(self, g: Group, lo: int, hi: int, bar: Any) -> None:
        col = COLUMNS.get((g.table, g.column))
        if col is None:
            self.result.remarks.append(f"run {g.run_id} step {g.step}: {g.total} journaled changes "
                                       f"of {g.table}.{g.column}, a column undo does not know: left alone")
            return
        params = {"run_id": g.run_id, "step": g.step, "tbl": g.table, "col": g.column}
        with self.conn.begin():
            exists = g.column in self.schema().get(g.table, set())
            if not exists:
                ids = {"default_text": "'false'" if col.kind == "bool" else "NULL"}
                defaults = int(self.run("group_old_defaults", params, **ids).scalar() or 0)
            else:
                ids = self.fragments(col)
        if not exists:
            g.already, g.conflicts = defaults, g.total - defaults
            if g.conflicts:
                self.result.remarks.append(f"column {g.table}.{g.column} no longer exists: {g.conflicts:,} "
                                           "journaled old values other than its default cannot be put back")
            return
        batch_sql = self.sql("batch")
        while hi >= lo:
            params.update(lo=hi - self.batch_size, hi=hi)
            with self.conn.begin():
                self.batch(g, col, params, ids, batch_sql)
                faults.checkpoint("undo", "before-commit")
            faults.checkpoint("undo", "after-commit")
            bar.update(self.batch_size)
            hi -= self.batch_size

    def batch(self, g: Group, col: Column, params: dict[str, Any], ids: dict[str, str], batch_sql: str) -> None:
        counts = self.run("batch_counts", params, batch=batch_sql, **ids).one()
        total, present, restorable, to_default, already = (int(v or 0) for v in counts)
        conflicts = present - restorable - already
        g.gone += total - present
        g.already += already
        g.conflicts += conflicts
        if conflicts and len(self.result.conflicts) < LISTED_CONFLICTS:
            limit = LISTED_CONFLICTS - len(self.result.conflicts)
            for r in self.run("batch_conflicts", {**params, "limit": limit}, batch=batch_sql, **ids):
                self.result.conflicts.append({
                    "run_id": g.run_id, "step": g.step, "table": g.table, "column": g.column,
                    "record_id": r.record_id, "journaled_value": r.new_value, "current_value": r.current_value})
        if self.dry:
            g.restored += restorable
            self.to_default[(g.table, g.column)] += to_default
            if col.kind == "text" and restorable:
                freed = self.freed.setdefault((g.table, g.column), [])
                freed.extend(r[0] for r in self.run("batch_restorable_values", params, batch=batch_sql, **ids))
            return
        if not restorable:
            return
        p = {**params, "undo_run": self.undo_run}
        impl = dialect_for(self.dialect)
        if not impl.writable_cte:  # else batch_restore journals in the same statement
            self.run("batch_journal", p, batch=batch_sql, **ids)
        done = impl.changed_rows(self.conn, self.run("batch_restore", p, batch=batch_sql, **ids))
        g.restored += done
        assert self.undo_run is not None  # the dry run returned before writing
        ledger.record_batch(self.conn, self.undo_run, "undo", done, f"{g.run_id}:{g.step}:{params['hi']}")

    # sequences ------------------------------------------------------------------------------
    def sequence(self, run_id: int, e: Entry, seqs: list[Entry], *, forward: bool) -> None:
        job = SEQUENCES.get(e.record_id)
        info = self.result.sequences.setdefault(e.record_id, {
            "entity": e.record_id, "before": None, "after": None, "rewound_moves": 0,
            "outcome": "", "reason": None})
        if job is None:
            return
        if _number(e.old) is None or _number(e.new) is None:
            self.keep(info, "left alone: a malformed journal entry (its values are not numbers "
                            "a sequence can hold)")
            return
        with self.conn.begin():
            present = AUTONUMBER_TABLE in self.schema()
            cur = self.seq_value(e.record_id) if present else None
            if info["before"] is None:
                info["before"] = info["after"] = cur
            old, new = _int(e.old), _int(e.new)
            if cur is None or cur == old:
                info["outcome"] = info["outcome"] or "already where the run found it"
                return
            if cur != new:
                self.keep(info, f"stays at {cur}: it moved since run {run_id} left it at {new} "
                                "(numbers were handed out after it)" + self.mover_first(e, cur))
                return
            if not forward:
                still = self.still_held(run_id, e, seqs, job)
                if still:
                    self.keep(info, f"stays at {cur}: {len(still)} numbers it handed out are still in "
                                    f"use, e.g. {still[0]} (a conflict left alone)")
                    return
            if not self.dry:
                self.run("sequence_set", {"entity": e.record_id, "target": old, "expect": cur})
                self.journal(AUTONUMBER_TABLE, e.record_id, "msdynce_numbersequence", str(cur), str(old))
            if self.dry:
                self.sim_seq[e.record_id] = old
            info["after"] = old
            info["rewound_moves"] += 1
            if not info["reason"]:
                info["outcome"] = f"{'would go' if self.dry else 'went'} from {info['before']} to {old}"

    def keep(self, info: dict[str, Any], reason: str) -> None:
        if not info["reason"]:
            info["reason"] = reason
            moved = info["after"] != info["before"]
            info["outcome"] = (f"{'would go' if self.dry else 'went'} from {info['before']} to "
                               f"{info['after']}, then " if moved else "") + reason

    def seq_value(self, entity: str) -> int | None:
        if entity in self.sim_seq:
            return self.sim_seq[entity]
        sql = self.sql("sequence_value")
        if self.dry:
            sql = sql.replace("FOR UPDATE", "")
        value = self.conn.execute(sa.text(sql), {"entity": entity}).scalar()
        return None if value is None else int(value)

    def still_held(self, run_id: int, e: Entry, seqs: list[Entry], job: NumberJob) -> list[str]:
        """The numbers this sequence move handed out that a record still holds (as the duplicate gate compares)."""
        older = [s.journal_id for s in seqs if s.step == e.step and s.record_id == e.record_id
                 and s.journal_id < e.journal_id]
        lo = max(older, default=0)
        params = {"run_id": run_id, "step": e.step, "tbl": job.table, "col": job.col,
                  "lo": lo, "hi": e.journal_id}
        prefix = self.conn.execute(sa.text(self.sql("autonumber_row")), {"entity": e.record_id}).first()
        prefix_text = prefix[0] if prefix else ""
        handed = [v for (v,) in self.run("handed_numbers", params) if v is not None]
        key = (run_id, e.record_id)
        if key not in self.held:  # values do not change while the sequences go back
            ids = {"table": self.q(job.table), "col": self.q(job.col)}
            held = Counter(seqpart(v, prefix_text) for (v,) in self.run("numbers_in_use", {}, **ids))
            if self.dry:
                held.subtract(seqpart(v, prefix_text) for v in self.freed.get((job.table, job.col), []))
            self.held[key] = held
        held = self.held[key]
        return [v for v in handed if held.get(seqpart(v, prefix_text), 0) > 0]

    def journal(self, tbl: str, record_id: str, col: str, old: str | None, new: str | None) -> None:
        self.run("journal_entry", {"undo_run": self.undo_run, "tbl": tbl, "record_id": record_id,
                                   "col": col, "old": old, "new": new})


def _number(text: str | None) -> int | None:
    """A sequence value as journaled: digits that fit an INTEGER; None otherwise."""
    if text is None or not (text.isascii() and text.isdigit()) or int(text) > MAX_INTEGER:
        return None
    return int(text)


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0
