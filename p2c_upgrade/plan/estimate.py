"""How long `run` would take: an estimate from the rows each step would change.

Rates are rows changed per second by `run` (batches of 500,000, ledger and journal on), per
dialect, as measured by `scripts/bench` and recorded in docs/performance.md (2026-11-27, code
a7c3863, 2 cores): PostgreSQL 15, 1,000,000 accounts, `run` total 4,724,621 rows in 214.98 s
= 21,977 rows/s (the slowest of that day's three rounds); SQLite 3.40, 200,000 accounts, `run`
total 944,279 rows in 24.18 s = 39,056 rows/s. A step's estimate is its rows at its dialect's
rate; `prepare` and the duplicate gate read more than they write, so each gets the seconds the
bench measured for it at 1M accounts (PostgreSQL) or 200k (SQLite) as a floor. Steps with no
work left count nothing (`run` skips them). It is an
estimate: another machine, other data, a busy server or `--no-journal` (about 20% faster)
change it; rounds on the bench machine varied by about ±20%.
"""

from __future__ import annotations

import math
from typing import Any

#: rows changed per second by `run`, by SQLAlchemy dialect name (docs/performance.md)
RATES: dict[str, int] = {"postgresql": 21_977, "sqlite": 39_056}
#: seconds a step takes however few rows it changes (the bench's prepare and gate times)
FLOORS: dict[str, dict[str, int]] = {
    "postgresql": {"prepare": 4, "duplicate-account-numbers": 3},
    "sqlite": {"prepare": 1, "duplicate-account-numbers": 1},
}
SOURCE = ("docs/performance.md: rows changed per second by `run` in scripts/bench "
          "(2026-11-27; PostgreSQL 1M accounts, SQLite 200k accounts, 2 cores)")


def estimate_run(dialect: str, step_changes: dict[str, int]) -> dict[str, Any]:
    """`{"seconds", "rows", "rows_per_second", "dialect", "by_step", "source"}`; `seconds` and
    `by_step` values are whole seconds (rounded up), None for a dialect without a measured rate.
    `step_changes`: rows each upgrade step with work left (status pending) would change."""
    rate = RATES.get(dialect)
    rows = sum(step_changes.values())
    by_step: dict[str, int | None] = {}
    for step, changed in step_changes.items():
        if rate is None:
            by_step[step] = None
            continue
        floor = FLOORS.get(dialect, {}).get(step, 0)
        by_step[step] = max(floor, math.ceil(changed / rate))
    seconds = None if rate is None else sum(v or 0 for v in by_step.values())
    return {"seconds": seconds, "rows": rows, "rows_per_second": rate, "dialect": dialect,
            "by_step": by_step, "source": SOURCE}


def describe(estimate: dict[str, Any]) -> str:
    """One line for the report, e.g. `about 4 min (4,724,621 rows at 21,977 rows/s on
    postgresql); an estimate, from …`."""
    seconds, rate = estimate.get("seconds"), estimate.get("rows_per_second")
    if seconds is None or rate is None:
        return (f"no estimate: no measured rate for {estimate.get('dialect')} "
                "(docs/performance.md)")
    return (f"{duration(seconds)} ({estimate['rows']:,} rows at {rate:,} rows/s on "
            f"{estimate['dialect']}, plus fixed costs); an estimate, not a promise: rates from "
            f"{SOURCE}; another machine or a busy server changes it")


def duration(seconds: int) -> str:
    if seconds < 60:
        return "under a minute" if seconds else "no time (nothing to change)"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"about {minutes} min"
    return f"about {minutes // 60} h {minutes % 60:02d} min"
