"""What a sync did, per task: a table for people and a stable, versioned JSON document.

Records are identified by id and number; names appear only when personal data is switched on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tabulate import tabulate

from p2c_upgrade.errors import EXIT_BLOCKED, EXIT_OK
from p2c_upgrade.redact import printable
from p2c_upgrade.render import printable_rows
from p2c_upgrade.sync.reasons import HOW_TO_RETRY, REASONS

SUMMARY_VERSION = 1
COUNT_KEYS = ("selected", "inserted", "updated", "unchanged", "skipped", "failed")
TABLE_HEADERS = ("task", "entity", *COUNT_KEYS)
FAILURE_HEADERS = ("task", "id", "number", "reason", "detail")


@dataclass
class TaskSummary:
    task: str
    template: str
    entity: str
    selected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    failed_reasons: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def add_failure(self, entry: dict[str, Any], limit: int) -> None:
        self.failed += 1
        self.failed_reasons[entry["reason"]] += 1
        if len(self.failures) < limit:
            self.failures.append(entry)

    def to_dict(self) -> dict[str, Any]:
        rate = (self.selected / self.seconds) if self.seconds > 0 else None
        return {
            "task": self.task, "template": self.template, "entity": self.entity,
            **{k: getattr(self, k) for k in COUNT_KEYS},
            "skipped_reasons": dict(sorted(self.skipped_reasons.items())),
            "failed_reasons": dict(sorted(self.failed_reasons.items())),
            "failures": list(self.failures),
            "failures_truncated": self.failed > len(self.failures),
            "seconds": round(self.seconds, 3),
            "records_per_second": round(rate, 1) if rate is not None else None,
        }


@dataclass
class SyncSummary:
    target: str
    target_kind: str
    run_id: int | None = None
    sync_run_id: int | None = None
    tasks: list[TaskSummary] = field(default_factory=list)
    output: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    organization_id: str = ""

    @property
    def failed_total(self) -> int:
        return sum(t.failed for t in self.tasks)

    @property
    def exit_code(self) -> int:
        return EXIT_BLOCKED if self.failed_total else EXIT_OK

    def not_synchronized(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for t in self.tasks:
            total.update(t.skipped_reasons)
            total.update(t.failed_reasons)
        return dict(sorted(total.items()))

    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(t, k) for t in self.tasks) for k in COUNT_KEYS}

    def hint(self) -> str | None:
        return HOW_TO_RETRY if self.failed_total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SUMMARY_VERSION,
            "target": self.target,
            "target_kind": self.target_kind,
            "run_id": self.run_id,
            "sync_run_id": self.sync_run_id,
            "organization_id": self.organization_id,
            "tasks": [t.to_dict() for t in self.tasks],
            "totals": self.totals(),
            "not_synchronized": self.not_synchronized(),
            "output": self.output,
            "seconds": round(self.seconds, 3),
            "exit_code": self.exit_code,
            "failed_total": self.failed_total,
            "hint": self.hint(),
        }

    # -- for people ----------------------------------------------------------------------

    @property
    def table_headers(self) -> tuple[str, ...]:
        return TABLE_HEADERS

    def table_rows(self) -> list[list[Any]]:
        return [[t.task, t.entity, *(getattr(t, k) for k in COUNT_KEYS)] for t in self.tasks]

    @property
    def failure_headers(self) -> tuple[str, ...]:
        return FAILURE_HEADERS

    def failure_rows(self) -> list[list[Any]]:
        rows: list[list[Any]] = []
        for t in self.tasks:
            for f in t.failures:
                number = f.get("number") or ""
                if "name" in f:
                    number = f"{number} ({f['name']})" if number else f"({f['name']})"
                rows.append([t.task, f["id"], number, f["reason"], f.get("detail") or ""])
        return rows

    def notes(self) -> list[str]:
        lines: list[str] = []
        for reason, count in self.not_synchronized().items():
            meaning = REASONS[reason].meaning if reason in REASONS else reason
            lines.append(f"{count:,} not synchronized, {reason}: {meaning}")
        listed = sum(len(t.failures) for t in self.tasks)
        if self.failed_total > listed:
            lines.append(f"{listed:,} of {self.failed_total:,} failed records are listed; the "
                         "others are in the p2c_sync_record table of the Sales database")
        hint = self.hint()
        if hint:
            lines.append(f"{self.failed_total:,} records failed: {hint}")
        rows = self.output.get("rows") or {}
        if rows:
            where = ", ".join(f"{n:,} {name}" for name, n in rows.items())
            lines.append(f"target {self.target} now holds {where}")
        for path in self.output.get("files") or []:
            lines.append(f"package file: {path}")
        return lines

    def to_text(self) -> str:
        """The summary table, the failures listed, and what to do next; every value with its
        control characters escaped (a terminal would act on them)."""
        parts = [tabulate(printable_rows(self.table_rows()), headers=self.table_headers,
                          intfmt=",")]
        failures = self.failure_rows()
        if failures:
            parts.append(tabulate(printable_rows(failures), headers=self.failure_headers))
        parts.append("\n".join(printable(line) for line in self.notes()))
        return "\n\n".join(p for p in parts if p)
