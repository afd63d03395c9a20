"""A built wheel runs (issue 9 fault 1): built as a user would (`pip wheel --no-deps`), installed
NOT editable into a fresh virtual environment with its dependencies from the package registry
(pip's cache makes repeats quick), and `p2c-upgrade demo` run from a directory outside the
checkout, so nothing can come from the source tree. Every file the package reads at run time
(SQL, templates, schemas, CDM entity lists) must be in the wheel: the test compares the wheel with
every non-Python file of the source package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "p2c_upgrade"


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "P2C_SQL_DIR")}
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def _data_files() -> set[str]:
    """The package's files other than Python source, as paths inside the wheel."""
    return {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_the_built_wheel_installs_and_runs_the_demo_outside_the_checkout(tmp_path: Path) -> None:
    dist, outside = tmp_path / "dist", tmp_path / "elsewhere"
    outside.mkdir()
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
                 cwd=outside)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list(dist.glob("p2c_upgrade-*.whl"))
    assert len(wheels) == 1, wheels
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    missing = sorted(_data_files() - names)
    assert not missing, f"not in the wheel: {missing}"

    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], cwd=outside).returncode == 0
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    installed = _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                      str(wheels[0])], cwd=outside, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = _run([str(python), "-c", "import p2c_upgrade; print(p2c_upgrade.__file__)"], cwd=outside)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # not the checkout

    demo = _run([str(bindir / "p2c-upgrade"), "demo", "--dir", "demo", "--accounts", "200", "--no-progress"],
                cwd=outside)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    assert "missing" not in demo.stderr
    for name in ("sales.db", "plan.html", "plan.json", "changes.csv"):
        assert (outside / "demo" / name).exists(), name
        assert name in demo.stdout
    assert list((outside / "demo" / "package").glob("*.zip"))
    assert "FAIL" not in demo.stdout
