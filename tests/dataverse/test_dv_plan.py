"""`plan` on a pulled working copy: the `push` section (what push would write, requests, duration)
and the `p2c_solution_not_installed` blocker, through the CLI on the stand-in (SQLite and
PostgreSQL via `sales_db`). Plan never contacts the org."""

from __future__ import annotations

import json
from collections import Counter

from .dvhelp import cli


def _plan(sales_db, fmt: str = "json") -> tuple[int, str, str]:
    return cli(sales_db, "plan", "--format", fmt)


def test_plan_push_section_counts_what_push_writes(org, sales_db):
    code, out, err = _plan(sales_db)
    assert code == 0, err
    assert json.loads(out)["push"] is None                      # never pulled: no section
    assert cli(sales_db, "pull", "--from", org.url)[0] == 0
    assert cli(sales_db, "run")[0] == 0
    org.clear_requests()
    code, out, err = _plan(sales_db)
    assert code == 0, err
    assert org.requests == []                                   # plan never contacts the org
    push = json.loads(out)["push"]
    assert push["org"] == org.url and push["solution_installed"] and push["blockers"] == []
    per_table = {t["table"]: t for t in push["tables"]}
    assert {"account", "contact"} <= set(per_table)           # and organization (prepare's flag)
    assert per_table["account"]["records"] > 0 and push["records"] == sum(t["records"] for t in push["tables"])
    cols = {c["column"]: c["records"] for c in per_table["account"]["columns"]}
    assert 0 < cols["accountnumber"] <= per_table["account"]["records"]
    assert push["columns"] == sum(c["records"] for t in push["tables"] for c in t["columns"])
    assert {s["entity"] for s in push["sequences"]} == {"account", "contact"}
    assert push["estimated_seconds"] > 0 and push["limits"]["requests_per_window"] == 6000
    for fmt, marker in (("table", "Push to the org"), ("markdown", "## Push to the org"),
                        ("html", '<section id="push">')):
        code, text, _ = _plan(sales_db, fmt)
        assert code == 0 and marker in text and f"{push['records']:,}" in text

    assert cli(sales_db, "push")[0] == 0
    written = Counter(r.path.split("(")[0] for r in org.requests
                      if r.method == "PATCH" and r.batch is not None and r.status < 300)
    assert written == {f"{t}s": entry["records"] for t, entry in per_table.items()}  # entity sets
    assert len([r for r in org.requests if r.batch is None]) == push["requests"]   # no retries here
    code, out, _ = _plan(sales_db)
    after = json.loads(out)["push"]
    assert code == 0 and after["records"] == 0 and after["tables"] == [] and after["requests"] == 0


def test_plan_blocks_when_the_org_has_no_solution(make_org, sales_db):
    org = make_org(solution_installed=False)
    assert cli(sales_db, "pull", "--from", org.url)[0] == 0
    org.clear_requests()
    code, out, _ = _plan(sales_db)
    doc = json.loads(out)
    assert code == 3 and doc["has_blockers"]
    assert [f["code"] for f in doc["findings"] if f["severity"] == "blocker"] == ["p2c_solution_not_installed"]
    assert doc["push"]["solution_installed"] is False and "not installed" in doc["push"]["blockers"][0]
    code, text, _ = _plan(sales_db, "table")
    assert code == 3 and "p2c_solution_not_installed" in text and "BLOCKED" in text
    assert org.requests == []
