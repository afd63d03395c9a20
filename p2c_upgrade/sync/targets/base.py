"""The interface every sync target offers the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from p2c_upgrade.errors import P2CError
from p2c_upgrade.sync.entities import Entity


class RowsRejected(P2CError):
    """The target refused a batch on the data of its rows (a value it cannot store, a
    constraint of its own); nothing of the batch was written. The engine writes the rows again
    in halves until each row it refuses fails alone (reason `target_rejected`, with this
    message as the detail)."""


@dataclass(frozen=True)
class TargetRow:
    """One entity row to upsert, matched on `key_fold` (the key as F&O compares it)."""

    key_fold: str
    values: tuple[str | None, ...]
    task: str
    source_id: str
    #: the key the record was last written under, when it is another: the target removes the
    #: row there if it is still this record's (a renumbered record leaves no row behind)
    previous_key: str | None = None


@dataclass
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


class Target(Protocol):
    kind: str  # "database" or "package"
    #: where it is, for messages and the summary; never holds a password
    description: str
    #: identifies this target's contents: state recorded for another id does not apply
    target_id: str

    def upsert(self, entity: Entity, fields: tuple[str, ...], rows: list[TargetRow]
               ) -> UpsertCounts:
        """Insert new keys, update changed rows, leave equal ones; commit; say which was which."""

    def finish(self, columns: dict[str, tuple[str, ...]], changed: bool) -> dict[str, Any]:
        """Called once after every task; returns what the summary reports about the target."""

    def close(self) -> None:
        """Release connections."""

    def mask(self, text: str) -> str:
        """`text` without the target's secrets."""
