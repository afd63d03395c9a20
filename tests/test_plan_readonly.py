"""`plan` is read-only by construction: the database is byte-for-byte unchanged afterwards, in
every state and format; it sends only reads; on PostgreSQL it needs only SELECT and creates no
temporary table."""

from __future__ import annotations

import io
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from test_plan_support import (
    build,
    execute,
    fingerprint,
    finish,
    half_upgrade,
    plan_json,
    plan_output,
)

from p2c_upgrade.db.connection import open_database
from p2c_upgrade.plan import FORMATS, build_plan, write_report

from conftest import PG_URL, SalesDb

STATES = ("untouched", "half-upgraded", "finished")


def prepare_state(db: SalesDb, state: str) -> None:
    build(db)
    if state == "half-upgraded":
        half_upgrade(db)
    elif state == "finished":
        finish(db)


@pytest.mark.parametrize("state", STATES)
def test_plan_leaves_the_database_unchanged(sales_db: SalesDb, state: str) -> None:
    prepare_state(sales_db, state)
    before = fingerprint(sales_db)
    doc = plan_json(sales_db)  # through the CLI: its exit code is checked there
    db = sales_db.open(read_only=True)
    try:
        plan = build_plan(db, None, show_personal_data=True)
        for fmt in FORMATS:
            out = io.StringIO()
            write_report(plan, fmt, out)
            assert out.getvalue()
    finally:
        db.dispose()
    assert fingerprint(sales_db) == before
    if state == "finished":
        assert doc["state"] == "upgraded" and doc["nothing_to_do"] and not doc["has_blockers"]
        assert doc["totals"]["changes"] == 0
        assert "Nothing to do" in plan_output(sales_db, "table")[1]
    else:
        assert doc["state"] == ("untouched" if state == "untouched" else "partial")
        assert doc["has_blockers"]  # the generator plants colliding account numbers


def test_plan_sends_only_reads(sales_db: SalesDb) -> None:
    build(sales_db, accounts=30)
    db = sales_db.open(read_only=True)
    sent: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _record(_c: object, _cur: object, statement: str, *_: object) -> None:
        sent.append(" ".join(statement.split()))

    try:
        plan = build_plan(db, None, show_personal_data=True)
        for fmt in FORMATS:
            write_report(plan, fmt, io.StringIO())
    finally:
        db.dispose()
    assert sent
    for statement in sent:
        if statement == "BEGIN":  # SQLite's deferred BEGIN (a writer would BEGIN IMMEDIATE)
            continue
        verb = statement.split()[0].upper()
        assert verb in ("SELECT", "WITH", "SHOW", "PRAGMA"), statement
        if verb == "PRAGMA":
            assert "=" not in statement or statement.startswith("PRAGMA query_only"), statement


def test_plan_refuses_a_writable_handle(sqlite_db: SalesDb) -> None:
    from p2c_upgrade.errors import P2CError

    db = sqlite_db.open()
    try:
        with pytest.raises(P2CError, match="read-only"):
            build_plan(db, None)
    finally:
        db.dispose()


def test_postgres_plan_needs_only_select_and_makes_no_temp_table(pg_db: SalesDb) -> None:
    build(pg_db, accounts=30)
    role = f"p2c_reader_{uuid.uuid4().hex[:8]}"
    schema = pg_db.schema
    execute(pg_db, f'CREATE ROLE "{role}" LOGIN')
    execute(pg_db, f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
    execute(pg_db, f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
    url = sa.make_url(PG_URL).set(username=role).render_as_string(hide_password=False)
    before = fingerprint(pg_db)
    db = open_database(url, schema, read_only=True)
    try:
        plan = build_plan(db, None)
        for fmt in FORMATS:
            write_report(plan, fmt, io.StringIO())
        with db.engine.connect() as conn:  # the pool's one connection: the plan's session
            temp = conn.execute(sa.text(
                "SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()"
            )).scalar()
        assert temp == 0
        assert plan.steps[1].changes and plan.numbers[0].first is not None
    finally:
        db.dispose()
        execute(pg_db, f'DROP OWNED BY "{role}"')
        execute(pg_db, f'DROP ROLE "{role}"')
    assert fingerprint(pg_db) == before
