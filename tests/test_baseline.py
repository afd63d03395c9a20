"""The benchmark's hand-written baseline (scripts/bench_sql/<dialect>/baseline.sql) does what `p2c-upgrade run`
does to the Sales tables, number values aside: the same records numbered, in the same order (the
same sequence numbers: the generated data holds no value that looks generated), the same flags
on every contact, the same sequences and organization switch."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from p2c_upgrade.demo.generator import generate
from p2c_upgrade.rules.keys import is_blank

from conftest import PG_URL, SalesDb

ROOT = Path(__file__).resolve().parents[1]
N = 300
NUMBER = re.compile(r"^(ACC|CON)-([0-9]{5,})-[A-Z0-9]{6}$")


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("p2c_bench", ROOT / "scripts" / "bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _tool_run(db: SalesDb) -> None:
    from p2c_upgrade.cli import main

    result = CliRunner().invoke(main, ["run", *db.args, "--no-progress"])
    # 3: the planted duplicate account numbers block the sync at the end; the steps ran
    assert result.exit_code in (0, 3), result.output


def _snapshot(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        accounts = {
            str(r[0]): (r[1], r[2]) for r in conn.execute(sa.text(
                "SELECT accountid, accountnumber, createdon FROM account"))
        }
        contacts = {
            str(r[0]): (r[1], bool(r[2]), bool(r[3])) for r in conn.execute(sa.text(
                "SELECT contactid, msdynce_contactnumber, msdynce_isactivecustomer, "
                "msdynce_iscompanyanaccount FROM contact"))
        }
        sequences = sorted(tuple(r) for r in conn.execute(sa.text(
            "SELECT msdynce_entityname, msdynce_prefix, msdynce_numbersequence, "
            "msdynce_suffixlength FROM msdynce_p2cautonumber")))
        org = [bool(r[0]) for r in conn.execute(sa.text(
            "SELECT issopintegrationenabled FROM organization"))]
    return {"accounts": accounts, "contacts": contacts, "sequences": sequences, "org": org}


def _seq(value: str) -> tuple[str, int] | None:
    m = NUMBER.match(value)
    return (m.group(1), int(m.group(2))) if m else None


@pytest.fixture
def twin(sales_db: SalesDb, tmp_path: Path):
    """Two copies of the same generated Sales data: (for the tool, for the baseline)."""
    db = sales_db.open()
    try:
        generate(db, N, seed=11)
    finally:
        db.dispose()
    if sales_db.kind == "sqlite":
        assert sales_db.path
        copy = tmp_path / "baseline.db"
        shutil.copyfile(sales_db.path, copy)
        yield sales_db, SalesDb("sqlite", f"sqlite:///{copy}", None, copy)
        return
    schema = f"p2c_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    other = SalesDb("postgresql", PG_URL, schema)
    try:
        db = other.open()
        try:
            generate(db, N, seed=11)
        finally:
            db.dispose()
        yield sales_db, other
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_baseline_matches_the_tool(twin: tuple[SalesDb, SalesDb]) -> None:
    tool_db, base_db = twin
    before_engine = base_db.engine()
    with before_engine.connect() as conn:
        before = {str(r[0]): r[1] for r in conn.execute(sa.text(
            "SELECT accountid, accountnumber FROM account"))}
    before_engine.dispose()

    _tool_run(tool_db)
    steps = _bench().run_baseline(base_db.url, base_db.schema)
    assert [s["statement"] for s in steps][-1] == "duplicate-account-numbers"
    assert next(s for s in steps if s["statement"] == "duplicate-account-numbers")["rows"] >= 3

    engines = tool_db.engine(), base_db.engine()
    tool, base = (_snapshot(e) for e in engines)
    for e in engines:
        e.dispose()

    # accounts: the same records numbered, with the same sequence numbers; the others untouched
    assert tool["accounts"].keys() == base["accounts"].keys() == before.keys()
    for account_id, old in before.items():
        t, b = tool["accounts"][account_id][0], base["accounts"][account_id][0]
        if is_blank(old):
            assert _seq(t) is not None and _seq(t) == _seq(b), (old, t, b)
        else:
            assert t == b == old
    # contacts: every one numbered, same sequence numbers, same flags
    assert tool["contacts"].keys() == base["contacts"].keys()
    for contact_id, (t_number, t_active, t_company) in tool["contacts"].items():
        b_number, b_active, b_company = base["contacts"][contact_id]
        assert _seq(t_number) is not None and _seq(t_number) == _seq(b_number)
        assert (t_active, t_company) == (b_active, b_company), contact_id
    assert any(v[1] for v in tool["contacts"].values())
    assert any(not v[1] for v in tool["contacts"].values())
    assert tool["sequences"] == base["sequences"]
    assert tool["org"] == base["org"] == [True]


def test_baseline_statements_parse() -> None:
    bench = _bench()
    for dialect in ("postgresql", "sqlite"):
        statements = bench.baseline_statements(dialect)
        steps = [bench.step_of(name) for name, _ in statements]
        assert steps[0] == "prepare"
        assert set(steps) == {"prepare", "account-numbers", "contact-numbers", "active-customers",
                              "company-is-account", "duplicate-account-numbers"}
        assert all(sql and not sql.endswith(";") for _, sql in statements)
        # the baseline is not shipped with the package
        from p2c_upgrade.db import sqlfiles

        assert not (sqlfiles.sql_dir() / dialect / "baseline.sql").exists()


def test_no_lpad_truncation_in_postgresql_baseline() -> None:
    text = (ROOT / "scripts" / "bench_sql" / "postgresql" / "baseline.sql").read_text()
    for m in re.finditer(r"lpad\(([^;]*?)'0'\)", text):
        assert "greatest(5" in m.group(1)


# --- the benchmark's own machinery ------------------------------------------------------------


def test_measure_reports_the_child_not_the_bench() -> None:
    bench = _bench()
    ballast = bytearray(120 * 1024 * 1024)  # the bench's own memory must not count
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    small = bench.measure([sys.executable, "-c", "pass"])
    big = bench.measure([sys.executable, "-c", "x = bytearray(80 * 2**20); print('ok')"])
    del ballast
    assert small.exit_code == 0 and small.peak_rss < 60 * 2**20
    assert big.stdout.strip() == "ok" and big.peak_rss > 80 * 2**20
    failed = bench.measure([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert failed.exit_code == 3 and failed.seconds > 0


def test_reading_the_tools_documents() -> None:
    bench = _bench()
    steps = bench.status_steps({"steps": [
        {"step": "prepare", "rows_changed": 10, "started_at": "2026-01-01T00:00:00Z",
         "finished_at": "2026-01-01T00:00:02Z"},
        {"step": "contact-numbers", "rows_changed": 400, "seconds": 1.25},
    ]})
    assert steps["prepare"] == {"seconds": 2.0, "rows": 10, "coarse": 1.0}
    assert steps["contact-numbers"] == {"seconds": 1.25, "rows": 400, "coarse": 0.0}
    summary = '{"tasks": [{"task": "Accounts", "selected": 5}, {"task": "Contacts", ' \
              '"inserted": 2, "failed": 1}]}\nAccounts: 5 selected'
    assert bench.sync_records(summary) == 8
    assert bench.sync_records("no json") is None


def test_goals_are_judged_not_hidden() -> None:
    bench = _bench()

    def result(name: str, seconds: float, rss_mb: float = 50, rows: int = 0) -> Any:
        r = bench.Result(name)
        r.samples.append(bench.Sample(seconds, int(rss_mb * 2**20), 0, rows, {}))
        return r

    scale = {"accounts": 200_000, "results": {
        "baseline": result("baseline", 10), "run": result("run", 16),
        "run-no-journal": result("run-no-journal", 14)}}
    goals = {g.text: g for g in bench.evaluate_goals("sqlite", [scale])}
    assert goals["run <= 1.5x baseline"].status == "NOT MET"
    assert goals["run <= 1.5x baseline"].value == "1.60x"
    assert goals["journal overhead: run vs run --no-journal <= 30%"].status == "met"
    pg = {"accounts": 100_000, "results": {"baseline": result("baseline", 10),
                                           "run": result("run", 9)}}
    goals = {g.text: g for g in bench.evaluate_goals("postgresql", [pg])}
    assert goals["run <= 1.0x baseline"].status == "met"
    assert "stated at 1,000,000" in goals["run <= 1.0x baseline"].detail
    assert goals["plan <= 0.5x run"].status == "not measured"
