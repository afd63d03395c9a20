"""The benchmark: p2c-upgrade against a hand-written set-based baseline, on the same data.

For each scale (`--accounts N`, repeatable) the Sales data is generated once and snapshotted (a
template database on PostgreSQL, a file on SQLite); every contender then starts from its own fresh
copy, in this one process run, so the machine's speed is the same for all:

  baseline        scripts/bench_sql/<dialect>/baseline.sql, one set-based statement per step (child process)
  run             p2c-upgrade run
  run-no-journal  p2c-upgrade run --no-journal
  plan            p2c-upgrade plan --format json (on the data before the upgrade)
  sync-db         p2c-upgrade sync --target <database>  (on a copy already upgraded)
  sync-package    p2c-upgrade sync --target package:DIR (on a copy already upgraded)

Each contender is a child process measured by the operating system (wall time, and peak resident
memory from os.wait4); the median of `--repeat K` runs is reported. The table lists each
contender's total and its steps (from the baseline's own timings and `p2c-upgrade status`), with
rows, rows per second, peak RSS and the ratio to the baseline; then the goals, met or not met.

    scripts/bench --db sqlite --accounts 200000
    scripts/bench --db postgresql://postgres@127.0.0.1:5432/test \
        --accounts 100000 --accounts 1000000
    scripts/bench ... --json            # the same as a JSON document on stdout

On PostgreSQL the URL names the server and a database to connect to for administration; the
benchmark creates its own databases there (p2c_bench_*) and drops them at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from p2c_upgrade.db import sqlfiles

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
STEPS = ("prepare", "account-numbers", "contact-numbers", "active-customers",
         "company-is-account", "duplicate-account-numbers", "initial-sync")
ALL_CONTENDERS = ("baseline", "run", "run-no-journal", "plan", "sync-db", "sync-package")
DEFAULT_CONTENDERS = ALL_CONTENDERS
PG_PREFIX = "p2c_bench"
MB = 1024 * 1024


# =============================================================================================
# Measuring a child process


@dataclass
class Measured:
    argv: list[str]
    seconds: float
    peak_rss: int  # bytes
    exit_code: int
    stdout: str
    stderr: str


# The measured command runs as a child of this small launcher, not of the bench: on Linux a
# process's peak RSS starts at its parent's RSS when forked (the kernel keeps the high-water mark
# across exec), so a child of the bench would report at least the bench's own memory. The launcher
# (python -I -S, about 5 MB) forks the command, waits for it with os.wait4 and writes the
# kernel's accounting of that one child as JSON.
_LAUNCHER = """
import json, os, signal, sys, time
out = sys.argv[1]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
def forward(signum, frame):
    os.kill(pid, signum)
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, forward)
while True:
    try:
        _, status, ru = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
seconds = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status)
with open(out, "w") as f:
    json.dump({"seconds": seconds, "maxrss": ru.ru_maxrss, "exit_code": code,
               "user": ru.ru_utime, "system": ru.ru_stime}, f)
sys.exit(code if 0 <= code < 256 else 1)
"""


TIMEOUT: float | None = None  # seconds a measured command may take (--timeout)


class TimedOut(Exception):
    pass


def measure(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
            ) -> Measured:
    """Run a child; its wall time and peak RSS from the kernel's accounting (os.wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err, \
            tempfile.TemporaryDirectory(prefix="p2c-bench-") as tmp:
        report = Path(tmp) / "rusage.json"
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report), *argv],
                                stdout=out, stderr=err, env=env, cwd=cwd or ROOT)
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()
            raise TimedOut(f"stopped after {TIMEOUT:.0f} s (--timeout)") from None
        except BaseException:  # interrupted: the launcher passes SIGTERM on to the command
            proc.terminate()
            proc.wait()
            raise
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        try:
            usage = json.loads(report.read_text())
        except (OSError, json.JSONDecodeError):
            return Measured(argv, seconds, 0, proc.returncode or 1, stdout,
                            stderr or "the command could not be started")
        # ru_maxrss is in kilobytes on Linux (bytes on macOS)
        rss = int(usage["maxrss"]) * (1 if sys.platform == "darwin" else 1024)
        return Measured(argv, float(usage["seconds"]), rss, int(usage["exit_code"]), stdout,
                        stderr)


def run_checked(argv: list[str], what: str, ok: tuple[int, ...] = (0,)) -> Measured:
    m = measure(argv)
    if m.exit_code not in ok:
        raise BenchError(f"{what} failed (exit {m.exit_code}): {last_line(m.stderr or m.stdout)}")
    return m


def last_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1] if lines else ""


class BenchError(Exception):
    pass


# =============================================================================================
# The baseline: executed by a child process of this very script (`_baseline` sub-command)


def baseline_statements(dialect: str) -> list[tuple[str, str]]:
    """(name, sql) of scripts/bench_sql/<dialect>/baseline.sql in file order, read by the
    product's own SQL loader."""
    return list(sqlfiles.parse_file(ROOT / "scripts" / "bench_sql" / dialect / "baseline.sql").items())


def step_of(statement: str) -> str:
    for step in sorted(STEPS, key=len, reverse=True):
        if statement == step or statement.startswith(step + "-"):
            return step
    return statement


def run_baseline(url: str, schema: str | None = None) -> list[dict[str, Any]]:
    """Execute the baseline statements in order, autocommit; per statement: seconds and rows.
    `schema`: the PostgreSQL schema of the Sales tables (search_path)."""
    results: list[dict[str, Any]] = []
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            for name, sql in baseline_statements("sqlite"):
                started = time.perf_counter()
                cur = conn.execute(sql)
                fetched = cur.fetchall() if cur.description else None
                seconds = time.perf_counter() - started
                results.append({"statement": name, "seconds": seconds,
                                "rows": _rows_of(cur.description, fetched, cur.rowcount)})
        finally:
            conn.close()
        return results
    import psycopg
    import psycopg.sql

    with psycopg.connect(pg_conninfo(url), autocommit=True) as conn:
        if schema:
            conn.execute(psycopg.sql.SQL("SET search_path TO {}").format(
                psycopg.sql.Identifier(schema)))
        for name, sql in baseline_statements("postgresql"):
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute(sql)
                fetched = cur.fetchall() if cur.description else None
                rows = _rows_of(cur.description, fetched, cur.rowcount)
            results.append({"statement": name, "seconds": time.perf_counter() - started,
                            "rows": rows})
    return results


def _rows_of(description: Any, fetched: list[Any] | None, rowcount: int) -> int:
    if fetched is None:
        return max(rowcount, 0)
    if description and len(description) == 1 and description[0][0] == "rows" and fetched:
        return int(fetched[0][0])
    return len(fetched)


def pg_conninfo(url: str) -> str:
    """A libpq URL from a SQLAlchemy one (drop the +driver)."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


# =============================================================================================
# Databases: a template per scale, a fresh copy per contender run


class Store:
    """Where the benchmark's databases live: PostgreSQL databases or SQLite files."""

    kind: str

    def template_url(self) -> str: ...
    def fresh(self, name: str, source: str = "template") -> str: ...
    def snapshot(self, url_name: str, as_name: str) -> None: ...
    def drop_all(self) -> None: ...
    def settle(self) -> None: ...
    def finish_template(self) -> None: ...
    def server_version(self) -> str: ...
    def target_url(self, name: str) -> str: ...


class SqliteStore(Store):
    kind = "sqlite"

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, name: str) -> Path:
        return self.dir / f"{name}.db"

    def url_for(self, name: str) -> str:
        return f"sqlite:///{self._path(name)}"

    def template_url(self) -> str:
        self._remove("template")
        return self.url_for("template")

    def _remove(self, name: str) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            p = Path(str(self._path(name)) + suffix)
            if p.exists():
                p.unlink()

    def fresh(self, name: str, source: str = "template") -> str:
        self._remove(name)
        shutil.copyfile(self._path(source), self._path(name))
        return self.url_for(name)

    def snapshot(self, name: str, as_name: str) -> None:
        self._remove(as_name)
        shutil.copyfile(self._path(name), self._path(as_name))

    def target_url(self, name: str) -> str:
        self._remove(name)
        return self.url_for(name)

    def drop_all(self) -> None:
        for p in self.dir.glob("*.db*"):
            p.unlink()

    def settle(self) -> None:
        os.sync()

    def finish_template(self) -> None:
        with sqlite3.connect(self._path("template")) as conn:
            conn.execute("ANALYZE")

    def server_version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"


class PostgresStore(Store):
    kind = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        self.psycopg = psycopg
        self.base = make_url(url)
        self.admin = psycopg.connect(pg_conninfo(url), autocommit=True)
        self.made: set[str] = set()

    def url_for(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def _db(self, name: str) -> str:
        return f"{PG_PREFIX}_{name}"

    def _drop(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self._db(name)}" WITH (FORCE)')
        self.made.discard(name)

    def _create(self, name: str, template: str | None = None) -> None:
        self._drop(name)
        sql = f'CREATE DATABASE "{self._db(name)}"'
        if template:
            # FILE_COPY: copy the files after a checkpoint, instead of WAL-logging every page.
            sql += f' TEMPLATE "{self._db(template)}" STRATEGY = FILE_COPY'
        self.admin.execute(sql)
        self.made.add(name)

    def template_url(self) -> str:
        self._create("template")
        return self.url_for(self._db("template"))

    def fresh(self, name: str, source: str = "template") -> str:
        self._create(name, source)
        return self.url_for(self._db(name))

    def snapshot(self, name: str, as_name: str) -> None:
        self._create(as_name, name)

    def target_url(self, name: str) -> str:
        self._create(name)
        return self.url_for(self._db(name))

    def drop_all(self) -> None:
        for name in list(self.made):
            self._drop(name)

    def settle(self) -> None:
        self.admin.execute("CHECKPOINT")

    def finish_template(self) -> None:
        # A real Sales database is vacuumed: no contender pays for the hint bits of fresh rows.
        with self.psycopg.connect(pg_conninfo(self.url_for(self._db("template"))),
                                  autocommit=True) as conn:
            conn.execute("VACUUM (FREEZE, ANALYZE)")

    def server_version(self) -> str:
        row = self.admin.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {row[0] if row else '?'}"

    def settings(self) -> dict[str, str]:
        out = {}
        for name in ("shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size",
                     "synchronous_commit"):
            row = self.admin.execute(f"SHOW {name}").fetchone()
            out[name] = row[0] if row else "?"
        return out


# =============================================================================================
# Contenders


def tool() -> list[str]:
    exe = VENV_BIN / "p2c-upgrade"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "p2c_upgrade.cli.main"]


def tool_has(command: str) -> bool:
    try:
        proc = subprocess.run([*tool(), command, "--help"], capture_output=True, text=True,
                              timeout=60, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


@dataclass
class Sample:
    """One measured run of one contender."""

    seconds: float
    peak_rss: int
    exit_code: int
    rows: int | None
    steps: dict[str, dict[str, float]]  # step -> {"seconds", "rows"}
    note: str = ""


@dataclass
class Result:
    contender: str
    samples: list[Sample] = field(default_factory=list)
    skipped: str = ""
    error: str = ""

    @property
    def seconds(self) -> float | None:
        return statistics.median(s.seconds for s in self.samples) if self.samples else None

    @property
    def peak_rss(self) -> int | None:
        return max(s.peak_rss for s in self.samples) if self.samples else None

    @property
    def rows(self) -> int | None:
        vals = [s.rows for s in self.samples if s.rows is not None]
        return int(statistics.median(vals)) if vals else None

    def step_table(self) -> dict[str, dict[str, float]]:
        names: list[str] = []
        for s in self.samples:
            names.extend(n for n in s.steps if n not in names)
        out = {}
        for n in names:
            secs = [s.steps[n]["seconds"] for s in self.samples if n in s.steps]
            rows = [s.steps[n].get("rows", 0) for s in self.samples if n in s.steps]
            coarse = max(s.steps[n].get("coarse", 0.0) for s in self.samples if n in s.steps)
            out[n] = {"seconds": statistics.median(secs), "rows": int(statistics.median(rows)),
                      "coarse": coarse}
        return out


def paired_ratio(a: Result | None, b: Result | None) -> float | None:
    """a's time over b's: the median of the per-round ratios when both ran every round (rounds
    run one after the other, so a slow spell of the machine hits both), else the medians' ratio."""
    if not a or not b or not a.samples or not b.samples:
        return None
    if len(a.samples) == len(b.samples) and len(a.samples) > 1:
        return statistics.median(x.seconds / y.seconds for x, y in zip(a.samples, b.samples,
                                                                       strict=True))
    return (a.seconds or 0.0) / (b.seconds or 1.0)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        db = args.db
        self.own_workdir = not args.workdir and not db.startswith("sqlite:///")
        self.workdir = Path(args.workdir or tempfile.mkdtemp(prefix="p2c-bench-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        if db == "sqlite" or db.startswith("sqlite"):
            if db.startswith("sqlite:///"):
                self.workdir = Path(db.split(":///", 1)[1]).resolve().parent
            self.store: Store = SqliteStore(self.workdir)
        elif db.startswith(("postgresql", "postgres")):
            self.store = PostgresStore(db)
        else:
            raise BenchError(f"--db: 'sqlite', a sqlite:/// URL or a postgresql:// URL, not {db!r}")
        self.dialect = self.store.kind
        self.log_enabled = not args.quiet

    def log(self, text: str) -> None:
        if self.log_enabled:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    # --- one scale ---------------------------------------------------------------------------
    def scale(self, accounts: int) -> dict[str, Any]:
        self.log(f"{self.dialect}, {accounts:,} accounts: generating the template")
        url = self.store.template_url()
        gen = run_checked(
            [sys.executable, "-m", "p2c_upgrade", "generate", "--no-progress", "--db", url,
             "--accounts", str(accounts), "--seed", str(self.args.seed)], "the generator")
        self.log(last_line(gen.stdout))
        self.store.finish_template()
        available = self.available()
        results = {c: Result(c) for c in self.args.contenders}
        for c, reason in available.items():
            if reason:
                results[c].skipped = reason
        upgraded = False
        for rep in range(self.args.repeat):
            for c in self.args.contenders:
                if results[c].skipped or results[c].error:
                    continue
                if c.startswith("sync") and not upgraded:
                    try:
                        self.make_upgraded_template()
                        upgraded = True
                    except BenchError as exc:
                        for s in ("sync-db", "sync-package"):
                            if s in results:
                                results[s].error = f"could not prepare the upgraded copy: {exc}"
                        continue
                self.log(f"{c} ({rep + 1}/{self.args.repeat})")
                try:
                    sample = self.contender(c)
                except (BenchError, TimedOut) as exc:
                    results[c].error = str(exc)
                    self.log(f"  {c}: {exc}")
                    continue
                results[c].samples.append(sample)
                self.log(f"  {sample.seconds:.2f} s, peak RSS {sample.peak_rss / MB:.0f} MB"
                         + (f", {sample.note}" if sample.note else ""))
        return {
            "accounts": accounts,
            "rows": {"account": accounts, "contact": 2 * accounts, "quote": accounts,
                     "salesorder": accounts, "invoice": accounts},
            "generate_seconds": round(gen.seconds, 2),
            "results": results,
        }

    def available(self) -> dict[str, str]:
        out = {}
        for c in self.args.contenders:
            command = {"baseline": "", "run": "run", "run-no-journal": "run", "plan": "plan",
                       "sync-db": "sync", "sync-package": "sync"}[c]
            out[c] = ""
            if command and not tool_has(command):
                out[c] = f"`p2c-upgrade {command}` is not available yet"
        return out

    def db_args(self, url: str) -> list[str]:
        return ["--db", url]

    def make_upgraded_template(self) -> None:
        """A copy upgraded by `p2c-upgrade run`, duplicates renumbered: where syncs start."""
        self.log("preparing the upgraded copy for the sync contenders")
        url = self.store.fresh("upgraded_work")
        run_checked([*tool(), "run", *self.db_args(url), "--no-progress"], "run", ok=(0, 3))
        run_checked([*tool(), "duplicates", *self.db_args(url), "--renumber", "--no-progress"],
                    "duplicates --renumber", ok=(0, 3))
        self.store.snapshot("upgraded_work", "upgraded")

    def contender(self, name: str) -> Sample:
        if name == "baseline":
            url = self.store.fresh("run")
            self.store.settle()
            m = measure([sys.executable, str(Path(__file__).resolve()), "_baseline", "--db", url])
            if m.exit_code != 0:
                raise BenchError(f"baseline failed: {last_line(m.stderr)}")
            steps: dict[str, dict[str, float]] = {}
            for st in json.loads(m.stdout):
                step = steps.setdefault(step_of(st["statement"]), {"seconds": 0.0, "rows": 0})
                step["seconds"] += st["seconds"]
                if not st["statement"].endswith("-sequence"):  # bookkeeping: the counter row
                    step["rows"] += st["rows"]
            rows = sum(int(s["rows"]) for n, s in steps.items() if n != "duplicate-account-numbers")
            return Sample(m.seconds, m.peak_rss, 0, rows, steps)
        if name in ("run", "run-no-journal"):
            url = self.store.fresh("run")
            self.store.settle()
            argv = [*tool(), "run", *self.db_args(url), "--no-progress"]
            if name == "run-no-journal":
                argv.append("--no-journal")
            if self.args.batch_size:
                argv += ["--batch-size", str(self.args.batch_size)]
            m = measure(argv)
            if m.exit_code not in (0, 3):
                raise BenchError(f"exit {m.exit_code}: {last_line(m.stderr or m.stdout)}")
            steps = self.tool_steps(url)
            rows = sum(int(s.get("rows", 0)) for n, s in steps.items()
                       if n not in ("duplicate-account-numbers", "initial-sync"))
            note = "exit 3 (blocked by the planted duplicates)" if m.exit_code == 3 else ""
            return Sample(m.seconds, m.peak_rss, m.exit_code, rows, steps, note)
        if name == "plan":
            url = self.store.fresh("run")
            self.store.settle()
            out = self.workdir / "plan.json"
            m = measure([*tool(), "plan", *self.db_args(url), "--no-progress", "--format", "json",
                         "--output", str(out)])
            if m.exit_code not in (0, 3):
                raise BenchError(f"exit {m.exit_code}: {last_line(m.stderr or m.stdout)}")
            rows, steps = plan_rows(out)
            return Sample(m.seconds, m.peak_rss, m.exit_code, rows, steps)
        if name in ("sync-db", "sync-package"):
            url = self.store.fresh("run", source="upgraded")
            if name == "sync-db":
                target = self.sync_target_url()
            else:
                pkg = self.workdir / "package"
                shutil.rmtree(pkg, ignore_errors=True)
                target = f"package:{pkg}"
            self.store.settle()
            m = measure([*tool(), "sync", *self.db_args(url), "--no-progress", "--format", "json",
                         "--target", target])
            # exit 3: some records failed on their data (the generator plants unknown countries)
            if m.exit_code not in (0, 3):
                raise BenchError(f"exit {m.exit_code}: {last_line(m.stderr or m.stdout)}")
            records = sync_records(m.stdout)
            if records is None:
                records = self.sync_records_from_status(url)
            steps = {"initial-sync": {"seconds": m.seconds, "rows": records or 0}}
            note = "exit 3 (records failed on their data)" if m.exit_code == 3 else ""
            return Sample(m.seconds, m.peak_rss, m.exit_code, records, steps, note)
        raise BenchError(f"unknown contender {name}")

    def sync_target_url(self) -> str:
        if self.args.sync_target:
            return self.args.sync_target
        path = self.workdir / "fno.db"
        for suffix in ("", "-journal", "-wal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"

    def tool_steps(self, url: str) -> dict[str, dict[str, float]]:
        proc = subprocess.run([*tool(), "status", *self.db_args(url), "--format", "json"],
                              capture_output=True, text=True, cwd=ROOT)
        try:
            doc = json.loads(proc.stdout)
        except json.JSONDecodeError:
            return {}
        return status_steps(doc)

    def sync_records_from_status(self, url: str) -> int | None:
        proc = subprocess.run([*tool(), "status", *self.db_args(url), "--format", "json"],
                              capture_output=True, text=True, cwd=ROOT)
        try:
            steps = status_steps(json.loads(proc.stdout))
        except json.JSONDecodeError:
            return None
        if "initial-sync" in steps:
            return int(steps["initial-sync"].get("rows", 0))
        return None

    def close(self) -> None:
        if not self.args.keep:
            self.store.drop_all()
            if self.own_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)
        if isinstance(self.store, PostgresStore):
            self.store.admin.close()


# --- reading the tool's documents ------------------------------------------------------------

def _first(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return None


def status_steps(doc: Any) -> dict[str, dict[str, float]]:
    """Per step: seconds and rows changed, from `p2c-upgrade status --format json`."""
    items = doc.get("steps", []) if isinstance(doc, dict) else doc
    if isinstance(items, dict):
        items = [{"name": k, **v} for k, v in items.items()]
    out: dict[str, dict[str, float]] = {}
    for item in items or []:
        if not isinstance(item, dict):
            continue
        name = _first(item, "step", "name")
        if not name:
            continue
        secs = _first(item, "seconds", "duration_seconds", "elapsed_seconds", "duration")
        coarse = 0.0
        if secs is None:
            started, finished = _first(item, "started_at", "started"), _first(
                item, "finished_at", "finished")
            secs = _seconds_between(started, finished)
            # whole-second time stamps: the step's time is only known to about a second
            coarse = 0.0 if "." in str(started) and "." in str(finished) else 1.0
        rows = _first(item, "rows_changed", "rows", "changed")
        out[str(name)] = {"seconds": float(secs or 0.0), "rows": int(rows or 0),
                          "coarse": coarse}
    return out


def _seconds_between(a: Any, b: Any) -> float | None:
    try:
        delta = dt.datetime.fromisoformat(str(b)) - dt.datetime.fromisoformat(str(a))
        return delta.total_seconds()
    except (TypeError, ValueError):
        return None


def plan_rows(path: Path) -> tuple[int | None, dict[str, dict[str, float]]]:
    """Records the plan covers: the sum of what each pending step would change."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None, {}
    steps = doc.get("steps") if isinstance(doc, dict) else None
    if isinstance(steps, dict):
        steps = [{"name": k, **v} for k, v in steps.items() if isinstance(v, dict)]
    total = 0
    found = False
    for item in steps or []:
        if not isinstance(item, dict):
            continue
        n = _first(item, "changes", "would_change", "rows", "count", "records")
        if isinstance(n, int) and _first(item, "step", "name") not in (
                "duplicate-account-numbers", "initial-sync"):
            total += n
            found = True
    return (total if found else None), {}


def sync_records(stdout: str) -> int | None:
    """Records the sync processed (selected by its tasks), from its JSON summary on stdout."""
    text = stdout.strip()
    start = text.find("{")
    if start < 0:
        return None
    try:
        doc, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    total = _first(doc, "records", "selected", "total")
    if isinstance(total, int):
        return total
    tasks = doc.get("tasks")
    if isinstance(tasks, list):
        n = 0
        for t in tasks:
            if not isinstance(t, dict):
                continue
            if isinstance(t.get("selected"), int):
                n += t["selected"]
            else:
                n += sum(int(t.get(k, 0) or 0)
                         for k in ("inserted", "updated", "unchanged", "skipped", "failed"))
        return n
    return None


# =============================================================================================
# Report


@dataclass
class Goal:
    text: str
    dialect: str
    accounts: int | None
    status: str = "not measured"
    value: str = ""
    detail: str = ""


def evaluate_goals(dialect: str, scales: list[dict[str, Any]]) -> list[Goal]:
    goals: list[Goal] = []
    by_n = {s["accounts"]: s["results"] for s in scales}

    def pick(target: int) -> tuple[int, dict[str, Result]] | None:
        if not by_n:
            return None
        n = target if target in by_n else max(by_n)
        return n, by_n[n]

    def judge(goal: Goal, ok: bool | None, value: str, n: int | None) -> None:
        if ok is None:
            goal.status = "not measured"
            goal.value = value
            return
        goal.status = "met" if ok else "NOT MET"
        goal.value = value
        if goal.accounts is not None and n is not None and n != goal.accounts:
            goal.detail = f"measured at {n:,} accounts; the goal is stated at {goal.accounts:,}"

    if dialect == "postgresql":
        g = Goal("run <= 1.0x baseline", "postgresql", 1_000_000)
        p = pick(1_000_000)
        if p:
            n, res = p
            x = paired_ratio(res.get("run"), res.get("baseline"))
            judge(g, None if x is None else x <= 1.0, "" if x is None else f"{x:.2f}x", n)
        goals.append(g)
        g = Goal("plan <= 0.5x run", "postgresql", 1_000_000)
        if p:
            n, res = p
            x = paired_ratio(res.get("plan"), res.get("run"))
            judge(g, None if x is None else x <= 0.5, "" if x is None else f"{x:.2f}x", n)
        goals.append(g)
        for c in ("run", "plan", "sync-db", "sync-package"):
            g = Goal(f"peak RSS of {c} < 150 MB", "postgresql", 1_000_000)
            if p:
                n, res = p
                r = res.get(c)
                rss = r.peak_rss if r and r.samples else None
                judge(g, None if rss is None else rss < 150 * MB,
                      "" if rss is None else f"{rss / MB:.0f} MB", n)
            goals.append(g)
        for c in ("run", "plan", "sync-db", "sync-package"):
            g = Goal(f"peak RSS of {c} grows < 10% from 100k to 1M accounts", "postgresql", None)
            small, big = by_n.get(100_000), by_n.get(1_000_000)
            if small and big and small.get(c) and big.get(c) and small[c].samples \
                    and big[c].samples:
                a, b = small[c].peak_rss or 0, big[c].peak_rss or 0
                growth = f"{a / MB:.0f} -> {b / MB:.0f} MB ({(b / a - 1) * 100:+.0f}%)"
                judge(g, b < 1.10 * a, growth, None)
            elif small and big:
                g.detail = f"{c} was not measured at both scales"
            else:
                g.detail = "needs --accounts 100000 --accounts 1000000 in one bench run"
            goals.append(g)
        for c, floor in (("sync-db", 20_000), ("sync-package", 50_000)):
            g = Goal(f"{c} >= {floor:,} records/s", "postgresql", 1_000_000)
            if p:
                n, res = p
                r = res.get(c)
                if r and r.samples and r.rows and r.seconds:
                    rate = r.rows / r.seconds
                    judge(g, rate >= floor, f"{rate:,.0f} records/s", n)
            goals.append(g)
    else:
        g = Goal("run <= 1.5x baseline", "sqlite", 200_000)
        p = pick(200_000)
        if p:
            n, res = p
            x = paired_ratio(res.get("run"), res.get("baseline"))
            judge(g, None if x is None else x <= 1.5, "" if x is None else f"{x:.2f}x", n)
        goals.append(g)
    g = Goal("journal overhead: run vs run --no-journal <= 30%", dialect, None)
    if by_n:
        n = max(by_n)
        res = by_n[n]
        x = paired_ratio(res.get("run"), res.get("run-no-journal"))
        judge(g, None if x is None else x <= 1.30, "" if x is None else f"{(x - 1) * 100:+.0f}%",
              None)
        if x is not None:
            g.detail = f"at {n:,} accounts"
    goals.append(g)
    return goals


def table_rows(scale: dict[str, Any]) -> list[dict[str, Any]]:
    results: dict[str, Result] = scale["results"]
    base = results.get("baseline")
    base_total = base.seconds if base and base.samples else None
    base_steps = base.step_table() if base and base.samples else {}
    rows: list[dict[str, Any]] = []
    for name, r in results.items():
        if r.skipped or (r.error and not r.samples):
            rows.append({"contender": name, "step": "(total)", "seconds": None, "rows": None,
                         "rows_per_second": None, "peak_rss_mb": None, "ratio": None,
                         "note": r.skipped or f"error: {r.error}"})
            continue
        secs = r.seconds or 0.0
        rows.append({
            "contender": name, "step": "(total)", "seconds": round(secs, 3), "rows": r.rows,
            "rows_per_second": round(r.rows / secs) if r.rows and secs else None,
            "peak_rss_mb": round((r.peak_rss or 0) / MB, 1),
            "ratio": round(paired_ratio(r, base) or 0.0, 2) if base_total
            and name != "baseline" and not name.startswith("sync") else None,
            "note": "; ".join(sorted({s.note for s in r.samples if s.note}))
            + (f" error: {r.error}" if r.error else ""),
        })
        if name == "plan" or name.startswith("sync"):
            continue
        for step, v in r.step_table().items():
            b = base_steps.get(step)
            coarse = bool(v.get("coarse"))
            if coarse and v["seconds"] < 5:
                b = None  # no ratio from a time known only to the second
            rows.append({
                "contender": name, "step": step, "seconds": round(v["seconds"], 3),
                "rows": int(v["rows"]),
                "rows_per_second": round(v["rows"] / v["seconds"]) if v["rows"] and v["seconds"]
                else None,
                "peak_rss_mb": None,
                "ratio": round(v["seconds"] / b["seconds"], 2)
                if b and b["seconds"] > 0 and name != "baseline" else None,
                "note": "", "coarse": coarse,
            })
    return rows


COARSE_LEGEND = ("  ~: the step's time from `p2c-upgrade status`, whose time stamps are whole "
                 "seconds (no rate or ratio below 5 s)")


def _secs(r: dict[str, Any]) -> str:
    if r["seconds"] is None:
        return ""
    return f"~{r['seconds']:.0f}" if r.get("coarse") else f"{r['seconds']:.2f}"


def _rate(r: dict[str, Any]) -> str:
    if r["rows_per_second"] is None or (r.get("coarse") and (r["seconds"] or 0) < 5):
        return ""
    return f"{r['rows_per_second']:,}"


HEADER = ["contender", "step", "seconds", "rows", "rows/s", "peak RSS MB", "x baseline", "note"]
ALIGN = ("left", "left", "right", "right", "right", "right", "right", "left")


def _table_rows(scale: dict[str, Any], *, markdown: bool) -> list[list[str]]:
    """One scale's results, a row per contender and step (the contender named on its total)."""
    rows = []
    for r in scale["table"]:
        total = r["step"] == "(total)"
        contender = (f"**{r['contender']}**" if markdown else r["contender"]) if total else ""
        rows.append([
            contender,
            "total" if total else r["step"],
            _secs(r),
            "" if r["rows"] is None else f"{r['rows']:,}",
            _rate(r),
            "" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}",
            "" if r["ratio"] is None else f"{r['ratio']:.2f}x",
            r["note"].replace("|", "/") if markdown else r["note"],
        ])
    return rows


def render_text(doc: dict[str, Any]) -> str:
    out = [f"p2c-upgrade benchmark, {doc['date']} (code {doc.get('code', 'unknown')}) on "
           f"{doc['machine']['summary']}"]
    for scale in doc["scales"]:
        out.append("")
        out.append(f"{doc['database']} at {scale['accounts']:,} accounts "
                   f"({6 * scale['accounts']:,} Sales rows; generated in "
                   f"{scale['generate_seconds']:.1f} s), median of {doc['repeat']}")
        out.append(tabulate(_table_rows(scale, markdown=False), HEADER, tablefmt="simple",
                            colalign=ALIGN, disable_numparse=True))
        if any(r.get("coarse") for r in scale["table"]):
            out.append(COARSE_LEGEND)
    out.append("")
    out.append("Goals")
    for g in doc["goals"]:
        value = f" ({g['value']})" if g["value"] else ""
        detail = f" - {g['detail']}" if g["detail"] else ""
        out.append(f"  [{g['status']}] {g['goal']}{value}{detail}")
    return "\n".join(out)


def render_markdown(doc: dict[str, Any]) -> str:
    """The same report as a Markdown document (for docs/performance.md)."""
    out = [f"Measured {doc['date']} (code {doc.get('code', 'unknown')}) on "
           f"{doc['machine']['summary']}, {doc['database']}"
           + (f" ({', '.join(f'{k} {v}' for k, v in doc['server_settings'].items())})"
              if doc.get("server_settings") else "") + ".", "",
           f"    {doc['command']}", ""]
    for scale in doc["scales"]:
        out.append(f"**{scale['accounts']:,} accounts** ({6 * scale['accounts']:,} Sales rows, "
                   f"generated in {scale['generate_seconds']:.1f} s), median of {doc['repeat']}:")
        out.append("")
        out.append(tabulate(_table_rows(scale, markdown=True), HEADER, tablefmt="github",
                            colalign=ALIGN, disable_numparse=True))
        out.append("")
        if any(r.get("coarse") for r in scale["table"]):
            out.append(COARSE_LEGEND.strip() + "\n")
    out.append(tabulate([[g["goal"], g["status"], g["value"], g["detail"]] for g in doc["goals"]],
                        ["goal", "status", "value", "detail"], tablefmt="github", disable_numparse=True))
    return "\n".join(out) + "\n"


def code_version() -> str:
    """The commit measured, and whether the tool's files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=ROOT, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "p2c_upgrade", "sql"],
                               capture_output=True, text=True, cwd=ROOT, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return f"{head}{' with uncommitted changes' if dirty else ''}" if head else "unknown"


def machine() -> dict[str, Any]:
    cpus = os.cpu_count() or 0
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": cpus, "memory": mem, "python": platform.python_version(),
            "platform": platform.platform(),
            "summary": f"{cpus} cores, {mem}, Python {platform.python_version()}"}


# =============================================================================================
# Command line


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Benchmark p2c-upgrade against a hand-written set-based SQL baseline.",
    )
    p.add_argument("--db", default="sqlite",
                   help="'sqlite' (a temporary directory), sqlite:///PATH (template file there) or "
                        "a postgresql:// URL (the server; the bench creates p2c_bench_* databases)")
    p.add_argument("--accounts", type=int, action="append",
                   help="scale N: N accounts, 2N contacts, N each of quotes, orders, invoices "
                        "(repeatable; default 10000)")
    p.add_argument("--repeat", type=int, default=1, help="runs per contender; the median counts")
    p.add_argument("--contenders", default=",".join(DEFAULT_CONTENDERS),
                   help=f"comma-separated, from {','.join(ALL_CONTENDERS)}")
    p.add_argument("--batch-size", type=int, help="passed to p2c-upgrade run")
    p.add_argument("--sync-target", help="the database URL sync-db writes to (default: a SQLite "
                                         "file in the work directory)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", help="directory for SQLite files, plan output and packages")
    p.add_argument("--json", action="store_true", help="print the results as a JSON document")
    p.add_argument("--markdown", action="store_true", help="print the results as Markdown")
    p.add_argument("--render", metavar="FILE",
                   help="measure nothing: print the JSON document FILE (from --output) again")
    p.add_argument("--output", help="also write the JSON document to this file")
    p.add_argument("--keep", action="store_true", help="keep the databases and files")
    p.add_argument("--timeout", type=float,
                   help="stop a measured command after this many seconds (recorded as an error)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = p.parse_args(argv)
    args.accounts = args.accounts or [10_000]
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = [c for c in args.contenders if c not in ALL_CONTENDERS]
    if unknown:
        p.error(f"unknown contender(s): {', '.join(unknown)}")
    if args.repeat < 1 or any(n < 1 for n in args.accounts):
        p.error("--repeat and --accounts must be positive")
    return args


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # the databases get dropped on the way out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _terminate)
    if argv[:1] == ["_baseline"]:
        sub = argparse.ArgumentParser(prog="bench.py _baseline")
        sub.add_argument("--db", required=True)
        sub.add_argument("--schema")
        a = sub.parse_args(argv[1:])
        print(json.dumps(run_baseline(a.db, a.schema)))
        return 0
    args = parse(argv)
    global TIMEOUT
    TIMEOUT = args.timeout
    if args.render:
        doc = json.loads(Path(args.render).read_text(encoding="utf-8"))
        for scale in doc["scales"]:  # documents of earlier versions
            for row in scale["table"]:
                if row["note"].startswith("+/- 1 s"):
                    row["note"], row["coarse"] = "", True
        print(json.dumps(doc, indent=2) if args.json
              else render_markdown(doc) if args.markdown else render_text(doc))
        return 0
    try:
        bench = Bench(args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    scales = []
    try:
        for n in args.accounts:
            scales.append(bench.scale(n))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        version = bench.store.server_version()
        pg_settings = bench.store.settings() if isinstance(bench.store, PostgresStore) else {}
        bench.close()
    doc = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": "scripts/bench " + " ".join(argv),
        "code": code_version(),
        "database": version,
        "server_settings": pg_settings,
        "machine": machine(),
        "repeat": args.repeat,
        "scales": [],
        "goals": [],
    }
    for s in scales:
        doc["scales"].append({
            "accounts": s["accounts"], "rows": s["rows"],
            "generate_seconds": s["generate_seconds"],
            "table": table_rows(s),
            "samples": {name: [vars(x) for x in r.samples] for name, r in s["results"].items()},
        })
    doc["goals"] = [
        {"goal": g.text, "status": g.status, "value": g.value, "detail": g.detail}
        for g in evaluate_goals(bench.dialect, scales)
    ]
    if args.output:
        Path(args.output).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2) if args.json
          else render_markdown(doc) if args.markdown else render_text(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
