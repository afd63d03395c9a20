"""Secrets and personal data: grep everything the tool produces.

The database password must appear in no output, traceback (--debug), report file or ledger row,
however the run fails. Names planted in the data appear only with --show-personal-data.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from click.testing import CliRunner
from test_undo_support import build

from p2c_upgrade.cli import main

from conftest import PG_URL, SalesDb, pg_schema, require_pg
from helpers import cli, execute, query

PASSWORD = f"Pw-{uuid.uuid4().hex[:10]}/S3cr@t"
PLANTED = ("Quorrafenwick", "Plantagenet-Vexley", "Zyxwvuts Planted Holdings")


@contextmanager
def secret_role() -> Iterator[str]:
    """A superuser role with a password (the server trusts local connections, so any URL with
    it connects); yields the role name."""
    require_pg()
    name = f"p2c_secret_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE \"{name}\" LOGIN SUPERUSER PASSWORD '{PASSWORD}'"))
    try:
        yield name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


def url_with_password(role: str, host: str = "127.0.0.1", port: int = 5432, database: str = "test") -> str:
    return f"postgresql://{role}:{quote(PASSWORD, safe='')}@{host}:{port}/{database}"


class Collector:
    """Every byte the tool produced: stdout, stderr, report files."""

    def __init__(self) -> None:
        self.outputs: list[tuple[str, str]] = []

    def cli(self, args: list[str], env: dict[str, str] | None = None) -> int:
        """In-process (fast); the subprocess path is covered by the last test."""
        result = CliRunner().invoke(main, args, env=env)
        text = result.output + (repr(result.exception) if result.exception and
                                not isinstance(result.exception, SystemExit) else "")
        self.outputs.append((" ".join(args[:1]), text))
        return result.exit_code

    def add_files(self, folder: Path) -> None:
        for path in folder.rglob("*"):
            if path.is_file() and not path.name.endswith((".db", ".db-journal")):
                self.outputs.append((str(path), path.read_bytes().decode("utf-8", "replace")))
                self.outputs.append((f"{path} (utf-16)", path.read_bytes().decode("utf-16", "replace")))

    def assert_absent(self, *needles: str) -> None:
        for where, text in self.outputs:
            for needle in needles:
                assert needle not in text, f"{needle!r} appears in the output of {where}: {text[:2000]}"


def ledger_text(db: SalesDb) -> str:
    """Every row of the tool's own tables, as text."""
    engine = db.engine()
    out = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names(schema=db.schema):
            if table.startswith("p2c_"):
                out += [repr(tuple(r)) for r in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    engine.dispose()
    return "\n".join(out)


COMMANDS = [["run", "--no-progress"], ["status"], ["status", "--format", "json"], ["verify"], ["plan"],
            ["duplicates"], ["undo", "--run", "1"], ["undo", "--run", "1", "--dry-run"],
            ["sync", "--no-progress", "--target", "package:{tmp}/pkg"]]


def test_the_password_appears_nowhere(tmp_path: Path) -> None:
    secrets = (PASSWORD, quote(PASSWORD, safe=""), PASSWORD.split("/")[0])
    seen = Collector()
    with secret_role() as role, pg_schema() as db, pg_schema() as bare:
        execute(bare, "DROP TABLE account, contact, quote, salesorder, invoice, organization")
        build(db, accounts=30)
        good = url_with_password(role)
        failing = {
            "no such database": ["--db", url_with_password(role, database="p2c_no_such_database")],
            "nothing listening": ["--db", url_with_password(role, port=1)],
            "no Sales tables": ["--db", good, "--schema", str(bare.schema)],
            "no such schema": ["--db", good, "--schema", "p2c_no_such_schema"],
        }
        for args in failing.values():
            for command in COMMANDS:
                full = [command[0], *args, "--debug", *(c.format(tmp=tmp_path) for c in command[1:])]
                assert seen.cli(full) != 0, full
        # a run that fails in its sync step, its target URL holding the password too
        sales = ["--db", good, "--schema", str(db.schema)]
        assert seen.cli(["run", *sales, "--no-progress"]) == 0
        assert seen.cli(["duplicates", *sales, "--renumber", "--no-progress"]) == 0
        bad_target = url_with_password(role, port=1, database="fno")
        for debug in ([], ["--debug"]):
            assert seen.cli(["run", *sales, *debug, "--no-progress", "--target", bad_target]) != 0
            assert seen.cli(["sync", *sales, *debug, "--no-progress", "--target", bad_target]) != 0
        # and everything working, the URL from the environment
        env = {"P2C_DATABASE_URL": good}
        for command in COMMANDS:
            full = [command[0], "--schema", str(db.schema), *(c.format(tmp=tmp_path) for c in command[1:])]
            seen.cli(full, env=env)
        seen.cli(["plan", *sales, "--format", "html", "--output", str(tmp_path / "plan.html")])
        seen.cli(["plan", *sales, "--format", "json", "--output", str(tmp_path / "plan.json")])
        seen.add_files(tmp_path)
        seen.outputs.append(("ledger", ledger_text(db)))
        seen.outputs.append(("ledger of the bare schema", ledger_text(bare)))
    assert len(seen.outputs) > 40
    seen.assert_absent(*secrets)


def plant(db: SalesDb) -> None:
    """Records with unmistakable names whose sync fails (unknown country): reports list them."""
    build(db, accounts=40)
    execute(db, "INSERT INTO account (accountid, name, address1_country, statecode, createdon) "
                "VALUES ('00000000-0000-4000-8000-00000000abcd', :n, 'Atlantis', 0, :t)",
            {"n": PLANTED[2], "t": datetime(2001, 1, 1)})
    execute(db, "INSERT INTO contact (contactid, firstname, lastname, address1_country, parentcustomerid, "
                "parentcustomeridtype, statecode, createdon) VALUES ('00000000-0000-4000-8000-00000000abce', "
                ":f, :l, 'Atlantis', '00000000-0000-4000-8000-00000000abcd', 'account', 0, :t)",
            {"f": PLANTED[0], "l": PLANTED[1], "t": datetime(2001, 1, 1)})
    execute(db, "INSERT INTO quote (quoteid, customerid, customeridtype, statecode, createdon) VALUES "
                "('00000000-0000-4000-8000-00000000abcf', '00000000-0000-4000-8000-00000000abce', 'contact', 0, :t)",
            {"t": datetime(2001, 1, 1)})


def test_names_appear_only_with_show_personal_data(sales_db: SalesDb, tmp_path: Path) -> None:
    plant(sales_db)
    seen, shown = Collector(), Collector()
    db = sales_db.args
    seen.cli(["plan", *db, "--format", "json"])
    for fmt in ("table", "markdown", "html", "csv"):
        seen.cli(["plan", *db, "--format", fmt, "--output", str(tmp_path / f"plan.{fmt}")])
    shown.cli(["plan", *db, "--format", "json", "--show-personal-data"])
    seen.cli(["run", *db, "--no-progress", "--batch-size", "7"])
    seen.cli(["duplicates", *db, "--renumber", "--no-progress"])
    target = f"sqlite:///{tmp_path / 'fno.db'}"
    for command in (["sync", "--target", target], ["sync", "--target", f"package:{tmp_path / 'pkg'}"],
                    ["run", "--target", target], ["sync", "--target", target, "--format", "json"]):
        seen.cli([command[0], *db, "--no-progress", *command[1:]])
    shown.cli(["sync", *db, "--no-progress", "--target", target, "--show-personal-data"])
    for command in (["status"], ["status", "--format", "json"], ["verify"], ["duplicates"],
                    ["undo", "--run", "1", "--dry-run"], ["undo", "--run", "1"], ["undo", "--run", "1"]):
        seen.cli([command[0], *db, *command[1:]])
    seen.add_files(tmp_path)
    seen.assert_absent(*PLANTED)
    # the records are there, identified by id (and number) instead of by name
    assert any("00000000-0000-4000-8000-00000000abcd" in text for _, text in seen.outputs)
    # the switch works, so the test could see the names if they leaked
    assert any(PLANTED[2] in text or PLANTED[0] in text for _, text in shown.outputs), shown.outputs
    assert query(sales_db, "SELECT count(*) FROM account WHERE name = :n", {"n": PLANTED[2]}) == [(1,)]


def test_debug_tracebacks_mask_a_password_given_in_the_environment() -> None:
    with secret_role() as role:
        env = {"P2C_DATABASE_URL": url_with_password(role, port=1)}
        result = cli(["run", "--debug", "--no-progress"], env=env)
        assert result.returncode == 1
        text = result.stdout + result.stderr
        assert "Traceback" in text and "***" in text or "refused" in text
        assert PASSWORD not in text and quote(PASSWORD, safe="") not in text
        doc = cli(["status", "--format", "json"], env={"P2C_DATABASE_URL": url_with_password(role)})
        assert PASSWORD not in doc.stdout + doc.stderr
        if doc.returncode == 0:
            assert json.loads(doc.stdout)["database"].count("***") == 1
    assert sys.executable
