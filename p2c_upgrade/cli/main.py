"""The `p2c-upgrade` command line: parse options, call the core, render, map errors to exit codes.

Exit codes (the contract): 0 done; 1 unexpected failure; 2 usage error; 3 blocked by the data;
4 another run holds the database's upgrade lock.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from p2c_upgrade import __version__
from p2c_upgrade.db.connection import (
    DEFAULT_LOCK_TIMEOUT_S,
    ENV_URL,
    SQLITE_CACHE_KIB,
    Database,
    mask_secrets,
    open_database,
)
from p2c_upgrade.errors import EXIT_BLOCKED, EXIT_FAILURE, EXIT_OK, P2CError
from p2c_upgrade.progress import Progress
from p2c_upgrade.render import emit, table, to_json
from p2c_upgrade.upgrade.registry import STEP_NAMES
from p2c_upgrade.upgrade.runner import DEFAULT_BATCH_SIZE

DEBUG_FLAG = "--debug"


class Settings:
    """Options given before the command; the command's own options win."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.schema: str | None = None
        self.config: str | None = None
        self.debug = False
        self.progress = True
        self.lock_timeout: float | None = None


def _merge(ctx: click.Context, kwargs: dict[str, Any]) -> Settings:
    base: Settings = ctx.find_object(Settings) or Settings()
    s = Settings()
    s.db = kwargs.pop("db", None) or base.db
    s.schema = kwargs.pop("schema", None) or base.schema
    s.config = kwargs.pop("config", None) or base.config
    s.debug = kwargs.pop("debug", False) or base.debug
    s.progress = kwargs.pop("progress", True) and base.progress
    s.lock_timeout = kwargs.pop("lock_timeout", None) or base.lock_timeout
    return s


_SHARED_OPTIONS = (
    click.option("--db", "db", metavar="URL", help=f"SQLAlchemy URL of the Sales database (or ${ENV_URL})."),
    click.option("--schema", metavar="NAME", help="PostgreSQL schema that holds the Sales tables."),
    click.option("--config", metavar="FILE", help="TOML configuration file (sync defaults, value maps, salt)."),
    click.option("--no-progress", "progress", flag_value=False, default=True, help="No progress bars."),
    click.option(DEBUG_FLAG, "debug", is_flag=True, help="Show tracebacks of unexpected failures."),
    click.option("--lock-timeout", type=click.FloatRange(0.1, 86_400), metavar="SECONDS",
                 help="How long to wait for a lock another session holds on a table (default 30)."),
)


def shared_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options accepted both before the command name and after it."""
    for option in reversed(_SHARED_OPTIONS):
        func = option(func)
    return func


def common(func: Callable[..., int | None]) -> Callable[..., None]:
    """Database and output options on every command, and the error boundary."""

    @shared_options
    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, **kwargs: Any) -> None:
        settings = _merge(ctx, kwargs)
        try:
            code = func(settings, **kwargs)
        except P2CError as exc:
            _fail(settings, exc, exc.message, exc.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted; run the same command again to resume", err=True)
            ctx.exit(EXIT_FAILURE)
        except Exception as exc:  # noqa: BLE001 - the boundary: one line, no traceback
            _fail(settings, exc, f"unexpected failure: {type(exc).__name__}: {exc}", EXIT_FAILURE)
        ctx.exit(code or EXIT_OK)

    return wrapper


def _fail(settings: Settings, exc: BaseException, message: str, code: int) -> None:
    secrets = _secrets(settings)
    if settings.debug:
        click.echo(mask_secrets("".join(traceback.format_exception(exc)), secrets), err=True)
    line = mask_secrets(str(message).splitlines()[0] if message else type(exc).__name__, secrets)
    click.echo(f"error: {line}", err=True)
    sys.exit(code)


def _secrets(settings: Settings) -> list[str]:
    from p2c_upgrade.db.connection import parse_url, resolve_url

    try:
        url = parse_url(resolve_url(settings.db))
        return [url.password] if url.password else []
    except P2CError:
        return []


def _open(settings: Settings, *, read_only: bool = False, bulk: bool = False) -> Database:
    """The Sales database; `bulk` for the commands that rewrite its tables (a larger SQLite
    page cache)."""
    timeout = settings.lock_timeout if settings.lock_timeout is not None else DEFAULT_LOCK_TIMEOUT_S
    return open_database(settings.db, settings.schema, read_only=read_only, lock_timeout=timeout,
                         sqlite_cache_kib=SQLITE_CACHE_KIB if bulk else None)


def _config(settings: Settings) -> Any:
    from p2c_upgrade.config import load_config

    return load_config(settings.config)


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
    4 another run holds the database's upgrade lock.
    """
    ctx.obj = _merge(ctx, kwargs)


@main.command()
@click.option("--step", "steps", multiple=True, type=click.Choice(STEP_NAMES), help="Only this step (repeatable).")
@click.option("--batch-size", type=click.IntRange(1, 10_000_000), default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Rows per batch; each batch commits with its progress record.")
@click.option("--target", metavar="URL|package:DIR", help="Run initial-sync to this target at the end.")
@click.option("--no-journal", "journal", flag_value=False, default=True,
              help="Do not record old values in p2c_journal (no undo; for measurements).")
@click.option("--show-personal-data", is_flag=True, help="Show names in sync errors.")
@common
def run(settings: Settings, steps: tuple[str, ...], batch_size: int, target: str | None,
        journal: bool, show_personal_data: bool) -> int:
    """Apply the pending steps in order; resumes where a stopped run left off."""
    from p2c_upgrade.upgrade.runner import RunOptions, run_upgrade

    config = _config(settings)
    db = _open(settings, bulk=True)
    target = target or getattr(config, "sync_target", None)
    progress = Progress(enabled=settings.progress)
    report = run_upgrade(db, RunOptions(
        steps=list(steps) or None, batch_size=batch_size, journal=journal,
        salt=getattr(config, "numbers_salt", "") or "", target=target, config=config,
        show_personal_data=show_personal_data, progress=progress,
    ))
    rows = [[o.step, o.state, f"{o.rows_changed:,}", o.batches, f"{o.seconds:.1f}", o.detail or ""]
            for o in report.outcomes]
    emit(table(rows, ["step", "state", "rows changed", "batches", "seconds", "detail"]))
    emit(f"run {report.run_id}: {report.rows_changed:,} rows changed")
    if report.sync_summary is not None:
        emit(report.sync_summary.to_text())
    for reason in report.blocked:
        emit(f"BLOCKED: {reason}")
    return EXIT_BLOCKED if report.sync_failed else EXIT_OK


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@common
def status(settings: Settings, fmt: str) -> int:
    """Each step's state, rows changed, times and last error."""
    from p2c_upgrade.upgrade.status import status_document

    doc = status_document(_open(settings, read_only=True))
    if fmt == "json":
        emit(to_json(doc))
        return EXIT_OK
    rows = [[s["step"], s["state"], f"{s['rows_changed']:,}", s["run_id"] or "",
             s["started_at"] or "", s["finished_at"] or "", s["error"] or s["detail"] or ""]
            for s in doc["steps"]]
    emit(table(rows, ["step", "state", "rows changed", "run", "started", "finished", "detail / error"]))
    if doc["lock"]["held"]:
        emit(f"a run is in progress: {doc['lock']['holder']}")
    return EXIT_OK


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@common
def verify(settings: Settings, fmt: str) -> int:
    """Check the upgrade's post-conditions; exit 3 when one fails."""
    from p2c_upgrade.upgrade.status import verify_checks

    checks = verify_checks(_open(settings, read_only=True))
    failed = [c for c in checks if not c["ok"]]
    if fmt == "json":
        emit(to_json({"version": 1, "ok": not failed, "checks": checks}))
    else:
        rows = [[c["check"], "ok" if c["ok"] else "FAIL", "; ".join(c["failures"])] for c in checks]
        emit(table(rows, ["check", "result", "failures"]))
        emit("all checks pass" if not failed else f"{len(failed)} checks fail")
    return EXIT_BLOCKED if failed else EXIT_OK


@main.command()
@click.option("--renumber", is_flag=True, help="Keep the oldest record's number in each group; renumber the others.")
@click.option("--batch-size", type=click.IntRange(1, 10_000_000), default=DEFAULT_BATCH_SIZE, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@common
def duplicates(settings: Settings, renumber: bool, batch_size: int, fmt: str) -> int:
    """List account numbers that collide as F&O compares them; exit 3 when any do."""
    from p2c_upgrade.upgrade.duplicates import collision_groups
    from p2c_upgrade.upgrade.runner import RunOptions, renumber_duplicates

    if renumber:
        config = _config(settings)
        db = _open(settings, bulk=True)
        report = renumber_duplicates(db, RunOptions(
            batch_size=batch_size, salt=getattr(config, "numbers_salt", "") or "",
            progress=Progress(enabled=settings.progress)))
        emit(f"renumbered {report.rows_changed:,} accounts (run {report.run_id}, journaled); "
             "the oldest record of each group kept its number")
    db = _open(settings, read_only=not renumber)
    with db.engine.connect() as conn:
        groups = list(collision_groups(conn))
    if fmt == "json":
        emit(to_json({"version": 1, "groups": [
            {"key": g.key, "members": [{"id": m.id, "number": m.number, "createdon": m.createdon,
                                        "kind": m.kind, "keeps": m.keeps} for m in g.members]}
            for g in groups]}))
    elif groups:
        rows = [[i + 1, m.id, repr(m.number), m.kind, m.createdon,
                 "keeps" if m.keeps else "renumbered by --renumber"]
                for i, g in enumerate(groups) for m in g.members]
        emit(table(rows, ["group", "accountid", "accountnumber", "kind", "createdon", "resolution"]))
        emit(f"{len(groups)} groups of colliding account numbers block initial-sync; "
             "resolve with `p2c-upgrade duplicates --renumber`")
    else:
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

    return run_demo(directory, accounts, progress=settings.progress)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown", "html", "csv"]),
              default="table", show_default=True)
@click.option("--output", metavar="FILE", help="Write the report to FILE instead of stdout.")
@click.option("--show-personal-data", is_flag=True, help="Show names in examples.")
@common
def plan(settings: Settings, fmt: str, output: str | None, show_personal_data: bool) -> int:
    """The dry-run report: what every pending step would change; writes nothing.

    Exit 0 when nothing blocks the upgrade, 3 when a blocker exists (listed first).
    """
    from p2c_upgrade.plan import build_plan, write_report

    config = _config(settings)
    db = _open(settings, read_only=True)
    report = build_plan(db, config, show_personal_data=show_personal_data)
    if output and output != "-":
        with open(output, "w", encoding="utf-8", newline="") as out:
            write_report(report, fmt, out)
        click.echo(f"plan written to {output}", err=True)
    else:
        write_report(report, fmt, sys.stdout)
    return EXIT_BLOCKED if report.has_blockers else EXIT_OK


@main.command()
@click.option("--target", metavar="URL|package:DIR", help="A database for the F&O entities, or package:DIR.")
@click.option("--batch-size", type=click.IntRange(1, 1_000_000), default=None,
              help="Records per batch (default: [sync] batch_size of the configuration, else 5000).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--show-personal-data", is_flag=True, help="Show names in sync errors.")
@common
def sync(settings: Settings, target: str | None, batch_size: int | None, fmt: str,
         show_personal_data: bool) -> int:
    """The initial full sync to F&O; a rerun retries what did not sync.

    Exit 0 when every selected record synchronized, 3 while duplicate account numbers exist
    (nothing is written) or when records failed on their data (they are listed).
    """
    from p2c_upgrade.db.lock import UpgradeLock
    from p2c_upgrade.errors import UsageError
    from p2c_upgrade.sync import run_sync

    config = _config(settings)
    target = target or getattr(config, "sync_target", None)
    if not target:
        raise UsageError("no target: give --target URL or --target package:DIR "
                         "(or [sync] target in the configuration file)")
    db = _open(settings)
    with UpgradeLock(db, "sync"):  # one writer of the Sales database's state at a time
        summary = run_sync(db, target, config, batch_size=batch_size or config.sync_batch_size,
                           progress=Progress(enabled=settings.progress),
                           show_personal_data=show_personal_data)
    if fmt == "json":
        emit(to_json(summary.to_dict()))
    else:
        emit(summary.to_text())
    return summary.exit_code


@main.command()
@click.option("--run", "run_id", type=int, help="Undo everything this run changed.")
@click.option("--step", "step_name", metavar="NAME", help="Undo what this step changed (latest runs first).")
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
    db = _open(settings, read_only=dry_run, bulk=not dry_run)
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
