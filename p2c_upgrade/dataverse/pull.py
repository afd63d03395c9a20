"""`pull --from URL`: copy the org's Sales records into the working database, resumably.

Per table, pages of `page_size` (at most 5,000) through `@odata.nextLink`; each page's rows and
the table's progress (`p2c_dv_pull.next_link`) commit in one transaction, so a killed pull
continues from its last committed page: a new pull queues every table; a rerun while any table is
still queued or running skips the tables already done and continues the running one. Memory
holds one page.

A rerun refreshes: a record whose etag did not change is left alone; a changed record takes the
org's values except a column with an unpushed local change the org did not touch (kept); where
both changed, the org wins and the local change is dropped (counted as `overridden`). Records an
ended pull did not see were deleted in the org and are removed. When the org's number sequence
moved since the last pull, the unpushed numbers handed out from it are withdrawn (they could
repeat numbers the org handed out meanwhile): `run` numbers those records again from the org's
sequence. Errors: P2CError (org unreachable, 401/403, no Sales tables), UsageError (another org).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Config
from ..db import Database
from ..errors import P2CError
from ..progress import NullProgress, Progress
from ..upgrade.faults import checkpoint
from ..upgrade.ledger import now
from . import local, state, sync_columns
from .client import DataverseClient, error_message
from .tables import (
    LOOKUP_ANNOTATION,
    NUMBER_COLUMNS,
    SEQUENCE_TABLE,
    TableSpec,
    canon,
    parse_datetime,
    table_specs,
    with_columns,
)

SALES_TABLES = ("account", "contact", "quote", "salesorder", "invoice")


@dataclass
class PullResult:
    org_url: str
    solution_installed: bool
    created: list[str] = field(default_factory=list)
    records: dict[str, int] = field(default_factory=dict)
    new: int = 0
    changed: int = 0
    deleted: int = 0
    kept_local: int = 0
    overridden: int = 0
    withdrawn_numbers: int = 0
    moved_sequences: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)


@dataclass
class OrgInfo:
    organization_id: str | None
    solution_installed: bool


def inspect_org(client: DataverseClient) -> OrgInfo:
    """WhoAmI (reachability, sign-in), the Sales tables, and whether the P2C solution is installed."""
    who = client.get_json("WhoAmI")
    resp = client.request("GET", "EntityDefinitions?$select=LogicalName")
    if resp.status_code != 200:
        raise P2CError(f"cannot read the org's table definitions ({resp.status_code}): {error_message(resp)}")
    names = {e.get("LogicalName") for e in resp.json().get("value", [])}
    missing = [t for t in SALES_TABLES if t not in names]
    if missing:
        raise P2CError(f"the org has no Dynamics 365 Sales tables ({', '.join(missing)} missing)")
    return OrgInfo(who.get("OrganizationId"), SEQUENCE_TABLE in names)


def pull(db: Database, client: DataverseClient, *, page_size: int = 5000,
         progress: Progress | None = None, config: Config | None = None) -> PullResult:
    """Pull every table (see the module doc), with the columns `config`'s sync mappings read
    (`sync_columns.py`); returns counts for the summary."""
    progress = progress or NullProgress()
    info = inspect_org(client)
    extra = sync_columns.resolve(client, sync_columns.wanted(config))
    result = PullResult(client.org_url, info.solution_installed)
    with db.engine.begin() as conn:
        state.ensure(conn)
        state.remember_org(conn, client.org_url, info.organization_id, info.solution_installed)
        result.created = local.ensure_tables(conn, info.solution_installed)
        result.created += sync_columns.ensure_columns(conn, extra)
        states = {r[0] for r in conn.execute(sa.select(state.pulls.c.state))}
        if states <= {"done"}:                 # a new pull (not the rerun of a killed one)
            conn.execute(state.pulls.update().values(state="queued"))
    for spec in table_specs(info.solution_installed):
        _pull_table(db, client, with_columns(spec, extra.get(spec.name, {})), page_size, progress, result)
    with db.engine.begin() as conn:
        result.moved_sequences = [r[0] for r in conn.execute(sa.select(state.moved.c.entity)
                                                             .order_by(state.moved.c.entity))]
        for entity in result.moved_sequences:
            result.withdrawn_numbers += _withdraw_numbers(conn, entity)
        conn.execute(state.moved.delete())
        state.finish_pull(conn)
    return result


def _pull_table(db: Database, client: DataverseClient, spec: TableSpec, page_size: int,
                progress: Progress, result: PullResult) -> None:
    with db.engine.begin() as conn:
        row = conn.execute(sa.select(state.pulls).where(state.pulls.c.tbl == spec.name)).mappings().first()
        if row and row["state"] == "done":     # finished by the killed pull this one continues
            result.records[spec.name] = int(row["records"])
            result.resumed.append(spec.name)
            return
        if row and row["state"] == "running" and row["next_link"]:
            generation, link, done = row["generation"], row["next_link"], int(row["records"])
            result.resumed.append(spec.name)
        else:
            generation = (row["generation"] + 1) if row else 1
            link = f"{spec.entity_set}?$select={spec.select}"
            done = 0
            conn.execute(state.pulls.delete().where(state.pulls.c.tbl == spec.name))
            conn.execute(state.pulls.insert().values(tbl=spec.name, state="running", generation=generation,
                                                     next_link=link, records=0, started_at=now()))
        have = {r[0] for r in conn.execute(sa.select(state.filled.c.col).where(state.filled.c.tbl == spec.name))}
        estimate = conn.execute(sa.select(sa.func.count()).select_from(state.records)
                                .where(state.records.c.tbl == spec.name)).scalar()
        force = bool(estimate) and not set(spec.columns) <= have    # a column added: re-read every record
    headers = {"Prefer": f'odata.maxpagesize={page_size},odata.include-annotations="{LOOKUP_ANNOTATION[1:]}"'}
    bar = progress.bar(estimate or None, f"pull {spec.name}", unit="records")
    bar.update(done)
    def read_page(url: str) -> dict[str, Any]:
        resp = client.request("GET", url, headers=headers)
        if resp.status_code == 404 and spec.name != "organization":
            raise P2CError(f"the org has no {spec.name} table: {error_message(resp)}")
        if resp.status_code != 200:
            raise P2CError(f"pull {spec.name}: the org answered {resp.status_code}: {error_message(resp)}")
        body: dict[str, Any] = resp.json()
        return body

    # The next page is read while this one is written (one page ahead, so memory stays at two
    # pages); progress still moves only with a committed page, so a killed pull re-reads at most
    # the page it had read ahead.
    # (not waiting for a read-ahead on the way out: Ctrl-C or a failed write stops at once)
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pull-read-ahead")
    try:
        ahead = reader.submit(read_page, link) if link else None
        while ahead is not None:
            body = ahead.result()
            rows = body.get("value", [])
            link = body.get("@odata.nextLink")
            ahead = reader.submit(read_page, link) if link else None
            with db.engine.begin() as conn:
                _merge_page(conn, spec, rows, generation, result, force)
                conn.execute(state.pulls.update().where(state.pulls.c.tbl == spec.name).values(
                    next_link=link, records=state.pulls.c.records + len(rows)))
            checkpoint("pull", "after-commit")
            done += len(rows)
            bar.update(len(rows))
    finally:
        reader.shutdown(wait=False, cancel_futures=True)
        bar.close()
    with db.engine.begin() as conn:
        # records the org no longer has (not seen in this generation's pages): two set-based
        # DELETEs, the working rows first, then their pull state
        stale = (state.records.c.tbl == spec.name, state.records.c.generation < generation)
        work = local.table(spec, conn)
        key = work.c[spec.record_key]
        conn.execute(work.delete().where(key.in_(
            sa.select(sa.cast(state.records.c.record_id, key.type)).where(*stale))))
        deleted = conn.execute(state.records.delete().where(*stale)).rowcount
        conn.execute(state.pulls.update().where(state.pulls.c.tbl == spec.name).values(
            state="done", next_link=None, finished_at=now()))
        conn.execute(state.filled.delete().where(state.filled.c.tbl == spec.name))
        conn.execute(state.filled.insert(), [{"tbl": spec.name, "col": c} for c in spec.columns])
    result.deleted += deleted
    result.records[spec.name] = done


def _org_row(spec: TableSpec, rec: dict[str, Any]) -> dict[str, Any]:
    """An org record as working-table values (datetimes parsed, lookups with their table)."""
    out: dict[str, Any] = {}
    for col in spec.columns:
        value = rec.get(col)
        if col in spec.datetimes:
            value = parse_datetime(value)
        elif col == spec.key and value is not None:
            value = str(value).lower()
        out[col] = value
    for lookup, type_col in spec.lookups.items():
        value = rec.get(f"_{lookup}_value")
        out[lookup] = str(value).lower() if value else None
        out[type_col] = rec.get(f"_{lookup}_value{LOOKUP_ANNOTATION}") if value else None
    return out


def _merge_page(conn: Connection, spec: TableSpec, page: list[dict[str, Any]], generation: int,
                result: PullResult, force: bool = False) -> None:
    rid_of = {local.id_text(r[spec.record_key]): r for r in page}
    ids = list(rid_of)
    known: dict[str, Any] = {}
    for i in range(0, len(ids), 500):
        for row in conn.execute(sa.select(state.records).where(
                state.records.c.tbl == spec.name, state.records.c.record_id.in_(ids[i:i + 500]))).mappings():
            known[row["record_id"]] = row
    present = local.fetch(conn, spec, ids, list(spec.pushable))
    inserts, updates, seen, upserts = [], [], [], []
    for rid, rec in rid_of.items():
        etag = rec.get("@odata.etag")
        org_values = {c: canon(rec.get(c)) for c in spec.pushable}
        prior = known.get(rid)
        if prior is not None and prior["etag"] == etag and rid in present and not force:
            seen.append(rid)
            continue
        values = _org_row(spec, rec)
        if rid not in present:
            inserts.append(values)
            result.new += 1
        else:
            pulled = state.pulled_values(prior["pulled"]) if prior is not None else {}
            for col in spec.pushable:
                mine = local.canon_local(spec, col, present[rid][col])
                if prior is None or col not in pulled or mine == pulled[col]:
                    continue                      # no unpushed local change: the org's value
                if org_values[col] == pulled[col]:
                    values.pop(col)               # unpushed change the org did not touch: kept
                    result.kept_local += 1
                else:
                    result.overridden += 1        # both changed: the org wins
                    if spec.name == SEQUENCE_TABLE:
                        result.moved_sequences.append(rid)
            if spec.name == SEQUENCE_TABLE and prior is not None and rid not in result.moved_sequences \
                    and org_values.get("msdynce_numbersequence") != pulled.get("msdynce_numbersequence"):
                result.moved_sequences.append(rid)
            values.pop(spec.record_key, None)
            values["_id"] = rid
            updates.append(values)
            result.changed += 1
        upserts.append({"tbl": spec.name, "record_id": rid, "etag": etag, "generation": generation,
                        "pulled": state.dump_values(org_values),
                        "org_id": str(rec.get(spec.key)).lower() if spec.local_key else None})
    local.insert_rows(conn, spec, inserts)
    local.update_rows(conn, spec, updates)
    if spec.name == SEQUENCE_TABLE:           # committed with the page: a killed pull still withdraws
        known_moved = {r[0] for r in conn.execute(sa.select(state.moved.c.entity))}
        new_moved = [{"entity": e} for e in dict.fromkeys(result.moved_sequences) if e not in known_moved]
        if new_moved:
            conn.execute(state.moved.insert(), new_moved)
    changed_ids = [u["record_id"] for u in upserts]
    for i in range(0, len(changed_ids), 500):
        conn.execute(state.records.delete().where(state.records.c.tbl == spec.name,
                                                  state.records.c.record_id.in_(changed_ids[i:i + 500])))
    if upserts:
        conn.execute(state.records.insert(), upserts)
    for i in range(0, len(seen), 500):
        conn.execute(state.records.update().where(
            state.records.c.tbl == spec.name, state.records.c.record_id.in_(seen[i:i + 500])
        ).values(generation=generation))


def _withdraw_numbers(conn: Connection, entity: str) -> int:
    """Put back the pulled value of every unpushed number of `entity`'s sequence (see module doc)."""
    if entity not in NUMBER_COLUMNS:
        return 0
    tbl, col = NUMBER_COLUMNS[entity]
    spec = next(s for s in table_specs(True) if s.name == tbl)
    withdrawn: list[dict[str, Any]] = []
    rows = conn.execute(sa.select(state.records.c.record_id, state.records.c.pulled)
                        .where(state.records.c.tbl == tbl)).all()
    for i in range(0, len(rows), 2000):
        chunk = rows[i:i + 2000]
        mine = local.fetch(conn, spec, [r[0] for r in chunk], [col])
        for rid, raw in chunk:
            pulled = state.pulled_values(raw).get(col)
            if rid in mine and mine[rid][col] != pulled:
                withdrawn.append({"_id": rid, col: pulled})
    local.update_rows(conn, spec, withdrawn)
    return len(withdrawn)
