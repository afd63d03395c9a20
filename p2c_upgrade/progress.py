"""Progress bars and log lines on stderr, through tqdm so the two never garble each other.

Bars show only when stderr is a terminal and progress is not switched off; log lines always go
to stderr (reports own stdout).

A bar advances when a batch commits (by the rows it scanned or changed). So that a long batch
does not look stuck, `working(bar, label)` keeps the bar alive while one runs: every
`TICK_SECONDS` a background thread sets the bar's postfix to the batch and its elapsed time
(`batch 3: 12 s`) and redraws it (the database drivers release the GIL while a statement runs).
Decision (issue 12): a heartbeat rather than sub-range updates, which would split the set-based
batch statements and change what one transaction does.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

TICK_SECONDS = 0.5


class Progress:
    def __init__(self, enabled: bool = True, quiet: bool = False) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.quiet = quiet

    def bar(self, total: int | None, desc: str, unit: str = "rows") -> Any:
        return tqdm(
            total=total, desc=desc, unit=unit, file=sys.stderr, disable=not self.enabled,
            dynamic_ncols=True, leave=True, unit_scale=True,
        )

    @contextmanager
    def working(self, bar: Any, label: str) -> Iterator[None]:
        """While the body runs, the bar shows `label` and the seconds it has been running."""
        if not self.enabled or getattr(bar, "disable", True):
            yield
            return
        started = time.monotonic()
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(TICK_SECONDS):
                bar.set_postfix_str(f"{label}: {time.monotonic() - started:.0f} s", refresh=True)

        thread = threading.Thread(target=tick, name="p2c-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            bar.set_postfix_str("", refresh=False)

    def log(self, message: str) -> None:
        if not self.quiet:
            tqdm.write(message, file=sys.stderr)


class NullProgress(Progress):
    def __init__(self) -> None:
        super().__init__(enabled=False, quiet=True)
