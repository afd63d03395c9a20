"""`push [--to URL]`: write the journal's pending changes to the org the copy was pulled from.

Order: check the working copy was pulled from this org; check the P2C solution is installed in
the org (else BlockedError, exit 3, before any write); reserve numbers in the org's sequence
(`sequence.py`; a moved sequence is exit 3 with nothing written); then one `PATCH` per record
with all its changed columns and `If-Match: <etag pulled>`, up to `batch_size` per `$batch`
(`batch.py`), batches in parallel under `AdaptiveLimit`.

Memory is flat (issue 10): the changes are read twice as a stream of chunks (`changes.py`), never
held whole: a first pass keeps only the count and the highest number per sequence (what the
reservation needs, before any number is written); the second sends chunk by chunk (its batches in
parallel, then its resend rounds), and refuses a chunk holding a number beyond the reservation
(`sequence.check_within`: the working copy changed during the push).

Outcomes per record: 2xx pushed; 412 re-read and compare: the org holds our values (a replay of
a write whose answer was lost) = pushed; the org still holds the pulled values (another column
changed) = sent again with the fresh etag; otherwise a conflict (listed; exit 3), never
overwritten. Other errors: failed with the org's message. Each batch's outcomes commit in one
transaction (state in `p2c_dv_push`, the record's pulled values moved on), so a killed push,
rerun, resumes and applies nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..db import Database
from ..errors import BlockedError, UsageError
from ..progress import NullProgress, Progress
from ..upgrade.faults import checkpoint
from . import batch as batchmod
from . import state
from .changes import CHUNK, RecordChange, ensure_index, pending_changes
from .client import DataverseClient, error_message
from .concurrency import AdaptiveLimit
from .pull import inspect_org
from .sequence import SETTLE_S, check_reserved, check_within, number_ceilings, plan_reservations, reserve
from .tables import NUMBER_COLUMNS, SEQUENCE_TABLE, canon, org_value_for_push, spec_for

BYPASS_HEADER = "MSCRM.BypassCustomPluginExecution"
MAX_ROUNDS = 5
STALE_ETAG = 'W/"-1"'


@dataclass
class Conflict:
    tbl: str
    record_id: str
    col: str
    pulled: str | None
    org: str | None
    ours: str | None


@dataclass
class PushResult:
    records: int = 0
    pushed: int = 0
    already: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)
    requests: int = 0
    reserved: dict[str, int] = field(default_factory=dict)
    sequence_problems: list[str] = field(default_factory=list)


def check_target(db: Database, to_url: str | None) -> dict[str, Any]:
    """The remembered org; `--to` naming another org is a usage error (exit 2)."""
    with db.engine.connect() as conn:
        known = state.get_org(conn)
    if known is None:
        raise UsageError("this working database was never pulled: run `pull --from URL` first")
    if to_url and to_url != known["org_url"]:
        raise UsageError(f"this working database was pulled from {known['org_url']}, not {to_url}")
    return known


def push(db: Database, client: DataverseClient, *, batch_size: int = 1000, concurrency: int = 8,
         bypass_custom_logic: bool = False, progress: Progress | None = None,
         settle_s: float = SETTLE_S) -> PushResult:
    progress = progress or NullProgress()
    headers = {BYPASS_HEADER: "true"} if bypass_custom_logic else {}
    with db.engine.begin() as conn:
        ensure_index(conn)
    # first pass: count and keep the highest number per sequence only (nothing held but a chunk)
    records = 0
    numbered = {tbl for tbl, _ in NUMBER_COLUMNS.values()}

    def counted(conn: Connection) -> Iterator[RecordChange]:
        nonlocal records
        for chunk in pending_changes(conn, skip=(SEQUENCE_TABLE,)):
            records += len(chunk)
            yield from (c for c in chunk if c.tbl in numbered)

    with db.engine.connect() as conn:         # one connection: SQLite's begins are IMMEDIATE
        reservations = plan_reservations(conn, counted(conn))
        ceilings = number_ceilings(conn, reservations)
    result = PushResult(records=records)
    if not records and not reservations:
        return result
    info = inspect_org(client)
    if not info.solution_installed:
        raise BlockedError("the Prospect to cash solution is not installed in the org "
                           "(no msdynce_p2cautonumber table): install it, then push; nothing was written")
    reserve(db.engine.begin, client, reservations, headers, settle_s)
    result.reserved = {r.entity: r.target for r in reservations}
    limit = AdaptiveLimit(concurrency)
    client.on_throttle = limit.throttled
    bar = progress.bar(records, "push", unit="records")
    # second pass: send chunk by chunk, enough batches per chunk to keep every slot busy
    try:
        size = batch_size * max(limit.maximum, -(-CHUNK // batch_size))
        for chunk in _rechunk(pending_changes(db.engine, skip=(SEQUENCE_TABLE,), chunk_size=size), size):
            check_within(chunk, ceilings)
            _send_rounds(db, client, limit, chunk, batch_size, headers, result, bar)
    finally:
        bar.close()
    result.sequence_problems = check_reserved(client, reservations, headers)
    return result


def _rechunk(chunks: Iterator[list[RecordChange]], size: int) -> Iterator[list[RecordChange]]:
    """The stream regrouped into lists of exactly `size` (the last shorter), across tables, so
    every batch but the last is full (`ceil(records / batch_size)` requests, as plan counts)."""
    buffer: list[RecordChange] = []
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield buffer[:size]
            buffer = buffer[size:]
    if buffer:
        yield buffer


def _send_rounds(db: Database, client: DataverseClient, limit: AdaptiveLimit, todo: list[RecordChange],
                 batch_size: int, headers: dict[str, str], result: PushResult, bar: Any) -> None:
    """Send one chunk's records in batches under `limit`, then what must be sent again (412 with
    a fresh etag, 429, 5xx) for up to `MAX_ROUNDS` rounds; the resend set is within the chunk."""
    for _ in range(MAX_ROUNDS):
        if not todo:
            return
        batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
        again: list[RecordChange] = []
        with ThreadPoolExecutor(max_workers=limit.maximum) as pool:
            futures = [pool.submit(_send, client, limit, batch, headers) for batch in batches]
            for batch, fut in zip(batches, futures, strict=True):
                outcomes = fut.result()
                result.requests += 1
                resend = _record(db, client, batch, outcomes, result)
                bar.update(len(batch) - len(resend))
                again += resend
        todo = again
    for change in todo:
        result.failed.append((change.tbl, change.record_id, "still changing in the org after retries"))


def _send(client: DataverseClient, limit: AdaptiveLimit, chunk: list[RecordChange],
          headers: dict[str, str]) -> list[batchmod.OpResult]:
    ops = []
    for change in chunk:
        spec = change.spec
        values = {col: org_value_for_push(spec, col, ours) for col, (_, ours) in change.cols.items()}
        # no etag (the record was pushed since its pull): a stale one, so the org answers 412 and
        # the re-read decides (never If-Match: *, which would skip the concurrency check)
        op_headers = {"If-Match": change.etag or STALE_ETAG, **headers}
        ops.append(batchmod.Operation("PATCH", f"{client.api_url}{spec.entity_set}({change.org_id})",
                                      op_headers, values))
    content_type, body = batchmod.build(ops)
    with limit.slot():
        resp = client.request("POST", "$batch", data=body, headers={
            "Content-Type": content_type, "Prefer": "odata.continue-on-error", **headers})
    limit.succeeded()
    results = batchmod.parse(resp.headers.get("Content-Type", ""), resp.content)
    if len(results) != len(chunk):
        message = error_message(resp) if resp.status_code >= 400 else "the $batch answer did not match its requests"
        results = [batchmod.OpResult(resp.status_code if resp.status_code >= 400 else 500, {},
                                     json.dumps({"error": {"message": message}}))] * len(chunk)
    return results


REREAD_CHUNK = 100
OrgValues = dict[tuple[str, str], tuple[dict[str, str | None], str | None]]


def _reread(client: DataverseClient, changes: list[RecordChange]) -> OrgValues:
    """The org's current values and etag of `changes`' records, by (table, org id): one GET per
    table and `REREAD_CHUNK` ids (`Microsoft.Dynamics.CRM.In` filter), not one per record: a lost
    `$batch` answer makes a whole batch (up to 1,000 records) answer 412 on its replay. A record
    missing from the answer was deleted in the org."""
    out: OrgValues = {}
    by_table: dict[str, list[RecordChange]] = {}
    for change in changes:
        by_table.setdefault(change.tbl, []).append(change)
    for tbl, group in by_table.items():
        spec = group[0].spec
        cols = sorted({c for change in group for c in change.cols})
        for i in range(0, len(group), REREAD_CHUNK):
            ids = ",".join(f"'{c.org_id}'" for c in group[i:i + REREAD_CHUNK])
            link: str | None = (f"{spec.entity_set}?$select={spec.key},{','.join(cols)}"
                                f"&$filter=Microsoft.Dynamics.CRM.In(PropertyName='{spec.key}',"
                                f"PropertyValues=[{ids}])")
            while link:
                body = client.get_json(link)
                for rec in body.get("value", []):
                    org_id = str(rec.get(spec.key)).lower()
                    out[(tbl, org_id)] = ({c: canon(rec.get(c)) for c in cols}, rec.get("@odata.etag"))
                link = body.get("@odata.nextLink")
    return out


def _record(db: Database, client: DataverseClient, chunk: list[RecordChange],
            outcomes: list[batchmod.OpResult], result: PushResult) -> list[RecordChange]:
    """Turn one batch's answers into push states (one transaction); returns records to resend."""
    states: list[dict[str, Any]] = []
    moved_on: list[RecordChange] = []
    again: list[RecordChange] = []
    current = _reread(client, [c for c, o in zip(chunk, outcomes, strict=True) if o.status == 412])
    for change, outcome in zip(chunk, outcomes, strict=True):
        if outcome.status == 412 and (change.tbl, change.org_id.lower()) not in current:
            outcome = batchmod.OpResult(404, {}, json.dumps(
                {"error": {"message": "the record was deleted in the org since the pull"}}))
        if outcome.status < 300:
            moved_on.append(change)
            result.pushed += 1
        elif outcome.status == 412:
            org_values, etag = current[(change.tbl, change.org_id.lower())]
            if all(org_values[c] == ours for c, (_, ours) in change.cols.items()):
                moved_on.append(change)
                result.already += 1
            elif all(org_values[c] == pulled for c, (pulled, _) in change.cols.items()):
                change.etag = etag
                again.append(change)
                continue
            else:
                for col, (pulled, ours) in change.cols.items():
                    conflict = Conflict(change.tbl, change.record_id, col, pulled, org_values[col], ours)
                    result.conflicts.append(conflict)
                    states.append({"tbl": change.tbl, "record_id": change.record_id, "col": col,
                                   "state": "conflict", "value": ours, "org_value": org_values[col],
                                   "message": f"changed in the org since the pull (pulled {pulled!r})"})
                continue
        elif outcome.status in (429, 500, 502, 503, 504):
            again.append(change)
            continue
        else:
            result.failed.append((change.tbl, change.record_id, outcome.message()))
            states += [{"tbl": change.tbl, "record_id": change.record_id, "col": col, "state": "failed",
                        "value": ours, "message": outcome.message()} for col, (_, ours) in change.cols.items()]
            continue
        states += [{"tbl": change.tbl, "record_id": change.record_id, "col": col, "state": "pushed",
                    "value": ours} for col, (_, ours) in change.cols.items()]
    checkpoint("push", "before-commit")
    with db.engine.begin() as conn:
        state.set_push_state(conn, states)
        for change in moved_on:
            row = conn.execute(sa.select(state.records.c.pulled).where(
                state.records.c.tbl == change.tbl, state.records.c.record_id == change.record_id)).first()
            merged = state.pulled_values(row[0] if row else None)
            merged.update({c: ours for c, (_, ours) in change.cols.items()})
            conn.execute(state.records.update().where(
                state.records.c.tbl == change.tbl, state.records.c.record_id == change.record_id
            ).values(pulled=state.dump_values(merged), etag=None))
    checkpoint("push", "after-commit")
    return again


def conflict_lines(result: PushResult) -> list[str]:
    return [f"{c.tbl} {c.record_id} {c.col}: pulled {c.pulled!r}, org {c.org!r}, ours {c.ours!r}"
            for c in result.conflicts]


__all__ = ["push", "check_target", "PushResult", "Conflict", "conflict_lines", "spec_for"]
