"""The upgrade lock: one per database and schema, reported only there, never waited for by
`status`, a lock file that is never a link, never lingers and is made by no refused command,
and a holder's command line shown without its credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_undo_support import build

from p2c_upgrade.db.connection import open_database
from p2c_upgrade.db.holders import command_line
from p2c_upgrade.db.lock import UpgradeLock
from p2c_upgrade.db.schema import sales_metadata
from p2c_upgrade.errors import LockHeldError

from conftest import PG_URL, SalesDb, require_pg
from helpers import cli, pg_role

RUN = ["run", "--no-progress"]


def lock_file(db: SalesDb) -> Path:
    assert db.path is not None
    return db.path.with_name(db.path.name + ".p2c-lock")


@contextmanager
def held(db: SalesDb, schema: str | None = None) -> Iterator[None]:
    """This process holds the upgrade lock of `db` (on PostgreSQL: a session of its own)."""
    database = db.open() if schema is None else open_database(db.url, schema)
    lock = UpgradeLock(database, "run")
    lock.acquire()
    try:
        yield
    finally:
        lock.release()
        database.dispose()


def status_json(db: SalesDb) -> dict[str, object]:
    result = cli(["status", *db.args, "--format", "json"])
    assert result.returncode == 0, result.stderr
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def finding_codes(db: SalesDb) -> set[str]:
    result = cli(["plan", *db.args, "--format", "json"])
    assert result.returncode in (0, 3), result.stderr
    return {f["code"] for f in json.loads(result.stdout)["findings"]}


# PostgreSQL: per database and per schema really used ---------------------------------------

@contextmanager
def other_database(schema: str) -> Iterator[SalesDb]:
    """Another database of the same server with the Sales tables in a schema of the same name."""
    require_pg()
    name = f"p2c_other_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    db = SalesDb("postgresql", url, schema)
    engine = db.engine()
    sales_metadata().create_all(engine)
    engine.dispose()
    try:
        yield db
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_a_lock_in_one_database_is_not_reported_in_another(pg_db: SalesDb) -> None:
    build(pg_db, accounts=20)
    assert pg_db.schema is not None
    with other_database(pg_db.schema) as other:
        build(other, accounts=20)
        with held(pg_db):
            here = status_json(pg_db)["lock"]
            assert isinstance(here, dict) and here["held"] is True and "p2c-upgrade run" in here["holder"]
            assert "run_in_progress" in finding_codes(pg_db)
            lock = status_json(other)["lock"]
            assert lock == {"held": False, "holder": None}
            assert "run_in_progress" not in finding_codes(other)
            ran = cli([*RUN, *other.args])
            assert ran.returncode == 0, ran.stderr


@pytest.mark.postgres
def test_the_lock_is_keyed_on_the_schema_used_not_on_the_schema_option(pg_db: SalesDb) -> None:
    build(pg_db, accounts=20)
    assert pg_db.schema is not None
    with pg_role(f'search_path = "{pg_db.schema}"') as url, held(pg_db):
        second = cli([*RUN, "--db", url])
        assert second.returncode == 4, second.stderr
        assert "holds the upgrade lock" in second.stderr and "p2c-upgrade run" in second.stderr
        assert json.loads(cli(["status", "--db", url, "--format", "json"]).stdout)["lock"]["held"] is True


@pytest.mark.postgres
def test_status_answers_at_once_while_a_run_waits_for_a_table_lock(pg_db: SalesDb) -> None:
    """Another session reads contact in an open transaction; the run's prepare waits to alter it
    (holding its lock on account meanwhile). `status` reads only the catalog and the ledger."""
    build(pg_db, accounts=30)
    engine = sa.create_engine(PG_URL, connect_args={"options": f"-c search_path={pg_db.schema}"})
    reader = engine.connect()
    try:
        reader.execute(sa.text("SELECT 1 FROM contact LIMIT 1"))  # AccessShareLock until rollback
        run = subprocess.Popen([sys.executable, "-m", "p2c_upgrade", *RUN, *pg_db.args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            waiting = False
            for _ in range(300):
                with engine.connect() as conn:
                    waiting = bool(conn.execute(sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'p2c-upgrade%' "
                        "AND wait_event_type = 'Lock'")).scalar())
                if waiting:
                    break
                time.sleep(0.05)
            assert waiting, "the run never waited"
            started = time.monotonic()
            status = cli(["status", *pg_db.args, "--format", "json", "--lock-timeout", "30"], timeout=60)
            elapsed = time.monotonic() - started
            assert status.returncode == 0, status.stderr
            assert elapsed < 15, elapsed  # an interpreter start; the lock timeout was 30 s
            doc = json.loads(status.stdout)
            assert doc["lock"]["held"] is True
            assert run.poll() is None, "the run was not waiting any more"
        finally:
            reader.rollback()
            _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr
    finally:
        reader.close()
        engine.dispose()


# SQLite: the lock file ---------------------------------------------------------------------

def test_no_lock_file_lingers_after_a_run_or_a_refusal(sqlite_db: SalesDb, tmp_path: Path) -> None:
    build(sqlite_db, accounts=20)
    assert cli([*RUN, *sqlite_db.args]).returncode == 0
    assert not lock_file(sqlite_db).exists()
    for args in (["status"], ["plan"], ["verify"], ["duplicates"]):
        cli([*args, *sqlite_db.args])
        assert not lock_file(sqlite_db).exists(), args
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()
    refused = cli([*RUN, "--db", f"sqlite:///{empty}"])
    assert refused.returncode != 0 and "not a Sales database" in refused.stderr
    assert not empty.with_name("empty.db.p2c-lock").exists()
    with held(sqlite_db):
        assert lock_file(sqlite_db).exists()
        busy = cli([*RUN, *sqlite_db.args])
        assert busy.returncode == 4, busy.stderr
        assert "pid" in busy.stderr and "p2c-upgrade run" in busy.stderr
    assert not lock_file(sqlite_db).exists()


def test_a_file_left_by_a_killed_holder_is_reported_free_and_reused(sqlite_db: SalesDb) -> None:
    build(sqlite_db, accounts=20)
    lock_file(sqlite_db).write_text(json.dumps({"command": "run", "user": "x", "host": "h", "pid": 1,
                                                "since": "2020-01-01T00:00:00Z"}))
    assert status_json(sqlite_db)["lock"] == {"held": False, "holder": None}
    assert cli([*RUN, *sqlite_db.args]).returncode == 0
    assert not lock_file(sqlite_db).exists()


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_planted_link_as_lock_file_is_refused_and_nothing_is_written_through_it(
        sqlite_db: SalesDb, tmp_path: Path, link: str) -> None:
    build(sqlite_db, accounts=20)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    if link == "symlink":
        lock_file(sqlite_db).symlink_to(victim)
    else:
        os.link(victim, lock_file(sqlite_db))
    result = cli([*RUN, *sqlite_db.args])
    assert result.returncode == 1
    assert victim.read_text() == "precious\n"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is a link" in lines[0] and str(lock_file(sqlite_db)) in lines[0]


def test_two_locks_in_one_process_exclude_each_other(sqlite_db: SalesDb) -> None:
    """POSIX record locks belong to the process: the second lock must still be refused, and
    refusing it must not drop the first (another process then still finds it held)."""
    build(sqlite_db, accounts=5)
    with held(sqlite_db):
        database = sqlite_db.open()
        with pytest.raises(LockHeldError, match="p2c-upgrade run"):
            UpgradeLock(database, "undo").acquire()
        database.dispose()
        assert cli([*RUN, *sqlite_db.args]).returncode == 4


# A holder's command line: masked, then cut --------------------------------------------------

def test_the_lock_holders_command_line_is_masked_before_it_is_cut(sqlite_db: SalesDb, tmp_path: Path) -> None:
    """The holder's password sits across the 80-character cut: cut first, `postgresql://u:secr`
    (no `@`) escaped the mask."""
    build(sqlite_db, accounts=20)
    secret = "hunter2" * 15
    (tmp_path / "h.py").write_text(
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[2], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE'); print('held', flush=True); sys.stdin.read()\n")
    holder = subprocess.Popen(
        [sys.executable, "h.py", f"postgresql://admin:{secret}@db.example/sales?password=swordfish{secret}",
         str(sqlite_db.path)],
        stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = cli([*RUN, *sqlite_db.args, "--lock-timeout", "0.5"])
    finally:
        holder.communicate("")
    assert result.returncode == 1
    assert "timed out waiting for a lock" in result.stderr
    if not Path("/proc/locks").exists():
        pytest.skip("the holder's command line is read from Linux's /proc")
    assert f"pid {holder.pid}" in result.stderr
    assert "hunter2" not in result.stderr and "swordfish" not in result.stderr
    assert "admin:***" in result.stderr


def test_a_holder_whose_command_line_cannot_be_read_is_shown_as_unknown() -> None:
    assert command_line(2**22 + 12345, lambda s: s) == "?"
