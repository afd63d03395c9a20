"""The plan's formats: JSON valid against the schema kept in the repository, HTML read back from
a real headless browser with no network, markdown and terminal tables with the same sections,
and the runbook covering every finding code (tests/test_docs.py checks the docs cover every key)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_plan_support import build, plan_json, plan_output

from p2c_upgrade.plan import findings

from conftest import IN_CI, SalesDb

ROOT = Path(__file__).resolve().parent.parent


def schema() -> dict[str, Any]:
    text = resources.files("p2c_upgrade").joinpath("schemas/plan.schema.json").read_text("utf-8")
    return json.loads(text)


def test_json_validates_against_the_schema(sales_db: SalesDb) -> None:
    build(sales_db, accounts=40)
    validator = jsonschema.Draft202012Validator(schema())
    validator.check_schema(validator.schema)
    for extra in ((), ("--show-personal-data",)):
        doc = plan_json(sales_db, *extra)
        validator.validate(doc)
        assert doc["version"] == 1


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Tables(HTMLParser):
    """The text of every table cell, by table id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_html_renders_in_a_real_browser(sales_db: SalesDb, tmp_path: Path) -> None:
    browser = chromium()
    if browser is None:
        if IN_CI:
            pytest.fail("chromium is required in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    build(sales_db, accounts=40)
    page = tmp_path / "plan.html"
    code, _ = plan_output(sales_db, "html", "--output", str(page))
    doc = plan_json(sales_db)
    assert code == 3
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<script|<link|\bsrc=|\bhref=|@import|url\(", text, re.I)
    profile = tmp_path / "chromium-profile"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--proxy-server=127.0.0.1:9", f"--user-data-dir={profile}",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=90, env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    parser = Tables()
    parser.feed(proc.stdout)
    summary = {row[0]: row[1] for row in parser.tables["summary"][1:]}
    assert summary["Blockers"] == str(doc["totals"]["blockers"])
    assert summary["Warnings"] == str(doc["totals"]["warnings"])
    assert summary["Rows that would change"] == f"{doc['totals']['changes']:,}"
    assert summary["Exit code"] == "3"
    assert summary["Verdict"] == doc["verdict"].replace("`", "")  # code spans render without backticks
    steps = [row[0] for row in parser.tables["steps"][1:]]
    assert steps == [s["step"] for s in doc["steps"]]
    numbers = parser.tables["numbers"][1:]
    assert [r[3] for r in numbers] == [n["first"]["number"] for n in doc["numbers"]]
    assert [r[4] for r in numbers] == [n["last"]["number"] for n in doc["numbers"]]
    assert len(parser.tables["duplicates"]) - 1 == doc["duplicates"]["record_count"]
    assert "blockers" in parser.tables and "findings" in parser.tables


def test_text_and_markdown_show_the_same_sections(sqlite_db: SalesDb, tmp_path: Path) -> None:
    build(sqlite_db, accounts=30)
    doc = plan_json(sqlite_db)
    code, table = plan_output(sqlite_db, "table")
    assert code == 3
    out = tmp_path / "plan.md"
    code, _ = plan_output(sqlite_db, "markdown", "--output", str(out))
    markdown = out.read_text(encoding="utf-8")
    for title in ("Blockers", "Steps", "Number ranges", "Contact flags", "Duplicate account "
                  "numbers", "Data-quality findings", "Sync routing"):
        assert title in table and f"## {title}" in markdown
    assert table.index("Blockers") < table.index("Steps")  # blockers first
    for n in doc["numbers"]:
        assert n["first"]["number"] in table and n["last"]["number"] in markdown
    assert table.rstrip().endswith(doc["verdict"])
    assert "| step | status | rows that would change | what |" in markdown


def test_runbook_explains_every_finding_and_section() -> None:
    text = (ROOT / "runbooks" / "reviewing-the-dry-run.md").read_text(encoding="utf-8")
    missing = [code for code in findings.KINDS if f"`{code}`" not in text]
    assert not missing, f"the runbook does not explain: {missing}"
    for reason in ("no_parent", "parent_is_contact", "parent_type_unknown"):
        assert f"`{reason}`" in text
