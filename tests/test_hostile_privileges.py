"""A read-only or under-privileged user: one line naming what is missing, before any write.

Also checks that the grants docs/privileges.md lists for `run` and `undo` are enough.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import sqlalchemy as sa
from test_undo_support import build, invoke, undo

from p2c_upgrade.db.schema import sales_metadata

from conftest import PG_URL, SalesDb
from helpers import snapshot, tmpfs


@contextmanager
def role(db: SalesDb, grants: list[str], settings: str = "") -> Iterator[list[str]]:
    """A login role with these grants on the test schema; the CLI arguments to connect as it."""
    name = f"p2c_priv_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    schema = f'"{db.schema}"'
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{name}" LOGIN'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA {schema} TO "{name}"'))
        for grant in grants:
            conn.execute(sa.text(grant.format(schema=schema, role=f'"{name}"')))
        if settings:
            conn.execute(sa.text(f'ALTER ROLE "{name}" SET {settings}'))
    url = sa.make_url(PG_URL).set(username=name).render_as_string(hide_password=False)
    try:
        yield ["--db", url, "--schema", str(db.schema)]
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{name}"'))
            conn.execute(sa.text(f'DROP ROLE "{name}"'))
        admin.dispose()


def tables(db: SalesDb) -> list[str]:
    engine = db.engine()
    try:
        return sorted(sa.inspect(engine).get_table_names(schema=db.schema))
    finally:
        engine.dispose()


def refused(args: list[str], *needles: str) -> str:
    result = invoke(args)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


READ_ONLY = ["GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}"]
#: what docs/privileges.md lists for `run` once the owner has run `prepare`
RUN_GRANTS = [
    "GRANT SELECT, UPDATE ON {schema}.account, {schema}.contact, {schema}.organization TO {role}",
    "GRANT SELECT ON {schema}.quote, {schema}.salesorder, {schema}.invoice TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON {schema}.msdynce_p2cautonumber, {schema}.p2c_run, {schema}.p2c_step, "
    "{schema}.p2c_journal TO {role}",
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
]
UNDO_GRANTS = [*RUN_GRANTS, "GRANT DELETE ON {schema}.msdynce_p2cautonumber TO {role}"]


def test_a_read_only_user_is_told_which_privileges_are_missing(pg_db: SalesDb) -> None:
    build(pg_db, accounts=20)
    before, names = snapshot(pg_db), tables(pg_db)
    with role(pg_db, READ_ONLY) as args:
        line = refused(["run", *args, "--no-progress"], "lacks", "UPDATE on table account",
                       "CREATE on schema", "ownership of tables contact")
        assert "docs/privileges.md" in line
        assert invoke(["status", *args]).exit_code == 0
        assert invoke(["plan", *args]).exit_code in (0, 3)
        assert invoke(["verify", *args]).exit_code == 3
    assert snapshot(pg_db) == before and tables(pg_db) == names


def test_a_read_only_session_and_undo(pg_db: SalesDb) -> None:
    build(pg_db, accounts=20)
    assert invoke(["run", *pg_db.args, "--no-progress"]).exit_code == 0
    before = snapshot(pg_db)
    with role(pg_db, UNDO_GRANTS, "default_transaction_read_only = on") as args:
        refused(["run", *args, "--no-progress"], "a writable session")
        refused(["undo", *args, "--run", "1"], "a writable session")
    with role(pg_db, READ_ONLY) as args:
        refused(["undo", *args, "--run", "1"], "UPDATE on table account", "ownership of tables contact")
        dry = invoke(["undo", *args, "--run", "1", "--dry-run"])
        assert dry.exit_code == 0, dry.output
    assert snapshot(pg_db) == before


def test_the_documented_grants_are_enough_once_the_owner_prepared(pg_db: SalesDb) -> None:
    build(pg_db, accounts=20)
    assert invoke(["run", *pg_db.args, "--no-progress", "--step", "prepare"]).exit_code == 0
    with role(pg_db, RUN_GRANTS) as args:
        result = invoke(["run", *args, "--no-progress"])
        assert result.exit_code == 0, result.output
        refused(["undo", *args, "--run", "2"], "DELETE on table msdynce_p2cautonumber")
    with role(pg_db, UNDO_GRANTS) as args:
        code, doc = undo(pg_db.__class__(pg_db.kind, args[1], pg_db.schema), "--run", "2")
        assert code == 0 and doc["conflicts_total"] == 0


def read_only_mount(where: Path) -> AbstractContextManager[Path]:
    return tmpfs(where, "8m")


def test_a_read_only_sqlite_file(tmp_path: Path) -> None:
    with read_only_mount(tmp_path / "ro") as mount:
        path = mount / "sales.db"
        db = SalesDb("sqlite", f"sqlite:///{path}", None, path)
        engine = db.engine()
        sales_metadata().create_all(engine)
        engine.dispose()
        build(db, accounts=20)
        before = snapshot(db)
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        refused(["run", *db.args, "--no-progress"], "write permission on the SQLite file")
        refused(["undo", *db.args, "--run", "1"], "nothing to undo")
        assert invoke(["status", *db.args]).exit_code == 0
        assert invoke(["plan", *db.args]).exit_code in (0, 3)
        assert snapshot(db) == before
        assert not (mount / "sales.db.p2c-lock").exists()
