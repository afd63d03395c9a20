"""The Sales data generator: counts, integrity, determinism, planted collisions, reference DDL."""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from p2c_upgrade.cli import main as cli_main
from p2c_upgrade.db.connection import open_database
from p2c_upgrade.db.schema import DOCUMENT_TABLES, sales_metadata
from p2c_upgrade.demo.generator import (
    COLLISION_KINDS,
    DOCUMENT_STATES,
    SalesData,
    collision_groups,
    generate,
    planted_collisions,
)
from p2c_upgrade.errors import P2CError
from p2c_upgrade.rules.keys import collision_kind, is_blank
from p2c_upgrade.rules.keys import dataverse_key as fold

from conftest import PG_URL, SalesDb, require_pg

N = 400
ROOT = Path(__file__).resolve().parents[1]


def _rows(engine: sa.Engine, table: str) -> list[tuple]:
    t = sales_metadata().tables[table]
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(t)))


def _generate(sales_db: SalesDb, accounts: int = N, seed: int = 0):
    db = sales_db.open()
    try:
        return generate(db, accounts, seed=seed)
    finally:
        db.dispose()


@pytest.fixture
def loaded(sales_db: SalesDb) -> SalesDb:
    _generate(sales_db)
    return sales_db


def test_counts(sales_db: SalesDb) -> None:
    summary = _generate(sales_db)
    assert summary.counts() == {"account": N, "contact": 2 * N, "quote": N, "salesorder": N,
                                "invoice": N, "organization": 1}
    assert summary.total == 6 * N + 1
    assert "generated" in summary.line()
    engine = sales_db.engine()
    with engine.connect() as conn:
        for table, expected in summary.counts().items():
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == expected
    engine.dispose()


def test_referential_integrity(loaded: SalesDb) -> None:
    engine = loaded.engine()
    with engine.connect() as conn:
        def scalar(sql: str) -> int:
            return conn.execute(sa.text(sql)).scalar()

        # every parent exists in the table its type names, and type and id go together
        assert scalar("SELECT count(*) FROM contact c WHERE parentcustomeridtype = 'account' "
                      "AND NOT EXISTS (SELECT 1 FROM account a "
                      "WHERE a.accountid = c.parentcustomerid)"
                      ) == 0
        assert scalar("SELECT count(*) FROM contact c WHERE parentcustomeridtype = 'contact' "
                      "AND NOT EXISTS (SELECT 1 FROM contact p "
                      "WHERE p.contactid = c.parentcustomerid)"
                      ) == 0
        assert scalar("SELECT count(*) FROM contact WHERE (parentcustomerid IS NULL) <> "
                      "(parentcustomeridtype IS NULL)") == 0
        assert scalar("SELECT count(*) FROM contact WHERE parentcustomerid = contactid") == 0
        for doc in DOCUMENT_TABLES:
            assert scalar(f"SELECT count(*) FROM {doc} d WHERE customeridtype = 'account' AND NOT "
                          "EXISTS (SELECT 1 FROM account a WHERE a.accountid = d.customerid)") == 0
            assert scalar(f"SELECT count(*) FROM {doc} d WHERE customeridtype = 'contact' AND NOT "
                          "EXISTS (SELECT 1 FROM contact c WHERE c.contactid = d.customerid)") == 0
            assert scalar(f"SELECT count(*) FROM {doc} WHERE customerid IS NULL "
                          "OR customeridtype NOT IN ('account', 'contact')") == 0
    engine.dispose()


def test_shape_of_the_data(loaded: SalesDb) -> None:
    engine = loaded.engine()
    accounts = _rows(engine, "account")
    contacts = _rows(engine, "contact")
    docs = {t: _rows(engine, t) for t in DOCUMENT_TABLES}
    engine.dispose()

    for row in accounts + contacts:
        assert str(uuid.UUID(row[0])) == row[0] and uuid.UUID(row[0]).version == 4
    numbers = [a[2] for a in accounts]
    own = sum(1 for n in numbers if n is not None and n.startswith("CUST-"))
    assert 0.12 * N < own < 0.28 * N
    assert sum(1 for n in numbers if n is None) > 0.6 * N
    assert {a[5] for a in accounts} == {0, 1}
    assert {c[6] for c in contacts} == {0, 1}
    assert len({a[1] for a in accounts}) > 50  # company names vary
    countries = Counter(a[3] for a in accounts)
    assert countries["United States"] > countries["US"] > 0 or countries["US"] == 0
    assert None in countries and "" in countries
    # createdon spreads over years, with exact ties
    years = {a[6].year for a in accounts}
    assert len(years) >= 8
    assert max(Counter(a[6] for a in accounts).values()) > 1

    types = Counter(c[4] for c in contacts)
    assert 0.5 * 2 * N < types["account"] < 0.7 * 2 * N
    assert 0.08 * 2 * N < types["contact"] < 0.22 * 2 * N
    assert 0.15 * 2 * N < types[None] < 0.35 * 2 * N
    names = {c[1] for c in contacts} | {c[2] for c in contacts}
    assert names & {"José", "Zoë", "李"}

    customers_by_table: dict[str, set[str]] = defaultdict(set)
    for table, rows in docs.items():
        assert {r[3] for r in rows} == set(range(DOCUMENT_STATES[table]))
        share = sum(1 for r in rows if r[2] == "account") / len(rows)
        assert 0.6 < share < 0.8
        customers_by_table[table] = {r[1] for r in rows if r[2] == "contact"}
    contact_ids = {c[0] for c in contacts}
    any_doc = set().union(*customers_by_table.values())
    only_invoice = customers_by_table["invoice"] - customers_by_table["quote"] - customers_by_table[
        "salesorder"]
    assert only_invoice, "some contacts are customers only through an invoice"
    assert contact_ids - any_doc, "some contacts have no documents"


def test_planted_collisions(loaded: SalesDb) -> None:
    engine = loaded.engine()
    numbers = [a[2] for a in _rows(engine, "account")]
    engine.dispose()
    groups: dict[str, list[str]] = defaultdict(list)
    for n in numbers:
        if not is_blank(n):
            groups[fold(n)].append(n)
    colliding = [sorted(g) for g in groups.values() if len(g) > 1]
    kinds = Counter(collision_kind(g[0], g[1]) for g in colliding)
    assert kinds == Counter(dict.fromkeys(COLLISION_KINDS, 1))
    # blanks of both kinds are there too
    assert "" in numbers and "   " in numbers
    assert all(n is None or len(n) <= 20 for n in numbers)


def test_collision_groups_scale_with_n() -> None:
    assert collision_groups(10) == 1
    assert collision_groups(199_999) == 1
    assert collision_groups(250_000) == 2
    assert collision_groups(1_000_000) == 10
    pairs = planted_collisions(250_000)
    assert Counter(k for k, _, _ in pairs) == Counter(dict.fromkeys(COLLISION_KINDS, 2))
    assert len({fold(a) for _, a, _ in pairs}) == len(pairs)  # groups do not merge
    # and they are all planted, on distinct rows (no actual load: just the accounts' rows)
    data = SalesData(250_000, seed=3)
    folded = Counter(
        fold(r[2]) for rows in data.account_chunks() for r in rows
        if r[2] is not None and not r[2].startswith("CUST-") and not is_blank(r[2])
    )
    assert sorted(folded.values()) == [2] * len(pairs)


def test_deterministic_for_a_seed(loaded: SalesDb, tmp_path: Path) -> None:
    # the same seed on another database (SQLite) gives the same rows, whatever loaded the first
    other = tmp_path / "other.db"
    db = open_database(f"sqlite:///{other}", must_exist=False)
    try:
        generate(db, N, seed=0)
    finally:
        db.dispose()
    a, b = loaded.engine(), sa.create_engine(f"sqlite:///{other}")
    for table in ("account", "contact", *DOCUMENT_TABLES, "organization"):
        assert _rows(a, table) == _rows(b, table), table
    a.dispose()
    b.dispose()


def test_seed_changes_the_data() -> None:
    first = next(SalesData(50, seed=1).contact_chunks())
    again = next(SalesData(50, seed=1).contact_chunks())
    other = next(SalesData(50, seed=2).contact_chunks())
    assert first == again
    assert first != other
    assert {r[0] for r in first}.isdisjoint({r[0] for r in other})


def test_chunking_does_not_change_the_rows() -> None:
    data = SalesData(300, seed=5)
    big = [r for rows in data.document_chunks("invoice", 10_000) for r in rows]
    small = [r for rows in data.document_chunks("invoice", 7) for r in rows]
    assert big == small and len(big) == 300


def test_refuses_a_loaded_database(loaded: SalesDb) -> None:
    db = loaded.open()
    try:
        with pytest.raises(P2CError, match="already holds rows"):
            generate(db, 10)
    finally:
        db.dispose()


def test_creates_missing_tables_and_cli(tmp_path: Path) -> None:
    """`p2c-upgrade generate`: a documented command (the benchmark's loader too)."""
    path = tmp_path / "new.db"
    args = ["generate", "--db", f"sqlite:///{path}", "--accounts", "25", "--no-progress"]
    first = CliRunner().invoke(cli_main, [*args, "--seed", "7"])
    assert first.exit_code == 0, first.output
    assert re.match(r"generated 151 rows \(25 account, 50 contact, .*\) in [0-9.]+ s", first.stdout)
    again = CliRunner().invoke(cli_main, args)
    assert again.exit_code == 1
    assert "already holds rows" in again.stderr
    assert "generate" in CliRunner().invoke(cli_main, ["--help"]).stdout


@pytest.mark.postgres
def test_generate_creates_the_postgresql_schema() -> None:
    require_pg()
    schema = f"p2c_gen_{uuid.uuid4().hex[:8]}"
    try:
        result = CliRunner().invoke(cli_main, ["generate", "--db", PG_URL, "--schema", schema,
                                               "--accounts", "10", "--no-progress"])
        assert result.exit_code == 0, result.output
        engine = sa.create_engine(PG_URL, connect_args={"options": f"-c search_path={schema}"})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM account")).scalar() == 10
        engine.dispose()
    finally:
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# --- the reference DDL agrees with sales_metadata() ------------------------------------------


def _columns(engine: sa.Engine, schema: str | None) -> dict[str, dict[str, tuple]]:
    insp = sa.inspect(engine)
    out: dict[str, dict[str, tuple]] = {}
    for table in insp.get_table_names(schema=schema):
        pk = set(insp.get_pk_constraint(table, schema=schema)["constrained_columns"])
        out[table] = {
            c["name"]: (c["nullable"], str(c["type"]).lower(), c["name"] in pk)
            for c in insp.get_columns(table, schema=schema)
        }
    return out


def _statements(path: Path) -> list[str]:
    text = "\n".join(line.split("--")[0] for line in path.read_text().splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


def test_sqlite_ddl_matches_metadata(tmp_path: Path) -> None:
    ddl = sa.create_engine(f"sqlite:///{tmp_path / 'ddl.db'}")
    with ddl.begin() as conn:
        for stmt in _statements(ROOT / "p2c_upgrade" / "db" / "sql" / "sqlite" / "sales_schema.sql"):
            conn.exec_driver_sql(stmt)
    meta = sa.create_engine(f"sqlite:///{tmp_path / 'meta.db'}")
    sales_metadata().create_all(meta)
    assert _columns(ddl, None) == _columns(meta, None)
    ddl.dispose()
    meta.dispose()


def test_postgresql_ddl_matches_metadata() -> None:
    require_pg()
    suffix = uuid.uuid4().hex[:10]
    engine = sa.create_engine(PG_URL)
    ddl_schema, meta_schema = f"p2c_test_ddl_{suffix}", f"p2c_test_meta_{suffix}"
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {ddl_schema}")
            conn.exec_driver_sql(f"CREATE SCHEMA {meta_schema}")
            conn.exec_driver_sql(f"SET LOCAL search_path TO {ddl_schema}")
            for stmt in _statements(ROOT / "p2c_upgrade" / "db" / "sql" / "postgresql" / "sales_schema.sql"):
                conn.exec_driver_sql(stmt)
        sales_metadata().create_all(engine.execution_options(
            schema_translate_map={None: meta_schema}))
        ddl_cols, meta_cols = _columns(engine, ddl_schema), _columns(engine, meta_schema)
        assert ddl_cols == meta_cols
        assert ddl_cols["account"]["accountid"][1] == "uuid"
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {ddl_schema} CASCADE")
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {meta_schema} CASCADE")
        engine.dispose()
