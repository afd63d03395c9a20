"""Ctrl-C: stop within a second, record `interrupted`, exit 130; the next command resumes.

The first Ctrl-C raises `KeyboardInterrupt` in the command, whose clean-up records the run,
the step or the sync as `interrupted` (each batch is its own transaction, so nothing half-done
stays). Python runs signal handlers only between bytecodes, so a command waiting inside the
database driver (SQLite waiting for another process's lock, a long statement) would not notice:

- a watcher thread hears every Ctrl-C at once (`signal.set_wakeup_fd`: the interpreter's C
  handler writes to a pipe, whatever the main thread is doing). After the first, the command
  has `GRACE_S` to clean up and exit, else the process ends with exit 130; a second Ctrl-C ends
  it at once. Either way the database rolls back what was not committed, the upgrade lock is
  freed with the process, and a run or sync left `running` shows as `interrupted`;
- SQLite connections get a progress handler (`install_sqlite_handler`): a Python call every
  `SQLITE_PROGRESS_OPS` virtual-machine steps gives the handler its chance inside a long
  statement, which SQLite then aborts.

An error raised after Ctrl-C (a statement aborted, a user-defined SQL function that saw the
`KeyboardInterrupt`) is the interruption, not a failure: `requested()` tells the two apart.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from p2c_upgrade.errors import EXIT_INTERRUPTED

#: seconds the clean-up may take after the first Ctrl-C before the process ends anyway
GRACE_S = 1.0
#: SQLite virtual-machine instructions between two chances to notice Ctrl-C (about a millisecond)
SQLITE_PROGRESS_OPS = 20_000
MESSAGE = "interrupted; run the same command again to resume"

_requested = threading.Event()


def requested() -> bool:
    """Whether Ctrl-C was pressed during the current command."""
    return _requested.is_set()


def is_interruption(exc: BaseException) -> bool:
    """`exc` is Ctrl-C itself, or an error the interruption caused."""
    return isinstance(exc, KeyboardInterrupt) or requested()


def _handler(signum: int, frame: FrameType | None) -> None:
    if _requested.is_set():
        _exit_now("interrupted again: stopped at once")
    _requested.set()
    raise KeyboardInterrupt


def _exit_now(why: str) -> None:
    try:
        sys.stderr.write(f"error: {why}; run the same command again to resume\n")
        sys.stderr.flush()
    finally:
        os._exit(EXIT_INTERRUPTED)


def _watch(read_fd: int) -> None:
    seen = 0
    timer: threading.Timer | None = None
    while True:
        try:
            data = os.read(read_fd, 64)
        except OSError:
            return
        if not data or b"\0" in data:  # uninstalled
            if timer is not None:
                timer.cancel()
            return
        seen += data.count(bytes([signal.SIGINT]))
        if seen >= 2:
            _exit_now("interrupted again: stopped at once")
        if seen == 1 and timer is None:
            why = f"interrupted: the clean-up did not end within {GRACE_S:g} s, stopped"
            timer = threading.Timer(GRACE_S, _exit_now, (why,))
            timer.daemon = True
            timer.start()


@contextmanager
def handling_ctrl_c() -> Iterator[None]:
    """Around one command: the handler, the watcher thread, and the flag cleared afterwards.
    Outside the main thread (signals cannot be handled there) it changes nothing."""
    _requested.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        old_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:  # not the main interpreter
        os.close(read_fd)
        os.close(write_fd)
        yield
        return
    old_handler = signal.signal(signal.SIGINT, _handler)
    watcher = threading.Thread(target=_watch, args=(read_fd,), name="p2c-ctrl-c", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old_handler)
        signal.set_wakeup_fd(old_fd)
        with suppress(OSError):
            os.write(write_fd, b"\0")
        watcher.join(1.0)
        os.close(write_fd)
        os.close(read_fd)
        _requested.clear()


def _progress() -> int:
    return 0  # being called is the point: a pending Ctrl-C is handled here and aborts SQLite


def install_sqlite_handler(dbapi_conn: sqlite3.Connection) -> None:
    dbapi_conn.set_progress_handler(_progress, SQLITE_PROGRESS_OPS)
