"""Hostile input: odd numbers and references, empty or foreign databases, injection attempts.

Each case ends with the database checked: the tool either did its job (and `verify` agrees, the
invariants hold, undo still restores the tables) or refused in one line without writing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_undo_support import checksum, invariants, invoke, state, undo

from p2c_upgrade.db.schema import sales_metadata
from p2c_upgrade.rules.number_format import seqpart

from conftest import PG_URL, SalesDb, require_pg
from helpers import execute, query, snapshot

NOW = datetime(2020, 1, 1)


def ident(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))


def insert(db: SalesDb, table: str, rows: list[dict[str, Any]]) -> None:
    engine = db.engine()
    tbl = sales_metadata().tables[table]
    with engine.begin() as conn:
        conn.execute(tbl.insert(), rows)
    engine.dispose()


def account(n: int, number: str | None, name: str = "Acme") -> dict[str, Any]:
    return {"accountid": ident(n), "name": name, "accountnumber": number, "statecode": 0,
            "createdon": datetime(2020, 1, 1, 0, 0, n % 60)}


def contact(n: int, **kw: Any) -> dict[str, Any]:
    row = {"contactid": ident(10_000 + n), "firstname": "Zoë", "lastname": "Ünlü", "statecode": 0,
           "createdon": NOW, "parentcustomerid": None, "parentcustomeridtype": None}
    row.update(kw)
    return row


def document(table: str, n: int, customer: str | None, kind: str | None) -> dict[str, Any]:
    return {f"{table}id": ident(20_000 + n), "customerid": customer, "customeridtype": kind,
            "statecode": 0, "createdon": NOW}


def run_ok(db: SalesDb, *extra: str) -> dict[str, Any]:
    result = invoke(["run", *db.args, "--no-progress", "--batch-size", "3", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(invoke(["status", *db.args, "--format", "json"]).stdout)


def test_odd_account_numbers(sales_db: SalesDb) -> None:
    pg = sales_db.kind == "postgresql"
    blanks = ["", " ", "\t", " \r\n "]
    generated_looking = ["ACC-01000-ZZZZZZ", "acc-01001-xxxxxx ", "ÀCC-01003-ABC", "ACC-1002-Q"]
    kept = ["ACC\u00a0", "x" * 20] + ([] if pg else ["NUL\x00INSIDE", "y" * 25])
    numbers: list[str | None] = [None, *blanks, *generated_looking, *kept]
    insert(sales_db, "account", [account(i, v) for i, v in enumerate(numbers)])
    before = checksum(sales_db)
    run_ok(sales_db)
    rows = {str(k): v for k, v in query(sales_db, "SELECT accountid, accountnumber FROM account")}
    for i, value in enumerate(numbers):
        now = rows[ident(i)]
        if value is None or value in blanks:
            assert now.startswith("ACC-") and seqpart(now, "ACC") not in (1000, 1001, 1003), now
        else:
            assert now == value, "an existing number was changed"
    assert invoke(["verify", *sales_db.args]).exit_code == 0
    invariants(sales_db)
    undo(sales_db, "--run", "1")
    assert checksum(sales_db) == before


def test_a_sequence_that_would_hand_out_numbers_over_20_characters(sales_db: SalesDb) -> None:
    insert(sales_db, "account", [account(i, None) for i in range(3)])
    assert invoke(["run", *sales_db.args, "--no-progress", "--step", "prepare"]).exit_code == 0
    execute(sales_db, "UPDATE msdynce_p2cautonumber SET msdynce_suffixlength = 16")
    before = snapshot(sales_db)
    result = invoke(["run", *sales_db.args, "--no-progress"])
    # blocked by the data (exit 3), as the contract says; it exited 1 before
    assert result.exit_code == 3 and "longer than 20 characters" in result.stderr
    assert snapshot(sales_db) == before
    execute(sales_db, "UPDATE msdynce_p2cautonumber SET msdynce_suffixlength = 6")
    run_ok(sales_db)
    invariants(sales_db)


def test_accent_and_case_collisions_block_the_sync(sales_db: SalesDb) -> None:
    insert(sales_db, "account", [account(1, "MÜLLER-1"), account(2, "muller-1"), account(3, "Abc"),
                                 account(4, "ABC  "), account(5, "ÉÀÇ"), account(6, "eac")])
    status = run_ok(sales_db)
    gate = {s["step"]: s for s in status["steps"]}["duplicate-account-numbers"]
    assert gate["state"] == "blocked" and "3 groups" in (gate["detail"] or "")
    listed = invoke(["duplicates", *sales_db.args, "--format", "json"])
    assert listed.exit_code == 3 and len(json.loads(listed.stdout)["groups"]) == 3
    assert invoke(["duplicates", *sales_db.args, "--no-progress", "--renumber"]).exit_code == 0
    invariants(sales_db)


def test_customeridtype_garbage_and_dangling_references(sales_db: SalesDb) -> None:
    insert(sales_db, "account", [account(1, None)])
    kinds = ["contact", "Contact", "CONTACT", " contact", "contact ", "", None, "lead", "account"]
    insert(sales_db, "contact", [contact(i) for i in range(len(kinds))] + [
        contact(50, parentcustomerid=ident(999_999), parentcustomeridtype="account"),  # dangling
        contact(51, parentcustomerid=ident(1), parentcustomeridtype="ACCOUNT"),
        contact(52, parentcustomerid=ident(10_050), parentcustomeridtype="contact"),
        contact(53, parentcustomerid=None, parentcustomeridtype="account")])
    insert(sales_db, "quote", [document("quote", i, ident(10_000 + i), k) for i, k in enumerate(kinds)]
           + [document("quote", 90, ident(888_888), "contact"), document("quote", 91, None, "contact")])
    insert(sales_db, "invoice", [document("invoice", 1, "not-a-uuid" if sales_db.kind == "sqlite"
                                          else None, "contact")])
    run_ok(sales_db)
    active = {str(r[0]) for r in query(sales_db, "SELECT contactid FROM contact WHERE msdynce_isactivecustomer = :t",
                                  {"t": True})}
    assert active == {ident(10_000)}, "only customeridtype exactly 'contact' makes an active customer"
    company = {str(k): v for k, v in query(sales_db, "SELECT contactid, msdynce_iscompanyanaccount FROM contact")}
    assert bool(company[ident(10_050)]) and not company[ident(10_051)] and not company[ident(10_053)]
    assert invoke(["verify", *sales_db.args]).exit_code == 0
    invariants(sales_db)


def test_unicode_names(sales_db: SalesDb) -> None:
    names = ["😀 Emoji GmbH", "שלום בע\"מ", "Ａｃｍｅ", "e\u0301cole", "O'Brien; DROP TABLE account; --",
             "\u202eevil", "名前" * 40]
    insert(sales_db, "account", [account(i, None, name[:160]) for i, name in enumerate(names)])
    insert(sales_db, "contact", [contact(i, firstname=n[:50], lastname=n[-50:]) for i, n in enumerate(names)])
    run_ok(sales_db)
    assert invoke(["plan", *sales_db.args, "--format", "json"]).exit_code in (0, 3)
    assert invoke(["verify", *sales_db.args]).exit_code == 0
    assert len(query(sales_db, "SELECT name FROM account")) == len(names)


def test_an_empty_database(sales_db: SalesDb) -> None:
    before = state(sales_db)
    status = run_ok(sales_db)
    assert sum(s["rows_changed"] for s in status["steps"] if s["step"] != "prepare") == 0
    assert invoke(["verify", *sales_db.args]).exit_code == 0
    code, _ = undo(sales_db, "--run", "1")
    assert code == 0 and state(sales_db) == before


@contextmanager
def bare_database(kind: str, tmp_path: Path) -> Iterator[SalesDb]:
    if kind == "sqlite":
        path = tmp_path / "bare.db"
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE customers (id INTEGER PRIMARY KEY)"))
        engine.dispose()
        yield SalesDb("sqlite", f"sqlite:///{path}", None, path)
        return
    require_pg()
    schema = f"p2c_bare_{uuid.uuid4().hex[:8]}"
    with pg_named_schema(schema) as db:
        yield db


class QuotedSchemaDb(SalesDb):
    """A schema whose name needs quoting (the fixtures' engine assumes a plain name)."""

    def engine(self) -> sa.Engine:
        engine = sa.create_engine(self.url)
        quoted = engine.dialect.identifier_preparer.quote(str(self.schema))

        @sa.event.listens_for(engine, "connect")
        def _path(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cur:
                cur.execute(f"SET search_path TO {quoted}")
            dbapi_conn.commit()

        return engine


@contextmanager
def pg_named_schema(schema: str, sales: bool = False) -> Iterator[SalesDb]:
    admin = sa.create_engine(PG_URL)
    quoted = admin.dialect.identifier_preparer.quote(schema)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {quoted}"))
    db = QuotedSchemaDb("postgresql", PG_URL, schema)
    if sales:
        md = sales_metadata()
        for table in md.tables.values():
            table.schema = schema
        md.create_all(admin)
    try:
        yield db
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {quoted} CASCADE"))
        admin.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_database_without_sales_tables_is_refused_before_anything_is_written(
        kind: str, tmp_path: Path) -> None:
    with bare_database(kind, tmp_path) as db:
        tables_before = sa.inspect(db.engine()).get_table_names(schema=db.schema)
        for command in (["run"], ["plan"], ["status"], ["verify"], ["undo", "--run", "1"]):
            result = invoke([command[0], *db.args, *command[1:]])
            assert result.exit_code == 1, (command, result.output)
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and ("not a Sales database" in lines[0] or "nothing to undo" in lines[0]), lines
        assert sa.inspect(db.engine()).get_table_names(schema=db.schema) == tables_before


HOSTILE_NAMES = ['x"; DROP TABLE account; --', "a b", "semi;colon", "it's", 'q"uote', "Ünïcode schema"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_schema_names_are_quoted_or_refused(name: str, pg_db: SalesDb) -> None:
    rows = [account(1, None)]
    insert(pg_db, "account", rows)
    missing = invoke(["run", "--db", PG_URL, "--schema", name, "--no-progress"])
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    assert query(pg_db, "SELECT count(*) FROM account") == [(1,)]
    with pg_named_schema(name, sales=True) as weird:
        insert(weird, "account", rows)
        insert(weird, "contact", [contact(1)])
        status = run_ok(weird)
        assert {s["step"]: s["state"] for s in status["steps"]}["contact-numbers"] == "done"
        code, _ = undo(weird, "--run", "1")
        assert code == 0
    assert query(pg_db, "SELECT accountnumber FROM account") == [(None,)]


def test_schema_option_on_sqlite_is_a_usage_error(sqlite_db: SalesDb) -> None:
    result = invoke(["run", *sqlite_db.args, "--schema", 'x"; DROP TABLE account; --'])
    assert result.exit_code == 2 and "PostgreSQL only" in result.stderr


CONFIGS = {
    "column": '[sync.tasks.Accounts.fields]\nORGANIZATIONNAME = { source = "name\\"; DROP TABLE account; --" }\n',
    "field": '[sync.tasks.Accounts.fields]\n"NAME; DROP TABLE account" = { source = "name" }\n',
    "task": '[sync.tasks."Accounts; DROP TABLE account"]\n',
    "value map": '[sync.value_maps."x y;z"]\na = "b"\n',
    "map reference": '[sync.tasks.Accounts.fields]\nORGANIZATIONNAME = { source = "name", value_map = "m\'; --" }\n',
    "key": '["numbers; DROP TABLE account"]\nsalt = "x"\n',
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_identifiers_in_the_configuration_file_are_refused(case: str, sales_db: SalesDb, tmp_path: Path) -> None:
    insert(sales_db, "account", [account(1, None)])
    path = tmp_path / "p2c.toml"
    path.write_text(CONFIGS[case], encoding="utf-8")
    before = snapshot(sales_db)
    result = invoke(["run", *sales_db.args, "--config", str(path), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: configuration file") and len(result.stderr.splitlines()) == 1
    assert snapshot(sales_db) == before


def test_a_hostile_salt_is_data(sales_db: SalesDb, tmp_path: Path) -> None:
    insert(sales_db, "account", [account(1, None)])
    path = tmp_path / "p2c.toml"
    path.write_text('[numbers]\nsalt = "\'; DROP TABLE account; -- \\" ; ;"\n', encoding="utf-8")
    result = invoke(["run", *sales_db.args, "--config", str(path), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert query(sales_db, "SELECT accountnumber FROM account")[0][0].startswith("ACC-01000-")


def test_forged_journal_rows_are_never_executed(sales_db: SalesDb) -> None:
    insert(sales_db, "account", [account(1, None)])
    run_ok(sales_db)
    forged = [("account; DROP TABLE contact; --", "1", 'a"b', "x", "y"),
              ("contact", 'msdynce_contactnumber"; DROP TABLE contact; --', "(column)", None, "present"),
              ("quote", 'p2c_ix"; DROP TABLE quote; --', "(index)", None, "present")]
    for tbl, record_id, col, old, new in forged:
        execute(sales_db, "INSERT INTO p2c_journal (run_id, step, tbl, record_id, col, old_value, new_value) "
                          "VALUES (1, 'x', :t, :r, :c, :o, :n)",
                {"t": tbl, "r": record_id, "c": col, "o": old, "n": new})
    code, doc = undo(sales_db, "--run", "1")
    assert code == 0
    assert any("does not know" in note for note in doc["notes"])
    kept = {o["object"]: o for o in doc["schema"]}
    assert any("not a column undo knows" in o["reason"] for o in kept.values())
    assert any("not an index undo knows" in o["reason"] for o in kept.values())
    assert query(sales_db, "SELECT count(*) FROM contact") == [(0,)]
    assert query(sales_db, "SELECT count(*) FROM quote") == [(0,)]
