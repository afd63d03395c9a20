"""`prepare`: the P2C columns, the number-sequence table and its rows, and the indexes the
steps need, each only where missing. One batch, one transaction (DDL is transactional on both
PostgreSQL and SQLite), so a killed prepare leaves nothing half-made.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db import sqlfiles
from p2c_upgrade.db.connection import Database
from p2c_upgrade.db.schema import AUTONUMBER_ROWS, AUTONUMBER_TABLE, DOCUMENT_TABLES, P2C_COLUMNS, existing_columns
from p2c_upgrade.upgrade.steps.base import BatchResult, StepContext


def customerid_index_missing(conn: Connection, table: str) -> bool:
    """True unless some index on `table` starts with customerid (the DBA may have made one)."""
    for index in sa.inspect(conn).get_indexes(table):
        cols = index.get("column_names") or []
        if cols and cols[0] and cols[0].lower() == "customerid":
            return False
    return True


def _journal_ddl(ctx: StepContext, table: str, name: str, kind: str, new: str) -> None:
    """Schema objects prepare creates are journaled too (col `(column)`, `(table)`, `(row)` or
    `(index)`, record_id the object's name), so `undo` can take them away again."""
    if ctx.journal:
        ctx.conn.execute(sa.text(sqlfiles.statement(ctx.dialect, "prepare", "journal_ddl")), {
            "run_id": ctx.run_id, "step": ctx.step, "tbl": table, "record_id": name,
            "col": kind, "new": new})


class PrepareStep:
    name = "prepare"
    summary = "add the P2C columns, the number-sequence table and its two rows where missing"
    needs_p2c_columns = False
    resumes_from_cursor = False
    own_transactions = False

    def begin(self, ctx: StepContext, cursor: str | None) -> int | None:
        return None

    def apply_batch(self, ctx: StepContext, cursor: str | None) -> BatchResult:
        conn, dialect = ctx.conn, ctx.dialect
        changes = 0
        found = existing_columns(conn)
        for col in P2C_COLUMNS:
            if col.column not in found.get(col.table, set()):
                conn.execute(sa.text(sqlfiles.statement(dialect, "prepare", f"add_{col.column}")))
                _journal_ddl(ctx, col.table, col.column, "(column)", "present")
                changes += 1
        if AUTONUMBER_TABLE not in found:
            conn.execute(sa.text(sqlfiles.statement(dialect, "prepare", "create_autonumber")))
            _journal_ddl(ctx, AUTONUMBER_TABLE, AUTONUMBER_TABLE, "(table)", "present")
            changes += 1
        for entity, prefix, start, suffix_length in AUTONUMBER_ROWS:
            inserted = conn.execute(
                sa.text(sqlfiles.statement(dialect, "prepare", "insert_autonumber")),
                {"entity": entity, "prefix": prefix, "start": start, "suffix_length": suffix_length},
            ).rowcount
            if inserted:
                _journal_ddl(ctx, AUTONUMBER_TABLE, entity, "(row)", f"{prefix}|{start}|{suffix_length}")
            changes += inserted
        for table in DOCUMENT_TABLES:
            if customerid_index_missing(conn, table):
                conn.execute(sa.text(sqlfiles.statement(
                    dialect, "prepare", "index_customerid",
                    index=ctx.q(f"p2c_ix_{table}_customerid"), table=ctx.q(table),
                )))
                _journal_ddl(ctx, table, f"p2c_ix_{table}_customerid", "(index)", "present")
                changes += 1
        if "issopintegrationenabled" in found.get("organization", set()):
            params = {"run_id": ctx.run_id, "step": ctx.step}
            if ctx.journal:
                conn.execute(sa.text(sqlfiles.statement(dialect, "prepare",
                                                        "enable_integration_journal")), params)
            changes += conn.execute(
                sa.text(sqlfiles.statement(dialect, "prepare", "enable_integration"))
            ).rowcount
        return BatchResult(changes, None, True)

    def end(self, ctx: StepContext) -> None:
        return None

    def verify(self, conn: Connection, db: Database) -> list[str]:
        found = existing_columns(conn)
        problems = [f"column {c.table}.{c.column} is missing" for c in P2C_COLUMNS
                    if c.column not in found.get(c.table, set())]
        if AUTONUMBER_TABLE not in found:
            problems.append(f"table {AUTONUMBER_TABLE} is missing")
        else:
            have = {r[0] for r in conn.execute(
                sa.text(f"SELECT msdynce_entityname FROM {AUTONUMBER_TABLE}"))}
            problems += [f"{AUTONUMBER_TABLE} has no {e!r} row" for e, *_ in AUTONUMBER_ROWS
                         if e not in have]
        return problems
