"""Fault injection: whatever goes wrong, a rerun ends with the Sales tables of an uninterrupted run.

Every case ends the same way: rerun, then compare the Sales tables with those of a run that was
never disturbed, and check the invariants (no number handed out twice, each sequence past every
number it handed out, the journal agreeing with the tables). Small data (200 accounts, batches of
40; SQLite files on /dev/shm where it exists, as a kill does not care about fsync) and few
hypothesis examples keep the whole module to about a minute on both databases.
The cases and the faults injected per suite run are listed in docs/reliability.md (section Fault injection).
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_undo_support import build, checksum, invariants, invoke

from p2c_upgrade.db.lock import holder as lock_holder
from p2c_upgrade.db.schema import sales_metadata
from p2c_upgrade.errors import P2CError
from p2c_upgrade.upgrade.runner import RunOptions, run_upgrade

from conftest import PG_URL, SalesDb, pg_schema
from helpers import cli, pg_role, query, snapshot, tmpfs

KINDS = ["sqlite", "postgresql"]
BATCHED_STEPS = ("account-numbers", "contact-numbers", "active-customers", "company-is-account")
RUN = ["run", "--no-progress", "--batch-size", "40"]
SYNC_TABLES = ("fno_customers", "fno_contact_persons")
FEW = settings(max_examples=3, deadline=None, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
INJECTED: Counter[str] = Counter()


class Lab:
    """Fresh databases per example, and one uninterrupted reference per database kind."""

    def __init__(self, root: Path, stack: ExitStack) -> None:
        self.root, self.stack = root, stack
        self.refs: dict[str, dict[str, Any]] = {}

    @contextmanager
    def fresh(self, kind: str, *, data: bool = True) -> Iterator[SalesDb]:
        if kind == "postgresql":
            with pg_schema() as db:
                if data:
                    build(db, accounts=200, seed=5)
                yield db
            return
        path = self.root / f"{uuid.uuid4().hex[:10]}.db"
        db = SalesDb("sqlite", f"sqlite:///{path}", None, path)
        engine = db.engine()
        sales_metadata().create_all(engine)
        engine.dispose()
        if data:
            build(db, accounts=200, seed=5)
        yield db

    def reference(self, kind: str) -> dict[str, Any]:
        if kind not in self.refs:
            db = self.stack.enter_context(self.fresh(kind))
            before = checksum(db)
            assert invoke([*RUN, *db.args]).exit_code == 0
            batches = dict(query(db, "SELECT step, batches FROM p2c_step"))
            after_run = snapshot(db)
            assert invoke(["duplicates", *db.args, "--no-progress", "--renumber"]).exit_code == 0
            target = self.root / f"target-{kind}.db"
            synced = invoke(["sync", *db.args, "--no-progress", "--batch-size", "40",
                             "--target", f"sqlite:///{target}"])
            assert synced.exit_code in (0, 3), synced.output
            self.refs[kind] = {"before": before, "run": after_run, "batches": batches,
                               "renumbered": snapshot(db), "target": target_state(target),
                               "sync_records": sync_records(db)}
        return self.refs[kind]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    shm = Path("/dev/shm")
    with ExitStack() as stack:
        if shm.is_dir() and shutil.disk_usage(shm).free > 256 << 20:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=shm, prefix="p2c-faults-")))
        else:
            root = tmp_path_factory.mktemp("faults")
        yield Lab(root, stack)
    print("\nfaults injected:", dict(INJECTED), "total", sum(INJECTED.values()), file=sys.stderr)


def target_state(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in SYNC_TABLES}
    finally:
        conn.close()


def sync_records(db: SalesDb) -> list[tuple[Any, ...]]:
    return sorted(query(db, "SELECT task, source_id, status, key_value, reason FROM p2c_sync_record"),
                  key=repr)


def settles(db: SalesDb, reference: dict[str, Any]) -> None:
    """The rerun: done, the tables of the uninterrupted run, the invariants."""
    rerun = invoke([*RUN, *db.args])  # in-process: the fault was in another process
    assert rerun.exit_code == 0, rerun.output
    assert snapshot(db) == reference["run"]
    invariants(db)


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# SIGKILL ------------------------------------------------------------------------------------

@pytest.mark.parametrize("step", BATCHED_STEPS)
@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=2, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_sigkill_anywhere_in_a_batched_step(lab: Lab, kind: str, step: str, data: st.DataObject) -> None:
    ref = lab.reference(kind)
    point = data.draw(st.sampled_from(["before-commit", "after-commit"]), label="point")
    n = data.draw(st.integers(1, int(ref["batches"][step])), label="batch")
    with lab.fresh(kind) as db:
        killed = cli([*RUN, *db.args], env={"P2C_FAULT_KILL": f"{step}:{point}:{n}"})
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        INJECTED["SIGKILL in a step"] += 1
        settles(db, ref)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=2, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_sigkill_anywhere_in_the_sync(lab: Lab, kind: str, data: st.DataObject) -> None:
    ref = lab.reference(kind)
    point = data.draw(st.sampled_from(["before-commit", "after-commit"]), label="point")
    n = data.draw(st.integers(1, 12), label="batch")
    target = lab.root / f"target-{uuid.uuid4().hex[:8]}.db"
    with lab.fresh(kind) as db:
        assert invoke([*RUN, *db.args]).exit_code == 0
        assert invoke(["duplicates", *db.args, "--no-progress", "--renumber"]).exit_code == 0
        sync = ["sync", *db.args, "--no-progress", "--batch-size", "40", "--target", f"sqlite:///{target}"]
        killed = cli(sync, env={"P2C_FAULT_KILL": f"sync:{point}:{n}"})
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        INJECTED["SIGKILL in the sync"] += 1
        rerun = invoke(sync)
        assert rerun.exit_code in (0, 3), rerun.output
        assert target_state(target) == ref["target"]
        assert sync_records(db) == ref["sync_records"]
        assert snapshot(db) == ref["renumbered"]
        invariants(db)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=2, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 5), point=st.sampled_from(["before-commit", "after-commit"]))
def test_sigkill_in_undo(lab: Lab, kind: str, n: int, point: str) -> None:
    ref = lab.reference(kind)
    with lab.fresh(kind) as db:
        assert invoke([*RUN, *db.args]).exit_code == 0
        killed = cli(["undo", *db.args, "--no-progress", "--run", "1"],
                     env={"P2C_FAULT_KILL": f"undo:{point}:{n}"})
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        INJECTED["SIGKILL in undo"] += 1
        again = invoke(["undo", *db.args, "--no-progress", "--run", "1"])
        assert again.exit_code == 0, again.output
        assert checksum(db) == ref["before"]
        settles(db, ref)


# PostgreSQL: a lost connection, a statement timeout ------------------------------------------

@contextmanager
def contact_locked(db: SalesDb, offset: int = 150) -> Iterator[sa.Connection]:
    """Another session holds a row lock on one contact (FOR UPDATE) until the block ends."""
    engine = sa.create_engine(PG_URL, connect_args={
        "options": f"-c search_path={db.schema} -c application_name=fault-test-holder"})
    conn = engine.connect()
    try:
        conn.execute(sa.text("SELECT 1 FROM contact WHERE contactid = (SELECT contactid FROM contact "
                             "ORDER BY createdon, contactid LIMIT 1 OFFSET :o) FOR UPDATE"), {"o": offset})
        yield conn
    finally:
        conn.rollback()
        conn.close()
        engine.dispose()


def waiting_backend(holder: sa.Connection, timeout: float = 30) -> int:
    """The server pid of the p2c-upgrade session that waits for `holder`'s lock (only that one:
    tests run in parallel)."""
    blocker = holder.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    engine = sa.create_engine(PG_URL)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                pid = conn.execute(sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'p2c-upgrade' "
                    "AND CAST(:b AS integer) = ANY(pg_blocking_pids(pid))"), {"b": blocker}).scalar()
            if pid:
                return int(pid)
            time.sleep(0.05)
        raise AssertionError("the run never waited for the lock")
    finally:
        engine.dispose()


def test_connection_terminated_mid_batch(lab: Lab) -> None:
    ref = lab.reference("postgresql")
    with lab.fresh("postgresql") as db:
        assert invoke([*RUN, *db.args, "--step", "prepare"]).exit_code == 0
        with contact_locked(db) as holder:
            proc = subprocess.Popen([sys.executable, "-m", "p2c_upgrade", *RUN, *db.args],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            pid = waiting_backend(holder)
            engine = sa.create_engine(PG_URL)
            with engine.connect() as conn:
                assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            engine.dispose()
            INJECTED["connection terminated"] += 1
            _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert "lost the connection" in one_line_error(stderr)
        assert query(db, "SELECT state FROM p2c_step WHERE step = 'contact-numbers'") == [("failed",)]
        settles(db, ref)


def test_statement_timeout(lab: Lab) -> None:
    ref = lab.reference("postgresql")
    with lab.fresh("postgresql") as db, pg_role("statement_timeout = '1500ms'") as url:
        assert invoke([*RUN, *db.args, "--step", "prepare"]).exit_code == 0
        with contact_locked(db):
            timed = cli([*RUN, "--db", url, "--schema", str(db.schema)])
            INJECTED["statement timeout"] += 1
        assert timed.returncode == 1
        assert "statement_timeout" in one_line_error(timed.stderr)
        settles(db, ref)


# A lock held by another session: a bounded wait, then which table and who ---------------------

@pytest.mark.parametrize("kind", KINDS)
def test_lock_held_by_another_session(lab: Lab, kind: str) -> None:
    ref = lab.reference(kind)
    with lab.fresh(kind) as db, ExitStack() as held:
        if kind == "postgresql":
            held.enter_context(contact_locked(db))
            expected = ("table contact", "fault-test-holder", "server pid")
        else:
            holder = subprocess.Popen([sys.executable, "-c", (
                "import sqlite3, sys, time\n"
                f"c = sqlite3.connect({str(db.path)!r}, isolation_level=None)\n"
                "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); time.sleep(60)\n")],
                stdout=subprocess.PIPE, text=True)
            held.callback(holder.wait)
            held.callback(holder.kill)
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            expected = ("SQLite file (all its tables)", f"pid {holder.pid}", "sqlite3.connect")
        database = db.open(lock_timeout=1.5)
        started = time.monotonic()
        with pytest.raises(P2CError) as failure:
            run_upgrade(database, RunOptions(batch_size=20))
        waited = time.monotonic() - started
        database.dispose()
        INJECTED["lock held by another session"] += 1
        held.close()
        assert 1.4 < waited < 15, waited
        assert "timed out waiting for a lock" in failure.value.message
        for part in expected:
            assert part in failure.value.message, failure.value.message
        settles(db, ref)


# The disk fills up under SQLite, then space is freed --------------------------------------------

def small_disk(where: Path, size: str = "4m") -> AbstractContextManager[Path]:
    return tmpfs(where, size)


@FEW
@given(free_kib=st.integers(24, 320))
def test_disk_full_under_sqlite_then_space_freed(lab: Lab, tmp_path: Path, free_kib: int) -> None:
    ref = lab.reference("sqlite")
    with small_disk(tmp_path / uuid.uuid4().hex[:8]) as disk:
        path = disk / "sales.db"
        db = SalesDb("sqlite", f"sqlite:///{path}", None, path)
        engine = db.engine()
        sales_metadata().create_all(engine)
        engine.dispose()
        build(db, accounts=200, seed=5)
        filler = disk / "filler"
        with open(filler, "wb") as out:
            free = shutil.disk_usage(disk).free - free_kib * 1024
            out.write(b"\0" * max(free, 0))
        full = cli([*RUN, *db.args])
        if full.returncode != 0:  # a large enough free space lets the run through: no fault
            INJECTED["disk full"] += 1
            assert full.returncode == 1
            assert "disk is full" in one_line_error(full.stderr) or "No space" in full.stderr
        filler.unlink()
        settles(db, ref)


# plan and status while a run is in progress -----------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_plan_and_status_answer_during_a_run_and_do_not_block_it(lab: Lab, kind: str) -> None:
    """The run is held mid-way by another session's lock (a row on PostgreSQL, the write lock on
    SQLite): plan and status answer meanwhile, and the run then finishes as if alone."""
    ref = lab.reference(kind)
    with lab.fresh(kind) as db, ExitStack() as held:
        if kind == "postgresql":
            assert invoke([*RUN, *db.args, "--step", "prepare"]).exit_code == 0
            holder_conn = held.enter_context(contact_locked(db))
        else:  # part of the work is done; the run resumes behind the write lock
            assert invoke([*RUN, *db.args, "--step", "prepare", "--step", "account-numbers"]).exit_code == 0
            holder = subprocess.Popen([sys.executable, "-c", (
                "import sqlite3, sys\n"
                f"c = sqlite3.connect({str(db.path)!r}, isolation_level=None)\n"
                "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); sys.stdin.read()\n")],
                stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
            held.callback(holder.communicate, "")
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        proc = subprocess.Popen([sys.executable, "-m", "p2c_upgrade", *RUN, *db.args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if kind == "postgresql":
            waiting_backend(holder_conn)
        else:
            database = db.open()
            _wait_for(lambda: lock_holder(database) is not None)
            database.dispose()
        answers = []
        for args in (["status", *db.args], ["plan", *db.args], ["status", *db.args, "--format", "json"]):
            started = time.monotonic()
            result = cli(args, timeout=60)
            answers.append((args[0], result.returncode, time.monotonic() - started, result))
        in_progress = proc.poll() is None
        held.close()  # the other session lets go: the run goes on
        _, stderr = proc.communicate(timeout=120)
        assert in_progress, "the run was not in progress"
        INJECTED["plan and status during a run"] += 1
        assert proc.returncode == 0, stderr
        for name, code, seconds, result in answers:
            assert code in (0, 3), f"{name}: {result.stderr}"
            assert seconds < 20, f"{name} took {seconds:.1f} s"
        assert "in progress" in answers[0][3].stdout
        assert snapshot(db) == ref["run"]
        invariants(db)


def _wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except sa.exc.OperationalError:
            pass
        time.sleep(0.02)
