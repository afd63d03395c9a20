"""Misuse through the database URL and the files next to the database (issue 13, items 1-4, 6).

A SQLite path is the file it names, whatever characters it holds; a report never overwrites the
database; a credential never appears, whatever its form; a malformed URL is a usage error; a
--debug traceback holds no personal data unless asked.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner, Result
from test_secrets import PASSWORD, ledger_text, secret_role
from test_undo_support import build

from p2c_upgrade.cli import main
from p2c_upgrade.redact import mask_url
from p2c_upgrade.sync.targets import DatabaseTarget

from conftest import SalesDb, pg_schema
from helpers import query


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_error(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("name", ["q#x.db", "p%41.db", "r%23s#t%.db"])
def test_a_sqlite_path_names_exactly_its_file(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / name
    db = SalesDb("sqlite", f"sqlite:///{path}", None, path)
    build(db, accounts=20)
    assert invoke(["run", *db.args, "--no-progress"]).exit_code == 0
    assert invoke(["duplicates", *db.args, "--renumber", "--no-progress"]).exit_code == 0
    before, files = digest(path), sorted(p.name for p in folder.iterdir())
    status = invoke(["status", *db.args, "--format", "json"])
    assert status.exit_code == 0, status.output
    steps = {s["step"]: s["state"] for s in json.loads(status.stdout)["steps"]}
    assert steps["prepare"] == steps["account-numbers"] == "done", steps
    assert invoke(["verify", *db.args]).exit_code == 0
    plan = invoke(["plan", *db.args, "--format", "json"])
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["database"]["url"] == f"sqlite:///{path}"
    # read-only: the file unchanged, and nothing created beside it
    assert digest(path) == before
    assert sorted(p.name for p in folder.iterdir()) == files


def test_plan_output_onto_the_database_or_its_files_is_refused(sqlite_db: SalesDb,
                                                               tmp_path: Path) -> None:
    build(sqlite_db, accounts=20)
    path = sqlite_db.path
    assert path is not None
    before = digest(path)
    link = tmp_path / "report.html"
    link.symlink_to(path)
    hard = tmp_path / "hard-link.db"
    hard.hardlink_to(path)
    suffixes = ["", "-journal", "-wal", "-shm", ".p2c-lock"]
    for output in [*(str(path) + s for s in suffixes), str(link), str(hard),
                   str(tmp_path / "." / path.name)]:
        result = invoke(["plan", *sqlite_db.args, "--format", "html", "--output", output])
        line = one_line_error(result, 2)
        assert "database" in line, line
    assert digest(path) == before
    assert not Path(str(path) + "-wal").exists() and not Path(str(path) + ".p2c-lock").exists()
    assert invoke(["verify", *sqlite_db.args]).exit_code == 3  # still a Sales database


def test_credentials_in_url_parameters_are_masked_everywhere(tmp_path: Path) -> None:
    encoded = quote(PASSWORD, safe="")
    with secret_role() as role, pg_schema() as db, pg_schema() as fno:
        build(db, accounts=25)
        base = f"postgresql://{role}@127.0.0.1:5432/test"
        sales = ["--db", f"{base}?password={encoded}", "--schema", str(db.schema)]
        target = f"{base}?sslpassword={encoded}&password={encoded}&schema={fno.schema}"
        outputs = [invoke(["run", *sales, "--no-progress", "--target", target]),
                   invoke(["sync", *sales, "--no-progress", "--target", target]),
                   invoke(["sync", *sales, "--no-progress", "--target", target, "--format", "json"]),
                   invoke(["status", *sales, "--format", "json"]),
                   invoke(["status", *sales]),
                   invoke(["plan", *sales, "--format", "json"]),
                   invoke(["verify", *sales, "--format", "json"])]
        assert [r.exit_code in (0, 3) for r in outputs] == [True] * 7, [r.output for r in outputs]
        doc = json.loads(outputs[3].stdout)
        assert doc["database"].endswith("?password=***")
        stored = ledger_text(db)
    for text in [*(r.output for r in outputs), stored]:
        assert PASSWORD not in text and encoded not in text
    assert "password=***" in stored  # the target is stored (run options, sync runs), masked


@pytest.mark.parametrize("url", [
    "postgresql://u:S3cr@h/db", "postgresql://:S3cr@h/db", "postgresql://u@h/db?password=S3cr",
    "postgresql://u@h/db?sslpassword=S3cr&x=1", "postgresql://u@h/db?x=1&PASSWORD=S3cr",
    "postgresql+psycopg://u@h/db?client_secret=S3cr", "postgresql://u@h/db?access_token=S3cr",
])
def test_every_credential_form_is_masked(url: str) -> None:
    assert "S3cr" not in mask_url(url) and "***" in mask_url(url)
    result = invoke(["status", "--db", url.replace("@h/", "@127.0.0.1:1/")])
    assert result.exit_code == 1 and "S3cr" not in result.output


@pytest.mark.parametrize("option", ["--db", "--target"])
def test_a_port_that_is_not_a_number_is_a_usage_error(sqlite_db: SalesDb, option: str) -> None:
    build(sqlite_db, accounts=10)
    assert invoke(["run", *sqlite_db.args, "--no-progress"]).exit_code == 0
    assert invoke(["duplicates", *sqlite_db.args, "--renumber", "--no-progress"]).exit_code == 0
    url = "postgresql://u:S3cr@host:notaport/db"
    args = ["status", "--db", url] if option == "--db" else ["sync", *sqlite_db.args, "--target", url]
    line = one_line_error(invoke(args), 2)
    assert "port" in line and "S3cr" not in line


def test_debug_shows_no_bound_parameters_of_a_failing_target_write(sales_db: SalesDb,
                                                                   tmp_path: Path) -> None:
    build(sales_db, accounts=20)
    assert invoke(["run", *sales_db.args, "--no-progress"]).exit_code == 0
    assert invoke(["duplicates", *sales_db.args, "--renumber", "--no-progress"]).exit_code == 0
    names = [n for (n,) in query(sales_db, "SELECT name FROM account") if n]
    fno = tmp_path / "fno.db"
    DatabaseTarget.open(f"sqlite:///{fno}").close()
    with sqlite3.connect(fno) as conn:  # a write that fails for every row, not on its data
        conn.execute("CREATE TRIGGER p2c_test_broken BEFORE INSERT ON fno_customers "
                     "BEGIN SELECT * FROM p2c_test_missing; END")
    args = ["sync", *sales_db.args, "--no-progress", "--debug", "--target", f"sqlite:///{fno}"]
    hidden = invoke(args)
    assert hidden.exit_code == 1 and "Traceback" in hidden.stderr
    assert not [n for n in names if n in hidden.output]
    assert "[parameters hidden" in hidden.stderr
    shown = invoke([*args, "--show-personal-data"])
    assert shown.exit_code == 1 and [n for n in names if n in shown.output]

