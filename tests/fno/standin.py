"""Finding the F&O stand-in (`../shared/standins/fno`, or `$P2C_SHARED_DIR/standins/fno`).

The stand-in is not project code: it is imported from the shared folder, never copied. Without
it the F&O tests skip with a message, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"


def standin_dir() -> Path:
    shared = os.environ.get("P2C_SHARED_DIR")
    base = Path(shared) if shared else REPO.parent / "shared"
    return base / "standins" / "fno"


def require_standin() -> None:
    """Put the stand-in on sys.path, or skip (fail in CI) when it is not there."""
    folder = standin_dir()
    if not (folder / "fno_standin" / "__init__.py").is_file():
        message = (f"the F&O stand-in is not at {folder} (set P2C_SHARED_DIR to the shared "
                   "folder that holds standins/fno)")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
