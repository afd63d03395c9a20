"""The Dataverse stand-in (`<repo>/../shared/standins/dataverse`, or `$P2C_SHARED_DIR/standins/dataverse`)
as a fixture: TLS on (the SDK refuses http://), its test CA trusted through REQUESTS_CA_BUNDLE, a fixed
token. Without the stand-in these tests skip, except under CI=true, where they fail."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("P2C_SHARED_DIR") or REPO.parent / "shared")
STANDIN_DIR = SHARED / "standins" / "dataverse"
IN_CI = os.environ.get("CI", "").lower() == "true"

if (STANDIN_DIR / "dataverse_standin").is_dir():
    sys.path.insert(0, str(STANDIN_DIR))
    import dataverse_standin as standin  # noqa: E402
else:  # pragma: no cover - depends on the checkout
    standin = None


def require_standin() -> None:
    if standin is None:
        message = f"the Dataverse stand-in is not at {STANDIN_DIR} (set P2C_SHARED_DIR)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def make_org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`make_org(accounts=200, solution_installed=True, **standin_kw)` -> a started stand-in."""
    require_standin()
    started = []
    monkeypatch.setenv("P2C_DATAVERSE_TOKEN", "test-token")

    def make(accounts: int = 200, *, seed: int = 1, duplicates: bool = False, **kw):
        db = tmp_path / f"org{len(started)}.sqlite"
        standin.generate(db, accounts=accounts, seed=seed, duplicates=duplicates,
                         solution_installed=kw.get("solution_installed", True))
        kw.setdefault("throttle", None)
        kw.setdefault("tls", True)
        dv = standin.DataverseStandin(db, **kw)
        dv.start()
        started.append(dv)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", dv.ca_file)
        return dv

    yield make
    for dv in started:
        dv.stop()


@pytest.fixture
def org(make_org):
    return make_org()


@pytest.fixture
def work(sales_db) -> Iterator:
    """The working database (SQLite file or PostgreSQL schema), opened."""
    db = sales_db.open()
    yield db
    db.dispose()
