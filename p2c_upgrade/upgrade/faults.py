"""Test-only fault injection: SIGKILL (or Ctrl-C) the process at a named point of a run.

`P2C_FAULT_KILL=<step>:<point>:<n>` kills the process the n-th time `<step>` reaches `<point>`:
`after-commit` (a batch and its progress record just committed) or `before-commit` (a batch
was written but not committed). `P2C_FAULT_SIGINT=...` sends SIGINT instead, as Ctrl-C does.
Unset in production; it costs one dict lookup per batch.
"""

from __future__ import annotations

import os
import signal

_counts: dict[tuple[str, str, str], int] = {}


def checkpoint(step: str, point: str) -> None:
    # SIGKILL where there is one; Windows ends the process with TerminateProcess for any signal
    kill = getattr(signal, "SIGKILL", signal.SIGTERM)
    for var, sig in (("P2C_FAULT_KILL", kill), ("P2C_FAULT_SIGINT", signal.SIGINT)):
        spec = os.environ.get(var)
        if not spec:
            continue
        want_step, want_point, want_n = spec.rsplit(":", 2)
        if want_step != step or want_point != point:
            continue
        key = (var, step, point)
        _counts[key] = _counts.get(key, 0) + 1
        if _counts[key] == int(want_n) or sig == kill and _counts[key] > int(want_n):
            os.kill(os.getpid(), sig)
