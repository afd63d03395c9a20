"""A task's key batches through three stages, each batch in order: prepare, target, state.

- **prepare** (the calling thread): map, validate, drop unchanged records and key conflicts;
  reads only.
- **target** (a thread, when the target is not the Sales database's own file): the batch's
  upsert into the target, in one transaction there.
- **state** (a thread on PostgreSQL; on SQLite in the calling thread, where the reads and the
  state writes share the file's lock): the batch's outcomes in the Sales database, in one
  transaction, committed after the batch's target transaction.

So while batch N+1 is prepared, batch N is written to the target and batch N-1's state is
committed: the time of a batch is the slowest stage, not their sum (PostgreSQL 100k accounts to
a package: the store's upsert and the state write each took 3-5 s). A batch's state is always
committed after its own target commit, as when the stages ran one after the other: a kill in
between leaves records the rerun finds equal in the target and records then. No stage reads
what another writes: a batch holds other records than its neighbours, and the parent
accounts' state is of an earlier task, fully written before this task's first read. Batches
are counted into the summary in key order. Memory holds three batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

B = TypeVar("B")


def _inline(work: Callable[[B], None], b: B) -> Future[None]:
    """`work(b)` run here and now, as a finished future (its error raised here)."""
    work(b)
    done: Future[None] = Future()
    done.set_result(None)
    return done


class Pipeline(Generic[B]):
    """Runs `prepare`, `write_target`, `write_state` and `account` over batches of rows.

    `target_thread` / `state_thread`: whether that stage runs in its own thread (else in the
    caller's, in order). A stage's error is raised in the caller at its next wait; an error
    (or Ctrl-C) in the caller waits for the writes in flight, which are of batches whose
    earlier stages have finished."""

    def __init__(self, prepare: Callable[[list[dict[str, object]]], B],
                 write_target: Callable[[B], None], write_state: Callable[[B], None],
                 account: Callable[[B], None], *, target_thread: bool,
                 state_thread: bool) -> None:
        self.prepare = prepare
        self.write_target = write_target
        self.write_state = write_state
        self.account = account
        self.target_thread = target_thread
        self.state_thread = state_thread

    def run(self, batches: Iterator[list[dict[str, object]]]) -> None:
        """Every batch of `batches` through the stages; returns once all are written."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="p2c-sync-target") as tpool, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="p2c-sync-state") as spool:
            in_target: tuple[B, Future[None]] | None = None
            in_state: tuple[B, Future[None]] | None = None
            while True:
                rows = next(batches, None)
                b = self.prepare(rows) if rows is not None else None
                if in_target is not None:
                    written, done = in_target
                    done.result()  # the target writer's error, if any, is raised here
                    in_target = None
                    if in_state is not None:
                        in_state[1].result()
                        self.account(in_state[0])
                    in_state = (written, spool.submit(self.write_state, written)
                                if self.state_thread else _inline(self.write_state, written))
                if b is None:
                    break
                in_target = (b, tpool.submit(self.write_target, b) if self.target_thread
                             else _inline(self.write_target, b))
            if in_state is not None:
                in_state[1].result()
                self.account(in_state[0])
