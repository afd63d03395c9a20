"""Progress bars and log lines on stderr, through tqdm so the two never garble each other.

Bars show only when stderr is a terminal and progress is not switched off; log lines always go
to stderr (reports own stdout).
"""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class Progress:
    def __init__(self, enabled: bool = True, quiet: bool = False) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.quiet = quiet

    def bar(self, total: int | None, desc: str, unit: str = "rows") -> Any:
        return tqdm(
            total=total, desc=desc, unit=unit, file=sys.stderr, disable=not self.enabled,
            dynamic_ncols=True, leave=True, unit_scale=True,
        )

    def log(self, message: str) -> None:
        if not self.quiet:
            tqdm.write(message, file=sys.stderr)


class NullProgress(Progress):
    def __init__(self) -> None:
        super().__init__(enabled=False, quiet=True)
