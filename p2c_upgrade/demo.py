"""`p2c-upgrade demo`: the whole procedure on an embedded SQLite Sales database.

It is the README's first command, so it shows what an administrator would do, in order: the
dry-run report, the run, the duplicates gate and its resolution, the verification and the
initial sync to an F&O database and to an F&O data package, and says where everything is.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from .config import load_config
from .db import open_database
from .duplicates import collision_groups
from .errors import EXIT_OK
from .generator import generate
from .progress import Progress
from .render import table
from .runner import RunOptions, renumber_duplicates, run_upgrade
from .status import verify_checks


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


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
    from .plan import build_plan, write_report

    plan = build_plan(open_database(url, read_only=True), config)
    for fmt, name in (("html", "plan.html"), ("json", "plan.json"), ("markdown", "plan.md"),
                      ("csv", "changes.csv")):
        with open(out / name, "w", encoding="utf-8", newline="") as handle:
            write_report(plan, fmt, handle)
    _say(f"   {out / 'plan.html'} (open it in a browser), plan.json, plan.md, changes.csv")
    _say(f"   blockers: {'yes: duplicate account numbers, see below' if plan.has_blockers else 'none'}")

    _say("\n3. The upgrade (p2c-upgrade run):")
    report = run_upgrade(db, RunOptions(progress=bars, batch_size=500))
    rows = [[o.step, o.state, f"{o.rows_changed:,}", o.batches] for o in report.outcomes]
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
    report = run_upgrade(db, RunOptions(progress=bars, target=f"sqlite:///{fno}", config=config,
                                        steps=["duplicate-account-numbers", "initial-sync"]))
    if report.sync_summary is not None:
        _say(report.sync_summary.to_text())

    _say("\n6. The same sync as an F&O data package (p2c-upgrade sync --target package:DIR):")
    from .sync import run_sync

    summary = run_sync(db, f"package:{package}", config, progress=bars)
    _say(summary.to_text())

    _say("\n7. Verification (p2c-upgrade verify):")
    checks = verify_checks(open_database(url, read_only=True))
    _say(table([[c["check"], "ok" if c["ok"] else "FAIL", "; ".join(c["failures"])] for c in checks],
               ["check", "result", "failures"]))

    _say("\nWhere everything is:")
    _say(f"  Sales database (upgraded):   {sales}")
    _say(f"  F&O database (customers and contact persons): {fno}")
    _say(f"  F&O data package:            {package}")
    _say(f"  dry-run reports:             {out}/plan.html, plan.json, plan.md, changes.csv")
    _say(f"  try: p2c-upgrade status --db {url}")
    _say(f"       p2c-upgrade undo --run {report.run_id} --dry-run --db {url}")
    return EXIT_OK
