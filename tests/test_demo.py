"""`p2c-upgrade demo` runs the whole procedure and says where everything is."""

from __future__ import annotations

import zipfile
from pathlib import Path

from click.testing import CliRunner

from p2c_upgrade.cli import main


def test_demo_runs_everything_and_says_where(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--dir", str(out), "--accounts", "300", "--no-progress"])
    assert result.exit_code == 0, result.output + result.stderr
    for name in ("sales.db", "fno.db", "plan.html", "plan.json", "plan.md", "changes.csv"):
        assert (out / name).exists(), name
        assert str(out / name) in result.output or name in result.output
    zips = list((out / "package").glob("*.zip"))
    assert zips and "Manifest.xml" in zipfile.ZipFile(zips[0]).namelist()
    assert "duplicates --renumber" in result.output
    assert "FAIL" not in result.output  # verification passes at the end
    again = CliRunner().invoke(main, ["demo", "--dir", str(out), "--accounts", "300", "--no-progress"])
    assert again.exit_code == 0  # a second demo starts afresh
