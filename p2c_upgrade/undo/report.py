"""What `undo` knows about the journal and what it reports (`p2c_upgrade.undo.apply` does the work).

The columns undo may write back are a fixed list: a journal row naming anything else is left
alone, so a forged or corrupted journal can never steer undo into other tables or columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from p2c_upgrade.db.schema import DOCUMENT_TABLES
from p2c_upgrade.errors import EXIT_BLOCKED, EXIT_OK
from p2c_upgrade.upgrade.numbers import ACCOUNT_NUMBERS, CONTACT_NUMBERS, NumberJob

LISTED_CONFLICTS = 100
UNDO_VERSION = 1
SCHEMA_KINDS = ("(column)", "(table)", "(row)", "(index)")  # col of a schema object's entry


@dataclass(frozen=True)
class Column:
    """A Sales column the tool writes, so the only one undo will write back."""

    table: str
    pk: str
    name: str
    kind: str  # "text" (default NULL) or "bool" (journaled 'true'/'false', default false)


COLUMNS = {(c.table, c.name): c for c in (
    Column("account", "accountid", "accountnumber", "text"),
    Column("contact", "contactid", "msdynce_contactnumber", "text"),
    Column("contact", "contactid", "msdynce_isactivecustomer", "bool"),
    Column("contact", "contactid", "msdynce_iscompanyanaccount", "bool"),
    Column("organization", "organizationid", "issopintegrationenabled", "bool"),
)}
SEQUENCES: dict[str, NumberJob] = {"account": ACCOUNT_NUMBERS, "contact": CONTACT_NUMBERS}
INDEXES = {f"p2c_ix_{t}_customerid": t for t in DOCUMENT_TABLES}


def undo_first(step: str, run_id: int, undoing_step: str) -> str:
    """The tail of a "kept" reason when a later step's changes hold what this undo would take
    back (a partial undo): which undo to do first. Another step: `undo --step`; the same step
    in a later run: `undo --run`."""
    command = (f"p2c-upgrade undo --step {step}" if step != undoing_step
               else f"p2c-upgrade undo --run {run_id}")
    return f"; undo {step} (run {run_id}) first: `{command}`, then this undo again"


@dataclass
class Group:
    """What undo did (or would do) to one journaled column of one step of one run."""

    run_id: int
    step: str
    table: str
    column: str
    total: int = 0
    restored: int = 0
    already: int = 0
    conflicts: int = 0
    gone: int = 0


@dataclass
class Entry:
    journal_id: int
    step: str
    tbl: str
    record_id: str
    col: str
    old: str | None
    new: str | None


@dataclass
class UndoResult:
    """The report the CLI renders: `to_dict()`, `table()`, `notes()`, `exit_code`."""

    dry_run: bool
    run_id: int | None
    step: str | None
    runs: list[int] = field(default_factory=list)
    undo_run_id: int | None = None
    groups: list[Group] = field(default_factory=list)
    objects: list[dict[str, str]] = field(default_factory=list)
    sequences: dict[str, dict[str, Any]] = field(default_factory=dict)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)

    @property
    def conflicts_total(self) -> int:
        return sum(g.conflicts for g in self.groups)

    @property
    def exit_code(self) -> int:
        return EXIT_BLOCKED if self.conflicts_total else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": UNDO_VERSION, "dry_run": self.dry_run, "run_id": self.run_id,
            "step": self.step, "runs": self.runs, "undo_run_id": self.undo_run_id,
            "groups": [vars(g) for g in self.groups],
            "sequences": list(self.sequences.values()), "schema": self.objects,
            "conflicts_total": self.conflicts_total, "conflicts": self.conflicts,
            "conflicts_truncated": self.conflicts_total > len(self.conflicts),
            "notes": self.remarks, "exit_code": self.exit_code,
        }

    def table(self) -> tuple[list[str], list[list[Any]]]:
        verb = "would restore" if self.dry_run else "restored"
        headers = ["run", "step", "table.column", "journaled", verb, "already undone",
                   "conflicts", "records gone"]
        rows = [[g.run_id, g.step, f"{g.table}.{g.column}", f"{g.total:,}", f"{g.restored:,}",
                 f"{g.already:,}", f"{g.conflicts:,}", f"{g.gone:,}"] for g in self.groups]
        return headers, rows

    def notes(self) -> list[str]:
        out: list[str] = []
        for seq in self.sequences.values():
            out.append(f"sequence {seq['entity']}: {seq['outcome']}")
        for obj in self.objects:
            out.append(f"{obj['object']}: {obj['outcome']}" + (f" ({obj['reason']})" if obj["reason"] else ""))
        for c in self.conflicts[:10]:
            out.append(f"conflict: {c['table']} {c['record_id']} {c['column']} is {c['current_value']!r}, "
                       f"run {c['run_id']} set {c['journaled_value']!r}: left alone")
        if self.conflicts_total > 10:
            out.append(f"... {self.conflicts_total - 10:,} more conflicts (--format json lists "
                       f"{LISTED_CONFLICTS})")
        out.extend(self.remarks)
        restored = sum(g.restored for g in self.groups)
        already = sum(g.already for g in self.groups)
        conflicts = f"{self.conflicts_total:,} conflict{'' if self.conflicts_total == 1 else 's'}"
        if self.dry_run:
            out.append(f"dry run, nothing written: undo would restore {restored:,} values "
                       f"({already:,} already undone, {conflicts})")
        else:
            out.append(f"undo run {self.undo_run_id}: restored {restored:,} values "
                       f"({already:,} already undone, {conflicts} left alone)"
                       + ("; undo it with `p2c-upgrade undo --run "
                          f"{self.undo_run_id}`" if restored else ""))
        return out
