"""What every step offers the runner: what is pending, apply one batch, verify.

A step's `apply_batch` runs inside a transaction the runner opened; the runner records the
batch's progress in the same transaction and commits both together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.progress import NullProgress, Progress
from p2c_upgrade.rules.keys import sql_params

if TYPE_CHECKING:  # types only: the sync engine is loaded when a sync runs
    from p2c_upgrade.config import Config
    from p2c_upgrade.sync.summary import SyncSummary


@dataclass
class StepContext:
    """What a step may use; `conn` is the step's own connection (temp tables live on it)."""

    db: Database
    conn: Connection
    run_id: int
    step: str = ""
    batch_size: int = 500_000
    journal: bool = True
    salt: str = ""
    #: the sync target (`URL` or `package:DIR`) of `run --target` or the configuration, if any
    target: str | None = None
    #: the checked configuration (`None`: the templates' defaults)
    config: Config | None = None
    progress: Progress = field(default_factory=NullProgress)
    #: whether names may appear in messages (`--show-personal-data`)
    show_personal_data: bool = False

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def q(self, name: str) -> str:
        return self.db.quote(name)


@dataclass
class BatchResult:
    rows: int
    cursor: str | None
    done: bool
    #: set by a gate step when the data blocks what follows (the reason, one line)
    blocked: str | None = None
    #: a short, human-readable result for the ledger and the run's report
    detail: str | None = None
    #: how far the progress bar moves, when that is not `rows` (rows scanned, say)
    scanned: int | None = None
    #: the step had nothing to do by design (no sync target, say): recorded `skipped`
    skipped: bool = False
    #: what a sync step synchronized (the runner hands it to the run's report)
    sync_summary: SyncSummary | None = None


class Step(Protocol):
    name: str
    summary: str
    #: whether the step needs the columns `prepare` adds (the runner checks before it starts)
    needs_p2c_columns: bool
    #: whether an interrupted execution's ledger cursor is where the next one starts
    resumes_from_cursor: bool
    #: whether `apply_batch` commits on its own (the runner then records each batch after it)
    own_transactions: bool

    def begin(self, ctx: StepContext, cursor: str | None) -> int | None:
        """Prepare an execution (may build temp work tables); returns the work total if known."""

    def apply_batch(self, ctx: StepContext, cursor: str | None) -> BatchResult:
        """Apply one batch after `cursor`, inside the runner's transaction."""

    def end(self, ctx: StepContext) -> None:
        """Drop what `begin` built."""

    def verify(self, conn: Connection, db: Database) -> list[str]:
        """The step's post-conditions that do not hold, one line each."""


def common_params() -> dict[str, str]:
    """The bind parameters of blank and key equality in the packaged SQL (rules/keys.py)."""
    return sql_params()
