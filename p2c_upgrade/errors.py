"""The one user-facing exception type and the contract's exit codes.

Only `cli.py` turns a `P2CError` into an exit code and a line on stderr; the core raises it.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BLOCKED = 3
EXIT_LOCKED = 4
#: Ctrl-C: the shell's convention (128 + SIGINT); the run is recorded `interrupted`
EXIT_INTERRUPTED = 130

#: the largest value an id or count the tool binds may take: a 32-bit INTEGER column (the
#: ledger's ids, PostgreSQL's `integer`); larger values given by the user are usage errors
MAX_INTEGER = 2**31 - 1
#: the largest batch the sync accepts (`--batch-size`, `[sync] batch_size`)
MAX_SYNC_BATCH = 1_000_000


class P2CError(Exception):
    """A failure the user can act on: one line of text and the exit code it maps to."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class UsageError(P2CError):
    exit_code = EXIT_USAGE


class BlockedError(P2CError):
    """The data blocks the operation (duplicates, a failed check, a blocker finding)."""

    exit_code = EXIT_BLOCKED


class LockHeldError(P2CError):
    """Another run holds the database's upgrade lock."""

    exit_code = EXIT_LOCKED
