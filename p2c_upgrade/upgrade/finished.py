"""Whether the upgrade is finished, judged on the data: the sync waits until it is.

The steps that change Sales data (prepare .. company-is-account) each say, with their own
`verify`, what does not hold yet (for the numbering steps: records without a number); not the
ledger, so records created since the run count too.
(Not through the registry: `initial-sync`, which the registry holds, asks this module.)
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.db.schema import P2C_COLUMNS, existing_columns
from p2c_upgrade.errors import BlockedError
from p2c_upgrade.upgrade.steps import account_numbers, active_customers, company_is_account, contact_numbers
from p2c_upgrade.upgrade.steps.base import Step
from p2c_upgrade.upgrade.steps.numbers_step import NumberingStep
from p2c_upgrade.upgrade.steps.prepare import PrepareStep


def _upgrade_steps() -> list[Step]:
    return [PrepareStep(), account_numbers.make(), contact_numbers.make(), active_customers.make(),
            company_is_account.make()]


def unfinished_steps(conn: Connection, db: Database) -> list[tuple[str, list[str]]]:
    """The upgrade steps with work left and what is left: [(step, [problem, ...])]. Read-only;
    each check is one aggregate query."""
    found = existing_columns(conn)
    missing = [f"{c.table}.{c.column}" for c in P2C_COLUMNS if c.column not in found.get(c.table, set())]
    out: list[tuple[str, list[str]]] = []
    for step in _upgrade_steps():
        if missing and step.needs_p2c_columns:
            problems = ["not prepared: missing " + ", ".join(missing)]
        elif isinstance(step, NumberingStep):
            # only what run would do: records without a number (colliding contact numbers are
            # a data-quality finding the sync fails record by record, not work for run)
            problems = NumberingStep.verify(step, conn, db)
        else:
            problems = step.verify(conn, db)
        if problems:
            out.append((step.name, problems))
    return out


def check_upgrade_finished(conn: Connection, db: Database) -> None:
    """Refuse (exit 3, before anything is written) while an upgrade step has work left: a
    sync of half-upgraded data writes records without numbers or with wrong flags, and its
    failures would send the operator to fix in Sales what `run` does."""
    left = unfinished_steps(conn, db)
    if left and left[0][0] == "prepare":
        raise BlockedError(
            "the upgrade has not run on this database yet (the P2C columns are missing): run "
            "`p2c-upgrade run` first, then `p2c-upgrade duplicates --renumber` if it reports "
            "duplicates, then sync (nothing was written)")
    if left:
        what = "; ".join(f"{step}: {', '.join(problems)}" for step, problems in left)
        raise BlockedError(
            f"the upgrade is not finished ({what}): run `p2c-upgrade run` first, then "
            "`p2c-upgrade duplicates --renumber` if it reports duplicates, then sync "
            "(nothing was written)")
