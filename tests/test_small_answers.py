"""Smaller answers, each a kind: undo --step names a step (exit 2), a bad --output is a usage
error before any work, a closed pipe ends quietly, times in duplicates' JSON are ISO 8601 UTC,
and the test suite takes P2C_TEST_PG_URL in the README's form."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_plan_support import CLI, build

from p2c_upgrade.cli import main

from conftest import SalesDb, with_driver


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_undo_unknown_step_is_a_usage_error(sqlite_db: SalesDb) -> None:
    code, _, err = invoke("undo", *sqlite_db.args, "--step", "everything")
    assert code == 2 and "everything" in err
    code, _, err = invoke("undo", *sqlite_db.args, "--step", "duplicates-renumber", "--dry-run")
    assert code != 2, err


@pytest.mark.parametrize("where", ["missing-dir/plan.md", "."])
def test_bad_output_path_is_a_usage_error(sqlite_db: SalesDb, tmp_path: Path, where: str) -> None:
    build(sqlite_db, accounts=10)
    code, _, err = invoke("plan", *sqlite_db.args, "--format", "markdown", "--output", str(tmp_path / where))
    assert code == 2, err
    assert "--output" in err and "unexpected" not in err and "Traceback" not in err


def test_closed_pipe_ends_quietly(sqlite_db: SalesDb) -> None:
    build(sqlite_db, accounts=200)
    proc = subprocess.run(f"{' '.join(CLI)} plan --db {sqlite_db.url} --format csv | head -n 2",
                          shell=True, capture_output=True, text=True, timeout=120,
                          executable="/bin/bash")
    assert len(proc.stdout.splitlines()) == 2
    assert proc.stderr == "", proc.stderr


def test_duplicates_json_times_are_iso_utc(sqlite_db: SalesDb) -> None:
    build(sqlite_db, accounts=60)
    code, out, _ = invoke("duplicates", *sqlite_db.args, "--format", "json")
    assert code == 3
    times = [m["createdon"] for g in json.loads(out)["groups"] for m in g["members"] if m["createdon"]]
    assert times and all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", t) for t in times), times


def test_test_pg_url_in_the_readme_form() -> None:
    assert with_driver("postgresql://postgres@127.0.0.1:5432/test") == \
        "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert with_driver("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
