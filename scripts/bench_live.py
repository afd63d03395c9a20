"""Benchmark of `pull` and `push` against the Dataverse stand-in, beside the ceilings the settings allow.

For each `--records N` (repeatable) the stand-in (`<repo>/../shared/standins/dataverse`, or
`$P2C_SHARED_DIR/standins/dataverse`) gets a fresh org of N records (40% accounts, 40% contacts,
20% quotes/orders/invoices), served over TLS with:

- the documented service protection limits (per user, sliding 300 s: 6,000 requests, 1,200 s of
  execution time, 52 concurrent; FACTS.md) scaled down in time by `--scale` (10: a 30 s window
  with 600 requests and 120 s of execution; the rates are the documented ones), and
- its latency model (`LatencyConfig`: `--latency request=S,record=S`, added to every response).

Then `p2c-upgrade pull`, `run` and `push` run as child processes into a SQLite working copy; each
child's wall time and peak RSS come from os.wait4. Printed per N:

- pull: records/s measured vs the paging ceiling: pages of `page_size` one after another, each
  taking the modelled latency, and no faster than the request limit allows
  (requests per window x page_size per window);
- push: records/s measured vs the ceiling from the limits: requests per window x records per
  request, concurrency x batch size / latency of a batch, and the execution-time limit
  (execution seconds per window / latency of a batch x batch size), each allowing the first
  window's budget at once (a short run may beat the steady rate);
- the ratio measured/ceiling (goal >= 0.8), 429s seen, the stand-in's own service time per
  page/`$batch` request beyond the modelled latency (what the ceiling does not model: SQLite,
  JSON, TLS on this machine), and the stand-in's summed service time ("server s": close to the
  wall time means the stand-in, not p2c-upgrade, set the pace), and "served": the same ceiling
  computed with the stand-in's measured service time instead of the modelled latency, with the
  ratio to it (how close p2c-upgrade comes to what this stand-in on this machine allows);
- peak RSS of the pull and push children (goal: flat from the smallest N to the largest).

    .venv/bin/python scripts/bench_live.py --records 10000 --records 50000
    .venv/bin/python scripts/bench_live.py --records 10000 --scale 10 --latency request=0.05,record=0.0005

Needs the stand-in; exit 2 when it is missing. Writes only under a temporary directory (`--keep`
keeps it).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("P2C_SHARED_DIR") or ROOT.parent / "shared")
STANDIN_DIR = SHARED / "standins" / "dataverse"

#: The documented service protection limits (per user, per web server; FACTS.md, data-platform/api-limits).
REQUESTS, WINDOW_S, EXECUTION_S, CONCURRENT = 6000, 300.0, 1200.0, 52
PULLED_TABLES = ("account", "contact", "quote", "salesorder", "invoice", "organization", "msdynce_p2cautonumber")
GOAL = 0.8


@dataclass
class Child:
    seconds: float
    peak_rss_mb: float
    exit_code: int


@dataclass
class Limits:
    requests: int
    window_s: float
    execution_s: float
    concurrent: int


def run_child(argv: Sequence[str], env: dict[str, str]) -> Child:
    """Run a child to the end; its wall time and peak resident memory (os.wait4, ru_maxrss in KiB)."""
    started = time.monotonic()
    proc = subprocess.Popen(list(argv), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    if proc.returncode not in (0,):
        sys.stderr.write(f"{' '.join(argv[-3:])}: exit {proc.returncode}\n{err.decode(errors='replace')[-2000:]}\n")
    return Child(seconds, usage.ru_maxrss / 1024, proc.returncode)


def min_seconds(requests: int, execution_s: float, in_flight: int, limits: Limits) -> float:
    """The least time `requests` requests worth `execution_s` seconds of service, at most `in_flight`
    at once, can take under `limits`: the first window's budget is available at once, then the
    window's rate (sliding window, so a steady rate of budget / window)."""
    by_latency = execution_s / max(1, in_flight)
    by_requests = max(0.0, requests - limits.requests) * limits.window_s / limits.requests
    by_execution = max(0.0, execution_s - limits.execution_s) * limits.window_s / limits.execution_s
    return max(by_latency, by_requests, by_execution)


def bench_one(n: int, args: argparse.Namespace, standin: Any, limits: Limits, work: Path) -> dict[str, Any]:
    org_db = work / f"org-{n}.sqlite"
    accounts, contacts, documents = int(n * 0.4), int(n * 0.4), max(1, int(n * 0.2 / 3))
    t0 = time.monotonic()
    standin.generate(org_db, accounts=accounts, contacts=contacts, documents=documents, seed=7, duplicates=False)
    generated_s = time.monotonic() - t0
    throttle = standin.ThrottleConfig(requests=limits.requests, window_s=limits.window_s,
                                      execution_ms=limits.execution_s * 1000, concurrent=limits.concurrent)
    latency = standin.LatencyConfig.parse(args.latency)
    dv = standin.DataverseStandin(org_db, throttle=throttle, latency=latency, tls=True)
    dv.start()
    try:
        config = work / f"p2c-{n}.toml"
        config.write_text(f'[dataverse]\nmethod = "environment"\npage_size = {args.page_size}\n'
                          f"batch_size = {args.batch_size}\nconcurrency = {args.concurrency}\n", encoding="utf-8")
        env = {**os.environ, "P2C_DATAVERSE_TOKEN": "bench", "REQUESTS_CA_BUNDLE": dv.ca_file}
        exe = str(Path(sys.executable).parent / "p2c-upgrade")
        base = [exe, "--no-progress", "--config", str(config), "--db", f"sqlite:///{work / f'work-{n}.db'}"]
        rows = {t: int(dv.sql(f'SELECT count(*) AS n FROM "{t}"')[0]["n"]) for t in PULLED_TABLES}
        pages = sum(math.ceil(r / args.page_size) or 1 for r in rows.values())
        dv.clear_requests()
        pull = run_child([*base, "pull", "--from", dv.url], env)
        pull_log = list(dv.requests)
        runs = run_child([*base, "run"], env)
        dv.clear_requests()
        push = run_child([*base, "push"], env)
        push_log = list(dv.requests)
    finally:
        dv.stop()
    pulled = sum(rows.values())
    # a pull reads one page at a time: the latency of each page (per request + per record), and the request limit
    pull_ceiling_s = min_seconds(pages, pages * latency.per_request_s + pulled * latency.per_record_s, 1, limits)
    written = sum(1 for r in push_log if r.batch is not None and r.method == "PATCH" and r.status < 300)
    batches = math.ceil(written / args.batch_size)
    batch_latency = latency.delay(args.batch_size)
    push_ceiling_s = min_seconds(batches, batches * batch_latency, min(args.concurrency, limits.concurrent), limits)
    push_ceiling_s += 2.0  # sequence.SETTLE_S: push waits once after moving the number sequences
    out: dict[str, Any] = {
        "n": n, "generated_s": generated_s, "pulled": pulled, "pages": pages, "pull": pull, "run": runs,
        "push": push, "written": written, "batches": batches,
        "pull_rate": pulled / pull.seconds, "pull_ceiling": pulled / pull_ceiling_s,
        "push_rate": written / push.seconds if written else 0.0,
        "push_ceiling": written / push_ceiling_s if written else 0.0,
        "pull_429": sum(1 for r in pull_log if r.status == 429),
        "push_429": sum(1 for r in push_log if r.status == 429 and r.batch is None),
        "pull_requests": sum(1 for r in pull_log if r.batch is None),
        "push_requests": sum(1 for r in push_log if r.batch is None),
        "pull_own_s": _own_time(pull_log, latency), "push_own_s": _own_time(push_log, latency),
        "pull_server_s": sum(r.duration_s for r in pull_log if r.batch is None),
        "push_server_s": sum(r.duration_s for r in push_log if r.batch is None),
    }
    # the same bounds with the stand-in's measured service time in place of the modelled latency
    served = {op: min_seconds(out[op + "_requests"], out[op + "_server_s"], inflight, limits)
              for op, inflight in (("pull", 1), ("push", min(args.concurrency, limits.concurrent)))}
    out["pull_served"] = pulled / served["pull"] if served["pull"] else 0.0
    out["push_served"] = written / (served["push"] + 2.0) if written else 0.0
    return out


def _own_time(log: list[Any], latency: Any) -> float:
    """Mean service time per page/$batch request beyond the modelled latency (the stand-in's own work)."""
    big = [r for r in log if r.batch is None and r.records >= 100]
    if not big:
        return 0.0
    return sum(r.duration_s - latency.delay(r.records) for r in big) / len(big)


def report(results: list[dict[str, Any]], args: argparse.Namespace, limits: Limits) -> bool:
    print(f"limits (documented / {args.scale:g} in time): {limits.requests} requests, {limits.execution_s:g} s "
          f"execution per {limits.window_s:g} s window, {limits.concurrent} concurrent; latency {args.latency}; "
          f"page_size {args.page_size}, batch_size {args.batch_size}, concurrency {args.concurrency}")
    print(f"{'N':>8} {'op':<5} {'records':>8} {'reqs':>5} {'429':>4} {'seconds':>8} {'rec/s':>8} "
          f"{'ceiling':>8} {'ratio':>6} {'own s/req':>9} {'server s':>8} {'served':>7} {'ratio':>6} "
          f"{'peak RSS MB':>11}")
    ok = True
    for r in results:
        for op, records, rate, ceiling in (("pull", r["pulled"], r["pull_rate"], r["pull_ceiling"]),
                                           ("push", r["written"], r["push_rate"], r["push_ceiling"])):
            child = r[op]
            ratio = rate / ceiling if ceiling else 0.0
            served = r[op + "_served"]
            ok = ok and ratio >= GOAL and child.exit_code == 0
            print(f"{r['n']:>8} {op:<5} {records:>8} {r[op + '_requests']:>5} {r[op + '_429']:>4} "
                  f"{child.seconds:>8.1f} {rate:>8.0f} {ceiling:>8.0f} {ratio:>6.2f} {r[op + '_own_s']:>9.3f} "
                  f"{r[op + '_server_s']:>8.1f} {served:>7.0f} {rate / served if served else 0:>6.2f} "
                  f"{child.peak_rss_mb:>11.0f}{'' if child.exit_code == 0 else f'  exit {child.exit_code}'}")
        print(f"{'':>8} run   {r['run'].seconds:.1f} s, peak RSS {r['run'].peak_rss_mb:.0f} MB "
              f"(org generated in {r['generated_s']:.1f} s)")
    if len(results) > 1:
        first, last = results[0], results[-1]
        for op in ("pull", "push"):
            growth = last[op].peak_rss_mb / first[op].peak_rss_mb
            flat = growth <= 1.5
            ok = ok and flat
            print(f"peak RSS {op}: {first[op].peak_rss_mb:.0f} MB at N={first['n']} -> {last[op].peak_rss_mb:.0f} MB "
                  f"at N={last['n']} (x{growth:.2f}, {'flat' if flat else 'NOT flat'})")
    print(f"goal ratio >= {GOAL} and flat memory: {'met' if ok else 'NOT met'}")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--records", type=int, action="append", metavar="N",
                        help="records in the org (repeatable; default 10000)")
    parser.add_argument("--scale", type=float, default=10.0,
                        help="divide the 300 s window (and its request/execution budgets) by this (default 10)")
    parser.add_argument("--latency", default="request=0.05,record=0.0002",
                        help="the stand-in's latency model (default request=0.05,record=0.0002)")
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if not (STANDIN_DIR / "dataverse_standin").is_dir():
        print(f"the Dataverse stand-in is not at {STANDIN_DIR} (set P2C_SHARED_DIR)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(STANDIN_DIR))
    import dataverse_standin as standin  # type: ignore[import-not-found]

    limits = Limits(round(REQUESTS / args.scale), WINDOW_S / args.scale, EXECUTION_S / args.scale, CONCURRENT)
    work = Path(tempfile.mkdtemp(prefix="p2c-bench-live-"))
    try:
        results = [bench_one(n, args, standin, limits, work) for n in (args.records or [10000])]
        ok = report(results, args, limits)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"(this process: peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
          "the stand-in included)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
