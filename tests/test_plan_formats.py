"""The plan's formats: JSON valid against the schema kept in the repository, HTML read back from
a real headless browser with no network, markdown and terminal tables with the same sections,
and the runbook covering every finding code (tests/test_docs.py checks the docs cover every key)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from test_plan_support import build, plan_json, plan_output

from p2c_upgrade.plan import estimate, findings

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
    assert summary["Verdict"] == doc["verdict"].replace("`", "")  # `code` spans are <code>
    by = doc["generated_by"]
    assert f" by {by['user']} on {by['host']} with p2c-upgrade " in summary["Generated"]
    assert summary["Fingerprint"].startswith(doc["fingerprint"]["value"])
    assert summary["Estimated duration of run"].startswith(("about ", "under a minute"))
    assert "docs/performance.md" in summary["Estimated duration of run"]
    steps = [row[0] for row in parser.tables["steps"][1:]]
    assert steps == [s["step"] for s in doc["steps"]]
    numbers = parser.tables["numbers"][1:]
    assert [r[3] for r in numbers] == [n["first"]["number"] for n in doc["numbers"]]
    assert [r[4] for r in numbers] == [n["last"]["number"] for n in doc["numbers"]]
    assert len(parser.tables["duplicates"]) - 1 == doc["duplicates"]["record_count"]
    assert "blockers" in parser.tables and "findings" in parser.tables
    commands = [r[1] for r in parser.tables["rollback_steps"][1:]]
    assert commands == ["p2c-upgrade runs", "p2c-upgrade undo --run ID --dry-run",
                        "p2c-upgrade undo --run ID"]
    assert [r[0] for r in parser.tables["signoff"]] == ["", "Prepared by", "Reviewed by",
                                                        "Approved by"]
    assert parser.tables["signoff"][0][1:] == ["name", "role", "date", "signature"]


#: run in a copy of the page (the report itself has no scripts): every word of every text node,
#: measured with Range.getClientRects; a word whose boxes lie on more than one line is split
_WORD_CHECK = """<script>
(function () {
  var split = [], words = 0, range = document.createRange();
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (var n = walker.nextNode(); n; n = walker.nextNode()) {
    if (/^(SCRIPT|STYLE)$/.test(n.parentNode.nodeName)) continue;
    var re = /\\S+/g, m;
    while ((m = re.exec(n.data))) {
      words++;
      range.setStart(n, m.index); range.setEnd(n, m.index + m[0].length);
      var tops = [];
      Array.prototype.forEach.call(range.getClientRects(), function (r) {
        if (r.width > 0) tops.push(r.top);
      });
      if (tops.length && Math.max.apply(null, tops) - Math.min.apply(null, tops) > 2) {
        split.push(m[0]);
      }
    }
  }
  var pre = document.createElement("pre");
  pre.id = "wordcheck";
  pre.textContent = JSON.stringify({width: document.documentElement.clientWidth,
                                    words: words, split: split});
  document.body.appendChild(pre);
})();
</script>"""


def test_html_breaks_no_word_at_1280_px(sqlite_db: SalesDb, tmp_path: Path) -> None:
    """The approval document in Chromium at 1280 px: no word (a step name, a command, a number,
    a record id) is broken across lines, hyphens included; names with control characters and
    markup stay escaped."""
    browser = chromium()
    if browser is None:
        if IN_CI:
            pytest.fail("chromium is required in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    build(sqlite_db, accounts=40)
    page = tmp_path / "plan.html"
    code, _ = plan_output(sqlite_db, "html", "--output", str(page), "--show-personal-data")
    assert code == 3
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text
    check = tmp_path / "check.html"
    check.write_text(text.replace("</body>", _WORD_CHECK + "\n</body>"), encoding="utf-8")
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--proxy-server=127.0.0.1:9",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,900",
         "--run-all-compositor-stages-before-draw", "--virtual-time-budget=2000",
         "--dump-dom", check.as_uri()],
        capture_output=True, text=True, timeout=90, env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'<pre id="wordcheck">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stdout[-2000:]
    result = json.loads(unescape(found.group(1)))
    assert result["width"] == 1280
    assert result["words"] > 500
    assert result["split"] == []


def test_text_and_markdown_show_the_same_sections(sqlite_db: SalesDb, tmp_path: Path) -> None:
    build(sqlite_db, accounts=30)
    doc = plan_json(sqlite_db)
    code, table = plan_output(sqlite_db, "table")
    assert code == 3
    out = tmp_path / "plan.md"
    code, _ = plan_output(sqlite_db, "markdown", "--output", str(out))
    markdown = out.read_text(encoding="utf-8")
    for title in ("Blockers", "Steps", "Number ranges", "Contact flags", "Duplicate account "
                  "numbers", "Data-quality findings", "Sync routing", "Rollback (undo)",
                  "Sign-off"):
        assert title in table and f"## {title}" in markdown
    assert table.index("Blockers") < table.index("Steps")  # blockers first
    for n in doc["numbers"]:
        assert n["first"]["number"] in table and n["last"]["number"] in markdown
    assert table.rstrip().endswith(doc["verdict"])
    assert "| step | status | rows that would change | what |" in markdown


def test_the_estimate_is_the_rows_at_the_documented_rate(sales_db: SalesDb) -> None:
    """`estimate`: each step with work left at its dialect's rate from docs/performance.md
    (at least the bench's time for prepare); the plan says it is an estimate and where the
    rates come from."""
    build(sales_db, accounts=40)
    doc = plan_json(sales_db)
    est = doc["estimate"]
    pending = {s["step"]: s["changes"] for s in doc["steps"] if s["status"] == "pending"}
    assert est["dialect"] == doc["database"]["dialect"] == sales_db.kind
    assert set(est["by_step"]) == set(pending) and est["rows"] == sum(pending.values())
    assert est["rows_per_second"] == estimate.RATES[sales_db.kind]
    for step, rows in pending.items():
        floor = estimate.FLOORS[sales_db.kind].get(step, 0)
        assert est["by_step"][step] == max(floor, -(-rows // est["rows_per_second"]))
    assert est["seconds"] == sum(est["by_step"].values())
    performance = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    for rate in estimate.RATES.values():
        assert f"| {rate:,} |" in performance  # the bench's `run` total rows/s
    code, table = plan_output(sales_db, "table")
    words = " ".join(table.split())  # the terminal table wraps long cells
    assert "Estimated duration of run" in words and "an estimate, not a promise" in words
    assert "docs/performance.md" in words


def test_estimate_reads_as_a_duration() -> None:
    assert estimate.duration(0) == "no time (nothing to change)"
    assert estimate.duration(59) == "under a minute"
    assert estimate.duration(61) == "about 2 min"
    assert estimate.duration(3 * 3600 + 5 * 60) == "about 3 h 05 min"
    big = estimate.estimate_run("postgresql", {"contact-numbers": 2_000_000})
    assert big["seconds"] == 92 and estimate.describe(big).startswith("about 2 min (2,000,000")
    assert estimate.estimate_run("mssql", {"prepare": 3})["seconds"] is None


def test_runbook_explains_every_finding_and_section() -> None:
    text = (ROOT / "runbooks" / "reviewing-the-dry-run.md").read_text(encoding="utf-8")
    missing = [code for code in findings.KINDS if f"`{code}`" not in text]
    assert not missing, f"the runbook does not explain: {missing}"
    for reason in ("no_parent", "parent_is_contact", "parent_type_unknown"):
        assert f"`{reason}`" in text


def test_html_escapes_names_and_who_generated_it(sqlite_db: SalesDb,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Names, and the login and host the report names as its author, are text: markup in them
    (inside a `code` span too) is escaped, control characters shown as escapes."""
    from test_hostile import account, insert

    from p2c_upgrade.plan import build as plan_build

    monkeypatch.setattr(plan_build, "os_user", lambda: "<i>ops</i>\x1b[2J")
    monkeypatch.setattr(plan_build, "host_name", lambda: 'db"01&<br>')
    insert(sqlite_db, "account", [dict(account(1, "ACC-1"), name="<b>Bold</b> `<img src=x>`"),
                                  dict(account(2, "acc-1"), name="<b>Bold</b> `<img src=x>`")])
    code, out = plan_output(sqlite_db, "html", "--show-personal-data")
    assert code == 3
    markup = out.replace("<br>", "")  # the report joins a cell's lines with <br>
    assert not [tag for tag in ("<b>", "<i>", "<img", "<br") if tag in markup]
    assert "&lt;b&gt;Bold&lt;/b&gt;" in out and "&lt;img" in out
    assert "&lt;i&gt;ops&lt;/i&gt;\\x1b[2J" in out and "db&quot;01&amp;&lt;br&gt;" in out
    assert "\x1b" not in out
