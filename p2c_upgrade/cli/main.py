"""The `p2c-upgrade` command group and the upgrade's commands: plan, run, status, verify,
duplicates, undo, demo. Each parses, calls the core, renders, and returns an exit code; the error
boundary (`options.common`) maps exceptions to the contract's exit codes:
0 done; 1 unexpected failure; 2 usage error; 3 blocked by the data; 4 another run holds the lock.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from p2c_upgrade import __version__
from p2c_upgrade.cli.options import Settings, common, config_of, merge_settings, open_db, shared_options
from p2c_upgrade.db.connection import translate_errors
from p2c_upgrade.errors import EXIT_BLOCKED, EXIT_OK, MAX_INTEGER, UsageError
from p2c_upgrade.progress import Progress
from p2c_upgrade.render import emit, iso_utc, table, to_json
from p2c_upgrade.upgrade.registry import STEP_NAMES
from p2c_upgrade.upgrade.runner import DEFAULT_BATCH_SIZE


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="p2c-upgrade")
@shared_options
@click.pass_context
def main(ctx: click.Context, **kwargs: Any) -> None:
    """The Dynamics 365 Prospect to cash upgrade of Sales data, and the initial sync to F&O.

    \b
    Steps, in order: prepare, account-numbers, contact-numbers, active-customers,
    company-is-account, duplicate-account-numbers, initial-sync.
    Exit codes: 0 done, 1 unexpected failure, 2 usage error, 3 blocked by the data,
    4 another run holds the database's upgrade lock, 130 stopped by Ctrl-C (run it again).
    """
    ctx.obj = merge_settings(ctx, kwargs)


@main.command()
@click.option("--step", "steps", multiple=True, type=click.Choice(STEP_NAMES), help="Only this step (repeatable).")
@click.option("--batch-size", type=click.IntRange(1, 10_000_000), default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Rows per batch; each batch commits with its progress record.")
@click.option("--target", metavar="URL|package:DIR", help="Run initial-sync to this target at the end.")
@click.option("--no-journal", "journal", flag_value=False, default=True,
              help="Do not record old values in p2c_journal (no undo; for measurements).")
@click.option("--show-personal-data", is_flag=True, help="Show names in sync errors.")
@click.option("--plan", "plan_file", metavar="FILE",
              help="The approved plan (plan --format json): refuse if the data or the settings "
                   "changed since it was made (settings exit 2, data exit 3).")
@common
def run(settings: Settings, steps: tuple[str, ...], batch_size: int, target: str | None,
        journal: bool, show_personal_data: bool, plan_file: str | None) -> int:
    """Apply the pending steps in order; resumes where a stopped run left off."""
    from p2c_upgrade.plan.approval import check_approved
    from p2c_upgrade.upgrade.runner import RunOptions, run_upgrade

    config = config_of(settings)
    approved = check_approved(open_db(settings, read_only=True), config, plan_file) \
        if plan_file else None
    db = open_db(settings, bulk=True)
    target = target or getattr(config, "sync_target", None)
    progress = Progress(enabled=settings.progress)
    report = run_upgrade(db, RunOptions(
        steps=list(steps) or None, batch_size=batch_size, journal=journal,
        salt=getattr(config, "numbers_salt", "") or "", target=target, config=config,
        show_personal_data=show_personal_data, progress=progress, approved_plan=approved,
    ))
    rows = [[o.step, o.state, f"{o.rows_changed:,}", o.batches, f"{o.seconds:.1f}", o.detail or ""]
            for o in report.outcomes]
    emit(table(rows, ["step", "state", "rows changed", "batches", "seconds", "detail"]))
    emit(f"run {report.run_id}: {report.rows_changed:,} rows changed")
    if report.sync_summary is not None:
        emit(report.sync_summary.to_text())
    for reason in report.blocked:
        if reason != report.refused:
            emit(f"BLOCKED: {reason}")
    if report.refused:
        click.echo(f"error: {report.refused}", err=True)
    return EXIT_BLOCKED if report.sync_failed or report.refused else EXIT_OK


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@common
def status(settings: Settings, fmt: str) -> int:
    """Each step's state, rows changed, times and last error."""
    from p2c_upgrade.upgrade.status import status_document

    db = open_db(settings, read_only=True)
    doc = status_document(db)
    from p2c_upgrade.dataverse.report import live_status

    with db.engine.connect() as conn:
        live = live_status(conn)
    if live is not None:
        doc["live"] = live
    if fmt == "json":
        emit(to_json(doc))
        return EXIT_OK
    rows = [[s["step"], s["state"], f"{s['rows_changed']:,}", s["run_id"] or "",
             s["started_at"] or "", s["finished_at"] or "", s["error"] or s["detail"] or ""]
            for s in doc["steps"]]
    emit(table(rows, ["step", "state", "rows changed", "run", "started", "finished", "detail / error"]))
    sync = doc.get("last_sync")
    if sync:
        emit(f"last sync: {sync['sync_run_id']} to {sync['target']}: {sync['status']}, started "
             f"{sync['started_at']}, finished {sync['finished_at'] or '-'}")
    else:
        emit("last sync: none yet")
    emit("past runs: `p2c-upgrade runs` (the ids `undo --run ID` takes)")
    if doc["lock"]["held"]:
        emit(f"a run is in progress: {doc['lock']['holder']}")
    if doc["fno_imports"]:
        emit(table([[i["package"], i["execution_id"], i["state"], i["fno_status"] or "", i["finished_at"] or ""]
                    for i in doc["fno_imports"]], ["F&O import", "execution id", "state", "F&O status", "finished"]))
    if live is not None:
        emit(table([[p["table"], p["state"], f"{p['records']:,}", p["finished_at"] or ""] for p in live["pull"]],
                   ["pulled table", "state", "records", "when"]))
        counts = ", ".join(f"{v:,} {k}" for k, v in live["push"].items())
        emit(f"push (column values): {counts} (org {live['org']})")
    return EXIT_OK


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--remote", is_flag=True, help="Check in the org the working copy was pulled from (reads only).")
@click.option("--target", metavar="fno:URL", help="Reconcile the sync with a live F&O environment.")
@common
def verify(settings: Settings, fmt: str, remote: bool, target: str | None) -> int:
    """Check the upgrade's post-conditions; exit 3 when one fails.

    With --remote: in the org the working copy was pulled from (reads only). With --target
    fno:https://HOST: reconcile the records the sync recorded as synchronized with what F&O
    holds (keys and counts, per entity); exit 3 on any difference.
    """
    if remote and target:
        from p2c_upgrade.errors import UsageError

        raise UsageError("give --remote or --target, not both")
    if target:
        return _verify_fno(settings, fmt, target)
    from p2c_upgrade.upgrade.status import verify_checks

    if remote:
        from p2c_upgrade.cli.live import verify_remote_command

        return verify_remote_command(settings, fmt)

    checks = verify_checks(open_db(settings, read_only=True))
    failed = [c for c in checks if not c["ok"]]
    if fmt == "json":
        emit(to_json({"version": 1, "ok": not failed, "checks": checks}))
    else:
        rows = [[c["check"], "ok" if c["ok"] else "FAIL", "; ".join(c["failures"])] for c in checks]
        emit(table(rows, ["check", "result", "failures"]))
        emit("all checks pass" if not failed else f"{len(failed)} checks fail")
    return EXIT_BLOCKED if failed else EXIT_OK


def _verify_fno(settings: Settings, fmt: str, target: str) -> int:
    from p2c_upgrade.errors import UsageError
    from p2c_upgrade.fno import reconcile
    from p2c_upgrade.sync.targets.fno import connect

    if not target.startswith("fno:"):
        raise UsageError(f"verify --target reconciles a live F&O: give fno:https://HOST, not {target!r}")
    config = config_of(settings)
    client, target_id = connect(target[len("fno:"):], config.fno,
                                lambda m: click.echo(m, err=True))
    doc = reconcile.reconcile(open_db(settings, read_only=True), client, target_id,
                              config.fno.legal_entity)
    if fmt == "json":
        emit(to_json(doc))
    else:
        emit(table(reconcile.rows(doc), reconcile.HEADERS))
        emit("F&O holds every synchronized record" if doc["ok"]
             else "differences between the sync's records and F&O")
    return EXIT_OK if doc["ok"] else EXIT_BLOCKED


@main.command()
@click.option("--renumber", is_flag=True, help="Keep the oldest record's number in each group; renumber the others.")
@click.option("--dry-run", is_flag=True,
              help="With --renumber: show the new numbers it would give, write nothing.")
@click.option("--batch-size", type=click.IntRange(1, 10_000_000), default=DEFAULT_BATCH_SIZE, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@common
def duplicates(settings: Settings, renumber: bool, dry_run: bool, batch_size: int, fmt: str) -> int:
    """List account numbers that collide as keys (case, accents, trailing blanks ignored); exit 3 when any do.

    --renumber shows each renumbered account's old and new number; --renumber --dry-run shows
    the same numbers without writing (exit 3 while the collisions remain)."""
    from p2c_upgrade.db.schema import check_sales_schema
    from p2c_upgrade.plan.renumber import planned_renumbering, renumbered_in_run
    from p2c_upgrade.upgrade.duplicates import collision_groups
    from p2c_upgrade.upgrade.runner import RunOptions, renumber_duplicates

    if dry_run and not renumber:
        raise UsageError("--dry-run goes with --renumber: `p2c-upgrade duplicates --renumber --dry-run`")
    doc: dict[str, Any] = {"version": 1}
    changes = None
    if renumber:
        config = config_of(settings)
        salt = getattr(config, "numbers_salt", "") or ""
        if dry_run:
            changes = planned_renumbering(open_db(settings, read_only=True), salt)
            doc.update(dry_run=True, run_id=None)
        else:
            db = open_db(settings, bulk=True)
            report = renumber_duplicates(db, RunOptions(
                batch_size=batch_size, config=config, salt=salt,
                progress=Progress(enabled=settings.progress)))
            with db.engine.connect() as conn:
                changes = list(renumbered_in_run(conn, report.run_id))
            doc.update(dry_run=False, run_id=report.run_id)
        doc["renumbered"] = [{"id": c.id, "old": c.old, "new": c.new} for c in changes]
    db = open_db(settings, read_only=not renumber or dry_run)
    with translate_errors(db), db.engine.connect() as conn:
        check_sales_schema(conn)
        groups = list(collision_groups(conn))
    if fmt == "json":
        doc["groups"] = [
            {"key": g.key, "members": [{"id": m.id, "number": m.number, "createdon": iso_utc(m.createdon),
                                        "kind": m.kind, "keeps": m.keeps} for m in g.members]}
            for g in groups]
        emit(to_json(doc))
        return EXIT_BLOCKED if groups else EXIT_OK
    if changes is not None:
        if changes:
            emit(table([[c.id, repr(c.old), c.new] for c in changes],
                       ["accountid", "old accountnumber", "new accountnumber"]))
        if dry_run:
            emit(f"--dry-run: --renumber would renumber {len(changes):,} accounts as above "
                 "(nothing was written); the oldest record of each group keeps its number")
        else:
            emit(f"renumbered {len(changes):,} accounts (run {doc['run_id']}, journaled); "
                 "the oldest record of each group kept its number")
    if groups and not dry_run:
        rows = [[i + 1, m.id, repr(m.number), m.kind, m.createdon,
                 "keeps" if m.keeps else "renumbered by --renumber"]
                for i, g in enumerate(groups) for m in g.members]
        emit(table(rows, ["group", "accountid", "accountnumber", "kind", "createdon", "resolution"]))
        emit(f"{len(groups)} groups of colliding account numbers block initial-sync; "
             "resolve with `p2c-upgrade duplicates --renumber`")
    elif not groups:
        emit("no colliding account numbers")
    return EXIT_BLOCKED if groups else EXIT_OK


@main.command()
@click.option("--dir", "directory", default="demo-output", show_default=True,
              type=click.Path(file_okay=False), help="Where the demo databases and package go.")
@click.option("--accounts", type=click.IntRange(10, 1_000_000), default=2000, show_default=True)
@common
def demo(settings: Settings, directory: str, accounts: int) -> int:
    """Build a sample SQLite Sales database and run the whole upgrade and sync on it."""
    from p2c_upgrade.demo.run import run_demo

    if settings.db or settings.schema:
        raise UsageError("demo builds its own SQLite Sales database in --dir and takes no --db or "
                         "--schema; to rehearse on another database, load sample data into it with "
                         "`p2c-upgrade generate --db URL --accounts N` and run the commands there")
    return run_demo(directory, accounts, progress=settings.progress)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown", "html", "csv"]),
              default="table", show_default=True)
@click.option("--output", metavar="FILE", help="Write the report to FILE instead of stdout.")
@click.option("--show-personal-data", is_flag=True, help="Show names in examples.")
@click.option("--target", metavar="fno:URL",
              help="Also run the F&O preflight against this environment (reads only); gaps are plan blockers.")
@common
def plan(settings: Settings, fmt: str, output: str | None, show_personal_data: bool,
         target: str | None) -> int:
    """The dry-run report: what every pending step would change; writes nothing.

    Exit 0 when nothing blocks the upgrade, 3 when a blocker exists (listed first).
    """
    from p2c_upgrade.db.files import refuse_database_file
    from p2c_upgrade.plan import build_plan, write_report

    config = config_of(settings)
    db = open_db(settings, read_only=True)
    if output and output != "-":
        refuse_database_file(db, output)
        check_output_path(output)
    report = build_plan(db, config, show_personal_data=show_personal_data)
    if target:
        from p2c_upgrade.plan.fno import add_fno_preflight

        gaps = add_fno_preflight(report, db, config, target)
        click.echo(f"F&O preflight: {gaps} findings (in the plan's blockers)" if gaps else
                   "F&O preflight: the environment holds every value the records carry", err=True)
    if output and output != "-":
        try:
            out = open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115 - errors below
        except OSError as exc:
            raise UsageError(f"cannot write --output {output}: {exc.strerror}") from None
        with out:
            write_report(report, fmt, out)
        click.echo(f"plan written to {output}", err=True)
    else:
        write_report(report, fmt, sys.stdout)
    return EXIT_BLOCKED if report.has_blockers else EXIT_OK


def check_output_path(output: str) -> None:
    """A usage error, before any work, for an --output that cannot be written."""
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"--output {output} is a directory: give a file name")
    if not folder.is_dir():
        raise UsageError(f"--output {output}: the directory {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"--output {output}: no permission to write there")


#: what `undo --step` takes: the steps that journal, and undo itself
UNDO_STEPS = (*STEP_NAMES, "duplicates-renumber", "undo")


@main.command()
@click.option("--run", "run_id", type=click.IntRange(1, MAX_INTEGER), metavar="ID",
              help="Undo everything this run changed.")
@click.option("--step", "step_name", type=click.Choice(UNDO_STEPS), metavar="NAME",
              help="Undo what this step changed (latest runs first): a step name, "
                   "duplicates-renumber or undo.")
@click.option("--dry-run", is_flag=True, help="Show what undo would restore; write nothing.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@common
def undo(settings: Settings, run_id: int | None, step_name: str | None, dry_run: bool,
         fmt: str) -> int:
    """Restore the old values recorded in the change journal, newest first.

    A value changed since by someone else is left alone and reported as a conflict (exit 3).
    """
    from p2c_upgrade.errors import UsageError
    from p2c_upgrade.undo.apply import undo_changes

    if (run_id is None) == (step_name is None):
        raise UsageError("give exactly one of --run ID or --step NAME")
    db = open_db(settings, read_only=dry_run, bulk=not dry_run)
    result = undo_changes(db, run_id=run_id, step=step_name, dry_run=dry_run,
                          progress=Progress(enabled=settings.progress))
    if fmt == "json":
        emit(to_json(result.to_dict()))
    else:
        headers, rows = result.table()
        emit(table(rows, headers))
        for line in result.notes():
            emit(line)
    return result.exit_code
