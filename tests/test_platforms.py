"""Windows has no `fcntl`, `pwd`, `os.getuid`, `/proc` nor `signal.SIGKILL`: every module imports
and the demo runs without them (the POSIX-only modules made unavailable in a child interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: run in a child interpreter before anything else: `import fcntl` and `import pwd` then raise
#: ImportError, as on Windows; os.getuid/os.geteuid and the password database are gone too.
SHIM = """
import os, sys
sys.modules["fcntl"] = None
sys.modules["pwd"] = None
sys.modules["grp"] = None
for name in ("getuid", "geteuid", "getpwuid"):
    if hasattr(os, name):
        delattr(os, name)
"""

IMPORT_ALL = SHIM + """
import importlib, pkgutil
import p2c_upgrade
names = sorted(m.name for m in pkgutil.walk_packages(p2c_upgrade.__path__, "p2c_upgrade.")
               if not m.name.endswith("__main__"))  # __main__ runs the CLI
for name in names:
    importlib.import_module(name)
print(len(names), "modules")
"""

DEMO = SHIM + """
from p2c_upgrade.cli import main
main(["demo", "--dir", sys.argv[1], "--accounts", "200", "--no-progress"], prog_name="p2c-upgrade")
"""


def _child(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME", "LNAME", "USERNAME")}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def test_every_module_imports_without_posix_only_modules() -> None:
    result = _child(IMPORT_ALL)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[0]) > 50


@pytest.mark.slow
def test_the_demo_runs_without_posix_only_modules(tmp_path: Path) -> None:
    result = _child(DEMO, str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "FAIL" not in result.stdout
    assert (tmp_path / "demo" / "plan.html").exists()
    assert not list((tmp_path / "demo").glob("*.p2c-lock"))
