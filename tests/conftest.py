"""Fixtures that build real databases: a SQLite file per test, a PostgreSQL schema per test.

PostgreSQL comes from P2C_TEST_PG_URL (default: the local server). Without a server the
PostgreSQL tests skip, except under CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from p2c_upgrade.db.connection import Database, open_database
from p2c_upgrade.db.schema import sales_metadata


def with_driver(url: str) -> str:
    """`postgresql://…` (the README's form) names no driver, and SQLAlchemy's default for it is
    psycopg2, which is not installed: the tests (like the tool) use psycopg 3."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


PG_URL = with_driver(os.environ.get("P2C_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
IN_CI = os.environ.get("CI", "").lower() == "true"


@dataclass
class SalesDb:
    """A Sales database made for one test: its URL, schema and CLI arguments."""

    kind: str
    url: str
    schema: str | None
    path: Path | None = None

    @property
    def args(self) -> list[str]:
        return ["--db", self.url] + (["--schema", self.schema] if self.schema else [])

    def open(self, **kw: object) -> Database:
        return open_database(self.url, self.schema, **kw)  # type: ignore[arg-type]

    def engine(self) -> sa.Engine:
        """A plain engine on the database (search_path set for PostgreSQL)."""
        if self.schema:
            return sa.create_engine(
                self.url, connect_args={"options": f"-c search_path={self.schema}"}
            )
        return sa.create_engine(self.url)


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any reason means "no server"
        return str(exc).splitlines()[0]


_PG_PROBLEM: list[str | None] = []


def pg_problem() -> str | None:
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_pg_available())
    return _PG_PROBLEM[0]


def require_pg() -> None:
    problem = pg_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {problem}")
        pytest.skip(f"PostgreSQL not available: {problem}")


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[SalesDb]:
    path = tmp_path / "sales.db"
    db = SalesDb("sqlite", f"sqlite:///{path}", None, path)
    engine = db.engine()
    sales_metadata().create_all(engine)
    engine.dispose()
    yield db


@contextmanager
def pg_schema() -> Iterator[SalesDb]:
    """A fresh PostgreSQL schema with empty Sales tables, dropped afterwards."""
    require_pg()
    schema = f"p2c_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    db = SalesDb("postgresql", PG_URL, schema)
    engine = db.engine()
    sales_metadata().create_all(engine)
    engine.dispose()
    try:
        yield db
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_db() -> Iterator[SalesDb]:
    with pg_schema() as db:
        yield db


@pytest.fixture
def second_db(sales_db: SalesDb, tmp_path: Path) -> Iterator[SalesDb]:
    """Another fresh database of the same kind as `sales_db` (a reference to compare with)."""
    if sales_db.kind == "sqlite":
        path = tmp_path / "reference.db"
        db = SalesDb("sqlite", f"sqlite:///{path}", None, path)
        engine = db.engine()
        sales_metadata().create_all(engine)
        engine.dispose()
        yield db
    else:
        with pg_schema() as db:
            yield db


@pytest.fixture(params=["sqlite", "postgresql"])
def sales_db(request: pytest.FixtureRequest) -> SalesDb:
    """The same test on a SQLite file and on a PostgreSQL schema."""
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
