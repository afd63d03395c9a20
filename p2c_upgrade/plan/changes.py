"""The complete change list: one row per record and column `run` would change, streamed.

The rows carry what `run` journals in `p2c_journal` (step, tbl, record_id, col, old_value,
new_value), in the same text form, so the list can be compared with the journal of the run
that follows. A value `run` changes in several batches (a sequence's next value) appears once,
with its value before and after the step. Nothing is held in memory: the queries run again, in a new read-only
transaction, as the rows are written; the sequences are the ones the plan announced.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db.schema import AUTONUMBER_TABLE
from p2c_upgrade.errors import P2CError
from p2c_upgrade.plan.model import Plan, SchemaChange
from p2c_upgrade.plan.source import contacts_sql, job_for, number_params, number_sql, read_only_session, statement

HEADER = ("step", "table", "record_id", "column", "old_value", "new_value")
Row = tuple[str, str, str, str, "str | None", "str | None"]

_FETCH = 10_000


def schema_change_row(change: SchemaChange) -> Row:
    """How `prepare` journals a schema object it creates (p2c_upgrade/steps/prepare.py)."""
    new = change.detail if change.kind == "row" else "present"
    return ("prepare", change.table, change.name, f"({change.kind})", None, new)


def change_rows(plan: Plan) -> Iterator[Row]:
    """Every change, step by step in run's order; checks the counts against the plan."""
    db, snap = plan.db, plan.snapshot
    seen: dict[str, int] = {}
    with read_only_session(db) as conn:
        for change in plan.schema_changes:
            seen["prepare"] = seen.get("prepare", 0) + 1
            yield schema_change_row(change)
        if snap.has_organization_flag:
            for rid, old, new in _stream(conn, statement(db, "organization_changes")):
                seen["prepare"] = seen.get("prepare", 0) + 1
                yield ("prepare", "organization", rid, "issopintegrationenabled", old, new)
        for numbers in plan.numbers:
            if numbers.error is not None or not numbers.records:
                continue
            job = job_for(numbers.step)
            sql = statement(db, "number_changes", planned=number_sql(db, snap, job).planned)
            for rid, old, new in _stream(conn, sql, number_params(snap, job.entity)):
                seen[numbers.step] = seen.get(numbers.step, 0) + 1
                yield (numbers.step, job.table, rid, job.col, old, new)
            # run journals the sequence's move per batch; the list has its net move
            yield (numbers.step, AUTONUMBER_TABLE, job.entity, "msdynce_numbersequence",
                   str(numbers.next_value_before), str(numbers.next_value_after))
        contacts = contacts_sql(db, snap)
        for step, name, col in (
            ("active-customers", "active_customers_changes", "msdynce_isactivecustomer"),
            ("company-is-account", "company_is_account_changes", "msdynce_iscompanyanaccount"),
        ):
            for rid, old, new in _stream(conn, statement(db, name, contacts=contacts)):
                seen[step] = seen.get(step, 0) + 1
                yield (step, "contact", rid, col, old, new)
    expected = {k: v for k, v in plan.step_changes().items() if v}
    if seen != expected:
        raise P2CError("the database changed while the change list was written "
                       f"(planned {expected}, found {seen}); run plan again")


def _stream(conn: Connection, sql: str, params: dict[str, object] | None = None
            ) -> Iterator[tuple[str, str | None, str | None]]:
    result = conn.execute(sa.text(sql), params or {},
                          execution_options={"stream_results": True, "yield_per": _FETCH})
    for row in result:
        yield row[0], row[1], row[2]


#: the first row after the header: the plan's fingerprint, not a change
FINGERPRINT_ROW = ("plan", "p2c_plan", "fingerprint", "value")
#: a spreadsheet reads a cell that begins with one of these as a formula (CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_csv(plan: Plan, out: TextIO) -> None:
    """RFC 4180 with every value quoted, so an empty unquoted field is NULL and `""` is the
    empty string (`run` keeps blank account numbers apart from NULL ones). The first row is
    the plan's fingerprint (`FINGERPRINT_ROW`, new_value the fingerprint), then the changes.

    The list is opened in spreadsheets: a value that begins with `=`, `+`, `-`, `@`, a tab or
    a CR is written with a `'` before it, so no spreadsheet runs it as a formula (the journal
    holds the value without the `'`)."""
    out.write(_line(HEADER))
    out.write(_line((*FINGERPRINT_ROW, None, str(plan.fingerprint.get("value", "")))))
    for row in change_rows(plan):
        out.write(_line(row))


def _line(values: tuple[str | None, ...]) -> str:
    return ",".join("" if v is None else '"' + _neutral(str(v)).replace('"', '""') + '"'
                    for v in values) + "\r\n"


def _neutral(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text
