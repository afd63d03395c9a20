"""Test-only fault injection: SIGKILL the process at a named point of a run.

`P2C_FAULT_KILL=<step>:<point>:<n>` kills the process the n-th time `<step>` reaches `<point>`:
`after-commit` (a batch and its progress record just committed) or `before-commit` (a batch
was written but not committed). Unset in production; it costs one dict lookup per batch.
"""

from __future__ import annotations

import os
import signal

_counts: dict[tuple[str, str], int] = {}


def checkpoint(step: str, point: str) -> None:
    spec = os.environ.get("P2C_FAULT_KILL")
    if not spec:
        return
    want_step, want_point, want_n = spec.rsplit(":", 2)
    if want_step != step or want_point != point:
        return
    key = (step, point)
    _counts[key] = _counts.get(key, 0) + 1
    if _counts[key] >= int(want_n):
        # SIGKILL where there is one; Windows ends the process with TerminateProcess for any signal
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
