"""The command line through click's CliRunner: exit codes, one-line errors, masked passwords."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from p2c_upgrade.cli import main

from conftest import SalesDb, require_pg

SECRET = "s3cr3t-Pa55"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    return lines[0]


def test_help_names_the_commands_and_exit_codes() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for word in ("plan", "run", "status", "verify", "duplicates", "sync", "demo", "4 another run"):
        assert word in out


def test_no_database_is_a_usage_error() -> None:
    code, _, err = invoke("status", env={"P2C_DATABASE_URL": ""})
    assert code == 2
    assert "--db" in one_line_error(err)


@pytest.mark.parametrize("url", ["not a url", "mysql://u:p@h/db", "oracle+nothing://x"])
def test_bad_urls_are_usage_errors(url: str) -> None:
    code, _, err = invoke("status", "--db", url)
    assert code == 2, err
    one_line_error(err)


def test_unknown_step_is_a_usage_error(sqlite_db: SalesDb) -> None:
    code, _, err = invoke("run", *sqlite_db.args, "--step", "everything")
    assert code == 2 and "everything" in err


def test_unreachable_server_one_line_password_masked() -> None:
    code, out, err = invoke("status", "--db", f"postgresql://admin:{SECRET}@127.0.0.1:1/sales")
    assert code == 1
    line = one_line_error(err)
    assert "cannot connect" in line and "127.0.0.1:1" in line
    assert SECRET not in out + err


def test_missing_database_masked_and_debug_traceback_masked() -> None:
    require_pg()
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:5432/p2c_no_such_database"
    code, out, err = invoke("status", "--db", url)
    assert code == 1 and SECRET not in out + err
    one_line_error(err)
    code, out, err = invoke("--debug", "status", "--db", url)
    assert code == 1 and "Traceback" in err and SECRET not in out + err


def test_missing_tables_and_columns_are_all_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    engine = sa.create_engine(f"sqlite:///{empty}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE account (accountid TEXT PRIMARY KEY, name TEXT)"))
    engine.dispose()
    code, _, err = invoke("run", "--db", f"sqlite:///{empty}", "--no-progress")
    assert code == 1
    line = one_line_error(err)
    for name in ("account.accountnumber", "account.createdon", "table contact", "table quote",
                 "table salesorder", "table invoice"):
        assert name in line


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    code, _, err = invoke("status", "--db", f"sqlite:///{missing}")
    assert code == 2 and "not found" in one_line_error(err)  # a usage error: the path given is wrong
    assert not missing.exists()


def test_database_url_from_the_environment(sqlite_db: SalesDb) -> None:
    code, out, err = invoke("status", "--format", "json", env={"P2C_DATABASE_URL": sqlite_db.url})
    assert code == 0, err
    doc = json.loads(out)
    assert doc["version"] == 1
    assert [s["step"] for s in doc["steps"]][0] == "prepare"
    assert set(doc) >= {"database", "lock", "last_run", "steps"}


def test_options_before_or_after_the_command(sqlite_db: SalesDb) -> None:
    assert invoke("--db", sqlite_db.url, "status")[0] == 0
    assert invoke("status", "--db", sqlite_db.url)[0] == 0


def test_schema_only_for_postgresql(sqlite_db: SalesDb) -> None:
    code, _, err = invoke("status", "--db", sqlite_db.url, "--schema", "x")
    assert code == 2 and "PostgreSQL" in one_line_error(err)


def test_unknown_schema_named(pg_db: SalesDb) -> None:
    code, _, err = invoke("status", "--db", pg_db.url, "--schema", 'no"such; schema')
    assert code == 1 and "does not exist" in one_line_error(err)


def test_lock_timeout_option(sqlite_db: SalesDb) -> None:
    assert invoke("status", *sqlite_db.args, "--lock-timeout", "2.5")[0] == 0
    assert invoke("--lock-timeout", "0", "status", *sqlite_db.args)[0] == 2
