"""Helpers of the safety-net tests: the Sales state as a checksum, the CLI in-process, invariants."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner, Result

from p2c_upgrade.cli import main
from p2c_upgrade.demo.generator import generate
from p2c_upgrade.rules.keys import dataverse_key as fold
from p2c_upgrade.rules.number_format import seqpart

from conftest import SalesDb
from helpers import SALES_TABLES, query, snapshot

NUMBER_COLUMNS = (("account", "account", "accountnumber", "ACC"),
                  ("contact", "contact", "msdynce_contactnumber", "CON"))


def build(db: SalesDb, accounts: int = 150, seed: int = 11) -> None:
    database = db.open(must_exist=False)
    generate(database, accounts, seed=seed)
    database.dispose()


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args, catch_exceptions=False)


def run(db: SalesDb, *extra: str) -> Result:
    result = invoke(["run", *db.args, "--no-progress", "--batch-size", "40", *extra])
    assert result.exit_code == 0, result.output
    return result


def undo(db: SalesDb, *extra: str) -> tuple[int, dict[str, Any]]:
    result = invoke(["undo", *db.args, "--no-progress", "--format", "json", *extra])
    assert result.exit_code in (0, 3), result.output
    return result.exit_code, json.loads(result.stdout)


def schema_of(db: SalesDb) -> dict[str, Any]:
    """Columns (name, type) and index names of the Sales tables (not the tool's own)."""
    engine = db.engine()
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        for table in insp.get_table_names(schema=db.schema):
            if table in SALES_TABLES:
                cols = [(c["name"], str(c["type"])) for c in insp.get_columns(table, schema=db.schema)]
                idx = sorted(i["name"] or "" for i in insp.get_indexes(table, schema=db.schema))
                out[table] = {"columns": cols, "indexes": idx}
    engine.dispose()
    return out


def state(db: SalesDb) -> dict[str, Any]:
    return {"data": snapshot(db), "schema": schema_of(db)}


def checksum(db: SalesDb) -> str:
    return hashlib.sha256(json.dumps(state(db), sort_keys=True, default=str).encode()).hexdigest()


def invariants(db: SalesDb) -> None:
    """No number handed out twice; each sequence's next value past every number it handed out;
    the journal agrees with the tables (the latest journaled value of a cell is its value)."""
    tables = set(sa.inspect(db.engine()).get_table_names(schema=db.schema))
    if "p2c_journal" not in tables:
        return
    for entity, table, col, prefix in NUMBER_COLUMNS:
        if "msdynce_p2cautonumber" not in tables:
            continue
        seq = query(db, "SELECT msdynce_numbersequence FROM msdynce_p2cautonumber "
                        "WHERE msdynce_entityname = :e", {"e": entity})
        if not seq:
            continue
        handed = [r[0] for r in query(db, "SELECT new_value FROM p2c_journal WHERE tbl = :t AND col = :c "
                                          "AND step <> 'undo' AND new_value IS NOT NULL",
                                      {"t": table, "c": col})]
        current = {r[0] for r in query(db, f'SELECT "{col}" FROM "{table}" WHERE "{col}" IS NOT NULL')} \
            if col in _columns(db, table) else set()
        live = sorted({v for v in handed if v in current})
        parts = [seqpart(v, prefix) for v in live]
        assert len(set(parts)) == len(parts), f"{entity}: a number handed out twice"
        if live:
            assert seq[0][0] > max(p or 0 for p in parts), f"{entity}: sequence not past its numbers"
        values = [fold(v) for v in current if seqpart(v, prefix) is not None]
        assert len(values) == len(set(values)), f"{entity}: two records hold the same generated number"
    latest = query(db, "SELECT tbl, record_id, col, new_value FROM (SELECT tbl, record_id, col, new_value, "
                       "row_number() OVER (PARTITION BY tbl, record_id, col ORDER BY journal_id DESC) AS k "
                       "FROM p2c_journal WHERE col NOT LIKE '(%' AND tbl <> 'msdynce_p2cautonumber') j "
                       "WHERE k = 1")
    pks = {"account": "accountid", "contact": "contactid", "organization": "organizationid"}
    values: dict[tuple[str, str], dict[str, Any]] = {}
    columns = {t: _columns(db, t) for t in {r[0] for r in latest}}
    for tbl, record_id, col, new in latest:
        if col not in columns[tbl]:
            assert new in (None, "false"), f"{tbl}.{col} is gone but the journal says {new!r}"
            continue
        if (tbl, col) not in values:
            rows = query(db, f'SELECT CAST("{pks[tbl]}" AS TEXT), "{col}" FROM "{tbl}"')
            values[(tbl, col)] = {r[0]: _as_journal_text(r[1]) for r in rows}
        have = values[(tbl, col)].get(record_id, "<no such record>")
        assert have == new, f"{tbl} {record_id} {col}: the table holds {have!r}, the journal says {new!r}"


def _as_journal_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):  # SQLite booleans
        return "true" if value else "false"
    return value


def _columns(db: SalesDb, table: str) -> set[str]:
    engine = db.engine()
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table, schema=db.schema)}
    finally:
        engine.dispose()
