"""Requests in flight, ramped up and backed off (additive increase, multiplicative decrease).

Starts at 1; each successful request allows one more, up to `maximum`; a 429 halves the limit
(the service protection limits say to ramp up gradually and back off when refused:
learn.microsoft.com/power-apps/developer/data-platform/api-limits). Thread-safe.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class AdaptiveLimit:
    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = 1
        self.in_flight = 0
        self.peak = 0
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            yield
        finally:
            with self._cond:
                self.in_flight -= 1
                self._cond.notify_all()

    def succeeded(self) -> None:
        with self._cond:
            if self.limit < self.maximum:
                self.limit += 1
                self._cond.notify_all()

    def throttled(self, retry_after_s: float = 0.0) -> None:
        with self._cond:
            self.limit = max(1, self.limit // 2)
