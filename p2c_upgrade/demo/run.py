"""`p2c-upgrade demo`: the whole procedure on an embedded SQLite Sales database.

It is the README's first command, so it shows what an administrator would do, in order: the
dry-run report, the run, the duplicates gate and its resolution, the verification and the
initial sync to an F&O database and to an F&O data package, and says where everything is.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import sqlalchemy as sa

from p2c_upgrade.config import load_config
from p2c_upgrade.db.connection import Database, open_database
from p2c_upgrade.demo.generator import generate
from p2c_upgrade.errors import EXIT_OK
from p2c_upgrade.progress import Progress
from p2c_upgrade.render import table
from p2c_upgrade.upgrade.duplicates import collision_groups
from p2c_upgrade.upgrade.runner import RunOptions, renumber_duplicates, run_upgrade
from p2c_upgrade.upgrade.status import verify_checks


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _short(summary: object) -> str:
    """The summary table and its notes, without the long failure listing."""
    text = summary.to_text()  # type: ignore[attr-defined]
    head, *_ = text.split("\n\n")
    notes = summary.notes()  # type: ignore[attr-defined]
    return "\n".join([head, *notes])


def _clear_unknown_countries(db: Database, summary: object) -> list[str]:
    """Blank the country values the sync could not resolve (demo data only)."""
    bad = sorted({f["detail"].split("'")[1] for t in summary.tasks  # type: ignore[attr-defined]
                  for f in t.failures if f.get("reason") == "unknown_country" and "'" in (f.get("detail") or "")})
    with db.engine.begin() as conn:
        for table in ("account", "contact"):
            conn.execute(sa.text(f"UPDATE {table} SET address1_country = NULL WHERE address1_country IN "
                                 "(SELECT value FROM json_each(:bad))"), {"bad": json.dumps(bad)})
    return bad


def run_demo(directory: str, accounts: int, *, progress: bool = True) -> int:
    out = Path(directory).resolve()
    out.mkdir(parents=True, exist_ok=True)
    sales = out / "sales.db"
    fno = out / "fno.db"
    package = out / "package"
    for stale in (sales, fno, out / "sales.db.p2c-lock"):
        stale.unlink(missing_ok=True)
    shutil.rmtree(package, ignore_errors=True)
    url = f"sqlite:///{sales}"
    bars = Progress(enabled=progress)
    config = load_config(None)

    _say(f"1. Building a sample Sales database: {sales}")
    db = open_database(url, must_exist=False)
    made = generate(db, accounts, seed=2026)
    _say(f"   {made.account:,} accounts, {made.contact:,} contacts, {made.quote:,} quotes, "
         f"{made.salesorder:,} orders, {made.invoice:,} invoices")

    _say("\n2. The dry-run report (p2c-upgrade plan), written without changing anything:")
    from p2c_upgrade.plan import build_plan, write_report

    plan = build_plan(open_database(url, read_only=True), config)
    for fmt, name in (("html", "plan.html"), ("json", "plan.json"), ("markdown", "plan.md"),
                      ("csv", "changes.csv")):
        with open(out / name, "w", encoding="utf-8", newline="") as handle:
            write_report(plan, fmt, handle)
    _say(f"   {out / 'plan.html'} (open it in a browser), plan.json, plan.md, changes.csv")
    _say(f"   blockers: {'yes: duplicate account numbers, see below' if plan.has_blockers else 'none'}")

    _say("\n3. The upgrade (p2c-upgrade run):")
    upgrade = run_upgrade(db, RunOptions(progress=bars, batch_size=500))
    rows = [[o.step, o.state, f"{o.rows_changed:,}", o.batches] for o in upgrade.outcomes]
    _say(table(rows, ["step", "state", "rows changed", "batches"]))

    with db.engine.connect() as conn:
        groups = list(collision_groups(conn))
    if groups:
        _say(f"\n4. The gate: {len(groups)} groups of account numbers collide as F&O compares them "
             "(p2c-upgrade duplicates):")
        listing = [[i + 1, m.id, repr(m.number), m.kind, "keeps" if m.keeps else "renumbered"]
                   for i, g in enumerate(groups) for m in g.members]
        _say(table(listing, ["group", "accountid", "accountnumber", "kind", "resolution"]))
        fixed = renumber_duplicates(db, RunOptions(progress=bars))
        _say(f"   resolved with p2c-upgrade duplicates --renumber: {fixed.rows_changed} accounts "
             "renumbered, the oldest of each group kept its number (journaled)")

    _say("\n5. The initial sync to an F&O database (p2c-upgrade run --target ...):")
    target = f"sqlite:///{fno}"
    report = run_upgrade(db, RunOptions(progress=bars, target=target, config=config,
                                        steps=["duplicate-account-numbers", "initial-sync"]))
    if report.sync_summary is not None:
        _say(_short(report.sync_summary))
    if report.sync_summary is not None and report.sync_failed:
        fixed_countries = _clear_unknown_countries(db, report.sync_summary)
        _say(f"\n   {report.sync_summary.failed_total} records failed on their data (each listed with its "
             "reason; see runbooks/initial-sync-and-sync-errors.md).")
        _say(f"   The sample data holds made-up countries ({', '.join(fixed_countries)}). In production you "
             "correct them in Sales or map them in the configuration file; the demo clears them so the "
             "template default (USA) applies, and runs the sync again, which retries only what failed:")
        from p2c_upgrade.sync import run_sync

        _say(_short(run_sync(db, target, config, progress=bars)))

    _say("\n6. The same sync as an F&O data package (p2c-upgrade sync --target package:DIR):")
    from p2c_upgrade.sync import run_sync

    summary = run_sync(db, f"package:{package}", config, progress=bars)
    _say(_short(summary))

    _say("\n7. Verification (p2c-upgrade verify):")
    checks = verify_checks(open_database(url, read_only=True))
    _say(table([[c["check"], "ok" if c["ok"] else "FAIL", "; ".join(c["failures"])] for c in checks],
               ["check", "result", "failures"]))

    _say("\nWhere everything is:")
    _say(f"  Sales database (upgraded):   {sales}")
    _say(f"  F&O database (customers and contact persons): {fno}")
    _say(f"  F&O data package:            {package}")
    _say(f"  dry-run reports:             {out}/plan.html, plan.json, plan.md, changes.csv")
    command = console_command()
    db_arg = shlex.quote(url)
    _say(f"  try: {command} status --db {db_arg}")
    _say(f"       {command} undo --run {upgrade.run_id} --dry-run --db {db_arg}")
    activate = Path(sys.executable).parent / "activate"
    if command != "p2c-upgrade" and activate.exists():
        _say(f"  (or first `source {shlex.quote(str(activate))}`: then plain `p2c-upgrade` works)")
    return EXIT_OK


def console_command() -> str:
    """How to call this very p2c-upgrade from a shell, so the demo's "try" lines work as printed:
    `p2c-upgrade` when that name on PATH is this installation, else the full path of the console
    script next to this interpreter (a venv not activated), else `python -m p2c_upgrade`."""
    bindir = Path(sys.executable).parent
    script = bindir / ("p2c-upgrade.exe" if os.name == "nt" else "p2c-upgrade")
    on_path = shutil.which("p2c-upgrade")
    if script.exists():
        if on_path and Path(on_path).resolve() == script.resolve():
            return "p2c-upgrade"
        return shlex.quote(str(script))
    if on_path:
        return "p2c-upgrade"
    return f"{shlex.quote(sys.executable)} -m p2c_upgrade"
