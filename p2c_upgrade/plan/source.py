"""What `plan` reads and how: one read-only transaction, and what the database holds already.

Read-only by construction: the database must be opened read-only (SQLite `mode=ro`,
PostgreSQL `default_transaction_read_only`), and each session also asks for it itself
(PostgreSQL `READ ONLY` transaction, SQLite `PRAGMA query_only`) and checks it got it. Nothing
in `sql/<dialect>/plan.sql` creates a table, so read privileges are enough.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db import sqlfiles
from p2c_upgrade.db.connection import Database, translate_errors
from p2c_upgrade.db.schema import AUTONUMBER_ROWS, AUTONUMBER_TABLE, P2C_COLUMNS, check_sales_schema
from p2c_upgrade.errors import P2CError
from p2c_upgrade.rules.keys import BAD_KEY_CHARS
from p2c_upgrade.rules.number_format import MAX_NUMBER_LENGTH
from p2c_upgrade.sync import selection
from p2c_upgrade.upgrade.numbers import (
    ACCOUNT_NUMBERS,
    CONTACT_NUMBERS,
    NumberJob,
    Sequence,
    assign_params,
    read_sequence,
)

EXAMPLES = 5


@contextmanager
def read_only_session(db: Database) -> Iterator[Connection]:
    """A connection inside one read-only transaction that sees one snapshot of the data."""
    if not db.read_only:
        raise P2CError("plan needs a database opened read-only (open_database(read_only=True))")
    with translate_errors(db), db.engine.connect() as conn, db.dialect_impl.read_only_transaction(conn) as conn:
        flag = conn.execute(sa.text(statement(db, "read_only_check"))).scalar()
        if str(flag).lower() not in ("on", "1"):
            raise P2CError("could not open a read-only transaction for plan")
        yield conn


def statement(db: Database, name: str, **identifiers: str) -> str:
    return sqlfiles.statement(db.dialect, "plan", name, **identifiers)


@dataclass(frozen=True)
class SequencePlan:
    """A number sequence as `run` will find it: from msdynce_p2cautonumber, or the row prepare
    will insert (`source` "default"); `error` when the row cannot be used."""

    entity: str
    sequence: Sequence | None
    source: str  # "table" or "default"
    error: str | None = None


@dataclass
class Snapshot:
    """What the database holds of the P2C solution and of the tool, read once."""

    tables: dict[str, set[str]]
    sequences: dict[str, SequencePlan] = field(default_factory=dict)
    salt: str = ""

    def has_column(self, table: str, column: str) -> bool:
        return column in self.tables.get(table, set())

    @property
    def missing_columns(self) -> list[tuple[str, str]]:
        return [(c.table, c.column) for c in P2C_COLUMNS if not self.has_column(c.table, c.column)]

    @property
    def has_autonumber(self) -> bool:
        return AUTONUMBER_TABLE in self.tables

    @property
    def has_ledger(self) -> bool:
        return "p2c_run" in self.tables

    @property
    def untouched(self) -> bool:
        """Nothing of the P2C solution nor of the tool is there yet."""
        return (len(self.missing_columns) == len(P2C_COLUMNS) and not self.has_autonumber
                and not self.has_ledger)

    @property
    def has_organization_flag(self) -> bool:
        return self.has_column("organization", "issopintegrationenabled")


def read_snapshot(conn: Connection, db: Database, salt: str) -> Snapshot:
    snap = Snapshot(tables=check_sales_schema(conn), salt=salt)
    present: set[str] = set()
    if snap.has_autonumber:
        present = {str(r[0]) for r in conn.execute(sa.text(statement(db, "sequence_rows")))}
    for entity, prefix, start, suffix_length in AUTONUMBER_ROWS:
        if entity not in present:
            snap.sequences[entity] = SequencePlan(
                entity, Sequence(prefix, start, suffix_length), "default")
            continue
        try:
            seq = read_sequence(conn, db, entity, lock=False)
        except P2CError as exc:
            snap.sequences[entity] = SequencePlan(entity, None, "table", exc.message)
        else:
            snap.sequences[entity] = SequencePlan(entity, seq, "table")
    return snap


# ---------------------------------------------------------------------------------------------
# SQL built from plan.sql and numbers.sql for what the snapshot holds


def job_for(step: str) -> NumberJob:
    return ACCOUNT_NUMBERS if step == "account-numbers" else CONTACT_NUMBERS


@dataclass(frozen=True)
class NumberSql:
    """run's numbering statements for one job: its queue, its reserved numbers, and the
    assign SELECT over the queue (plan.sql `planned_numbers`)."""

    queue: str
    reserved: str
    planned: str


def number_sql(db: Database, snap: Snapshot, job: NumberJob) -> NumberSql:
    ids = job.identifiers(db)
    if not snap.has_column(job.table, job.col):
        # Before prepare adds the column: a SELECT stands in for the table, old values NULL.
        ids["table"] = "(" + statement(db, "contact_without_number") + ")"
    parts = {name: sqlfiles.statement(db.dialect, "numbers", name, **ids)
             for name in (job.selection, "reserved", "assign")}
    planned = statement(db, "planned_numbers", queue=parts[job.selection],
                        reserved=parts["reserved"], assign=parts["assign"])
    return NumberSql(parts[job.selection], parts["reserved"], planned)


def contacts_sql(db: Database, snap: Snapshot) -> str:
    """Every contact with its flags now and after the upgrade (plan.sql `contact_state`)."""
    missing = statement(db, "missing_flag")

    def flag(column: str) -> str:
        return f"c.{db.quote(column)}" if snap.has_column("contact", column) else missing

    return statement(db, "contact_state", active=flag("msdynce_isactivecustomer"),
                     company=flag("msdynce_iscompanyanaccount"))


#: Where plan.sql's `contact_state` holds what the sync's selection reads: the flags as they will
#: be after the upgrade (1/0), and the parent columns.
CONTACT_STATE_COLUMNS = {
    "msdynce_isactivecustomer": "c.active_after", "msdynce_iscompanyanaccount": "c.company_after",
    "parentcustomerid": "c.parentcustomerid", "parentcustomeridtype": "c.parentcustomeridtype",
}


def route_sql() -> tuple[dict[str, str], dict[str, Any]]:
    """plan.sql's `{route}` and `{selected}` over `contact_state`, and their bind parameters:
    the templates' selections and the skip rules (`p2c_upgrade.sync.selection`)."""
    return selection.route_sql(CONTACT_STATE_COLUMNS)


def number_params(snap: Snapshot, entity: str, lo: int = 0, hi: int = 2**62,
                  start: int | None = None) -> dict[str, Any]:
    """Bind parameters of run's assign statement for the queue entries lo < k <= hi."""
    plan = snap.sequences[entity]
    assert plan.sequence is not None
    seq = plan.sequence
    if start is not None:
        seq = Sequence(seq.prefix, start, seq.suffix_length)
    return assign_params(seq, snap.salt, lo, hi)


def key_params(db: Database, table: str) -> dict[str, Any]:
    params: dict[str, Any] = {"tbl": table, "max_length": MAX_NUMBER_LENGTH}
    return {**params, **db.dialect_impl.bad_key_params(BAD_KEY_CHARS)}
