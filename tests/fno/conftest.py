"""Fixtures for the live F&O target: a stand-in per test and Sales data after the upgrade."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .standin import require_standin

TOKEN = "p2c-test-token"


@pytest.fixture
def fno_token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("P2C_FNO_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture
def start_fno(tmp_path: Path, fno_token: str) -> Iterator[Any]:
    """`start_fno(setup=..., behavior=..., ...)` starts a stand-in; all stop at the end."""
    require_standin()
    from fno_standin import FnoStandin

    started: list[Any] = []

    def start(**options: Any) -> Any:
        options.setdefault("token", fno_token)
        fno = FnoStandin(tmp_path / f"fno-{len(started)}.db", **options)
        fno.start()
        started.append(fno)
        return fno

    yield start
    for fno in started:
        fno.stop()


@pytest.fixture
def fno(start_fno: Any) -> Any:
    """A stand-in with the default setup (USMF, groups 10/20/30, USD/EUR, manual sequence)."""
    return start_fno()
