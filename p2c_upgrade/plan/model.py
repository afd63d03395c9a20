"""The dry-run report as data: what every renderer shows, and the versioned JSON document.

The JSON keys are a contract (docs/plan-json.md, `p2c_upgrade/schemas/plan.schema.json`): add keys in a
compatible way, and raise `PLAN_VERSION` for anything else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from p2c_upgrade.db.connection import Database
from p2c_upgrade.plan.source import Snapshot

PLAN_VERSION = 1
BLOCKER = "blocker"
WARNING = "warning"
#: Warnings that are blockers-in-waiting: the upgrade goes ahead, the sync fails these records.
#: code -> what to do, for the verdict (the finding's action has the details).
FAILS_SYNC = {"unknown_country": "map their countries in [sync.value_maps.country] first"}

#: What resolves colliding account numbers, in the order that works (renumbering needs the
#: sequence and columns `run` adds; the sync refuses while either is left to do).
ORDER = ("`p2c-upgrade run`, then `p2c-upgrade duplicates --renumber`, then "
         "`p2c-upgrade sync`")

#: Step statuses: work to do, none, the step cannot go ahead, or (initial-sync) ready to run.
PENDING, NOTHING, BLOCKED, READY = "pending", "nothing to do", "blocked", "ready"


@dataclass
class StepPlan:
    step: str
    status: str
    changes: int | None  # rows that would change in Sales; None for initial-sync
    summary: str


@dataclass
class SchemaChange:
    """A schema object prepare would create."""

    table: str
    name: str
    kind: str  # column, table, row, index
    detail: str


@dataclass
class NumberAt:
    n: int
    number: str
    record_id: str


@dataclass
class NumberPlan:
    step: str
    entity: str
    table: str
    column: str
    prefix: str | None
    suffix_length: int | None
    sequence_source: str  # "table" or "default" (the row prepare inserts)
    records: int
    next_value_before: int | None
    next_value_after: int | None
    first: NumberAt | None = None
    last: NumberAt | None = None
    longest: int = 0
    error: str | None = None


@dataclass
class Example:
    table: str
    id: str
    value: str | None
    name: str | None = None  # only with --show-personal-data


@dataclass
class Finding:
    code: str
    severity: str
    title: str
    count: int
    action: str
    by_table: dict[str, int] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)


@dataclass
class Member:
    id: str
    number: str
    kind: str  # "kept" for the record that keeps the number, else the collision kind
    createdon: str | None
    keeps: bool
    name: str | None = None


@dataclass
class DuplicateGroup:
    key: str
    members: list[Member]


@dataclass
class SyncTask:
    task: str
    entity: str
    selects: str
    rows: int
    over_limit: bool


@dataclass
class Unsynced:
    reason: str
    rows: int
    meaning: str


@dataclass
class Plan:
    """The report; `db` and `snapshot` let the csv change list re-run its queries, streamed."""

    db: Database
    snapshot: Snapshot
    generated_at: str
    tool_version: str
    show_personal_data: bool = False
    steps: list[StepPlan] = field(default_factory=list)
    schema_changes: list[SchemaChange] = field(default_factory=list)
    numbers: list[NumberPlan] = field(default_factory=list)
    active_customers: dict[str, Any] = field(default_factory=dict)
    company_is_account: dict[str, int] = field(default_factory=dict)
    organization_changes: int = 0
    duplicates: list[DuplicateGroup] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    sync_tasks: list[SyncTask] = field(default_factory=list)
    unsynced: list[Unsynced] = field(default_factory=list)
    row_limit: int = 500_000
    push: dict[str, Any] | None = None  # plan/push.py; None when the copy was never pulled
    #: what determines run's result (`p2c_upgrade.upgrade.fingerprint`); `run --plan` compares
    fingerprint: dict[str, Any] = field(default_factory=dict)
    #: who and where: `{"user": os login name, "host": host name}` (`p2c_upgrade.host`)
    generated_by: dict[str, str] = field(default_factory=dict)
    #: how long `run` would take (`p2c_upgrade.plan.estimate.estimate_run`)
    estimate: dict[str, Any] = field(default_factory=dict)

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == BLOCKER]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def has_blockers(self) -> bool:
        return bool(self.blockers)

    @property
    def changes(self) -> int:
        return sum(s.changes or 0 for s in self.steps)

    @property
    def nothing_to_do(self) -> bool:
        """No upgrade step has work left and nothing blocks (the sync is not an upgrade step)."""
        return all(s.status in (NOTHING, READY) for s in self.steps) and not self.has_blockers

    @property
    def state(self) -> str:
        if self.nothing_to_do:
            return "upgraded"
        return "untouched" if self.snapshot.untouched else "partial"

    def step_changes(self) -> dict[str, int]:
        return {s.step: s.changes for s in self.steps if s.changes is not None}

    @property
    def sync_failures(self) -> list[Finding]:
        """Blockers-in-waiting: warnings whose records the sync will fail (FAILS_SYNC)."""
        return [f for f in self.findings if f.code in FAILS_SYNC and f.count]

    def verdict(self) -> str:
        if self.has_blockers:
            n = len(self.blockers)
            text = (f"BLOCKED: {n} blocker{'s' if n > 1 else ''} must be resolved before the "
                    "upgrade goes ahead (exit code 3)")
            if any(f.code == "colliding_account_numbers" for f in self.blockers):
                text += f"; the order: {ORDER}"
        elif self.nothing_to_do:
            text = "Nothing to do: every upgrade step is done and nothing blocks"
        else:
            text = f"Ready: {self.changes:,} rows would change; nothing blocks"
        for f in self.sync_failures:
            text += f"; but {f.count:,} records will fail the sync ({f.code}: {FAILS_SYNC[f.code]})"
        return text

    def to_dict(self) -> dict[str, Any]:
        db = self.db
        return {
            "version": PLAN_VERSION,
            "tool_version": self.tool_version,
            "generated_at": self.generated_at,
            "generated_by": dict(self.generated_by),
            "database": {"url": database_label(db), "dialect": db.dialect, "schema": db.schema},
            "state": self.state,
            "nothing_to_do": self.nothing_to_do,
            "has_blockers": self.has_blockers,
            "verdict": self.verdict(),
            "totals": {"changes": self.changes, "blockers": len(self.blockers),
                       "warnings": len(self.warnings)},
            "steps": [asdict(s) for s in self.steps],
            "schema_changes": [asdict(c) for c in self.schema_changes],
            "numbers": [asdict(n) for n in self.numbers],
            "active_customers": {"contacts": self.active_customers.get("contacts", 0),
                                 "via": dict(self.active_customers.get("via", {}))},
            "company_is_account": dict(self.company_is_account),
            "organization_changes": self.organization_changes,
            "duplicates": {
                "group_count": len(self.duplicates),
                "record_count": sum(len(g.members) for g in self.duplicates),
                "groups": [{"key": g.key, "members": [_member(m, self.show_personal_data)
                                                      for m in g.members]}
                           for g in self.duplicates],
            },
            "findings": [_finding(f, self.show_personal_data) for f in self.findings],
            "fingerprint": self.fingerprint,
            "estimate": self.estimate,
            "sync": {
                "row_limit": self.row_limit,
                "tasks": [asdict(t) for t in self.sync_tasks],
                "not_synchronized": [asdict(u) for u in self.unsynced],
            },
            "push": self.push,
        }


def database_label(db: Database) -> str:
    """The database as the user named it (not the read-only URI SQLite is opened with)."""
    return db.label


def _member(m: Member, names: bool) -> dict[str, Any]:
    out = asdict(m)
    if not names:
        out.pop("name")
    return out


def _finding(f: Finding, names: bool) -> dict[str, Any]:
    out = asdict(f)
    out["examples"] = [_example(e, names) for e in f.examples]
    return out


def _example(e: Example, names: bool) -> dict[str, Any]:
    out = asdict(e)
    if not names:
        out.pop("name")
    return out
