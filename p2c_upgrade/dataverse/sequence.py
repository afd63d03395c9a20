"""Reserving numbers in the org's `msdynce_p2cautonumber` before any number is written.

For each sequence (account, contact) whose numbers push writes, the org's next value is moved to
`max(working sequence, highest number written + 1)` with `If-Match: <etag pulled>`, after checking
the org's value is still the value pulled. If Sales handed out numbers since the pull the value
differs: `BlockedError` (exit 3), nothing written, "pull and run again". A replay of our own
reservation (a push killed after the org applied it) is recognised: the org holds exactly our
target. Push never moves a sequence backwards (an undo's rewind stays local: numbers Sales handed
out meanwhile would repeat).

The solution's auto-number plug-in reads its counter without a lock, so a record created in Sales
while push reserves can read the old value before the reservation and write `old + 1` after it,
moving the counter back under numbers push is about to write. After moving the sequences push
waits `settle_s` (longer than a create's plug-in step takes) and reads them again: any sequence
not at its target means Sales handed out a number in the reserved range: BlockedError (exit 3),
nothing written and nothing recorded locally, "pull and run again". `check_reserved` repeats the
check after the writes (a create slower than `settle_s`): a sequence found below its target is
moved forward again and reported (exit 3; `verify --remote` then lists any number twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import BlockedError, P2CError
from ..rules.number_format import seqpart
from . import state
from .changes import RecordChange
from .client import DataverseClient, error_message
from .local import autonumber_table
from .tables import NUMBER_COLUMNS, SEQUENCE_TABLE


@dataclass
class Reservation:
    entity: str
    org_id: str
    etag: str | None
    pulled: int
    target: int
    highest_written: int | None


def plan_reservations(conn: Connection, changes: Iterable[RecordChange]) -> list[Reservation]:
    """Which sequences must move and to what (no request). `changes` is consumed once, keeping
    only the highest number per sequence (a stream of any length holds one change at a time)."""
    seq = autonumber_table(sa.MetaData())
    rows = {r.msdynce_entityname: r for r in conn.execute(sa.select(seq))}
    columns = {tbl: (entity, col) for entity, (tbl, col) in NUMBER_COLUMNS.items() if entity in rows}
    highest: dict[str, int] = {}
    for change in changes:
        if change.tbl not in columns:
            continue
        entity, col = columns[change.tbl]
        if col in change.cols:
            n = seqpart(change.cols[col][1], rows[entity].msdynce_prefix)
            if n is not None and n > highest.get(entity, -1):
                highest[entity] = n
    out: list[Reservation] = []
    for entity in NUMBER_COLUMNS:
        if entity not in rows:
            continue
        rec = conn.execute(sa.select(state.records).where(
            state.records.c.tbl == SEQUENCE_TABLE, state.records.c.record_id == entity)).first()
        if rec is None:
            continue
        pulled = int(state.pulled_values(rec.pulled).get("msdynce_numbersequence") or 0)
        top = highest.get(entity)
        target = max(int(rows[entity].msdynce_numbersequence), (top + 1) if top is not None else 0)
        if target > pulled:
            out.append(Reservation(entity, rec.org_id, rec.etag, pulled, target, top))
    return out


def number_ceilings(conn: Connection, reservations: list[Reservation]) -> dict[str, tuple[str, str, int]]:
    """Per table: (number column, prefix, first number push may not write): the reserved target,
    or the pulled sequence value when nothing was reserved. Push reads its changes again while it
    sends (chunk by chunk); `check_within` stops it if the working copy gained a number beyond
    what was reserved meanwhile (a `run` during the push)."""
    seq = autonumber_table(sa.MetaData())
    rows = {r.msdynce_entityname: r for r in conn.execute(sa.select(seq))}
    targets = {r.entity: r.target for r in reservations}
    out: dict[str, tuple[str, str, int]] = {}
    for entity, (tbl, col) in NUMBER_COLUMNS.items():
        if entity not in rows:
            continue
        bound = targets.get(entity)
        if bound is None:
            rec = conn.execute(sa.select(state.records.c.pulled).where(
                state.records.c.tbl == SEQUENCE_TABLE, state.records.c.record_id == entity)).first()
            if rec is None:
                continue
            bound = int(state.pulled_values(rec[0]).get("msdynce_numbersequence") or 0)
        out[tbl] = (col, rows[entity].msdynce_prefix, bound)
    return out


def check_within(changes: list[RecordChange], ceilings: dict[str, tuple[str, str, int]]) -> None:
    """BlockedError (exit 3) before a chunk is sent if it writes a number at or beyond its ceiling."""
    for change in changes:
        if change.tbl not in ceilings:
            continue
        col, prefix, bound = ceilings[change.tbl]
        n = seqpart(change.cols[col][1], prefix) if col in change.cols else None
        if n is not None and n >= bound:
            raise BlockedError(f"{change.tbl} {change.record_id} would get number {n}, beyond the {bound} "
                               "reserved: the working copy changed during the push (a `run`?); the records "
                               "before it were pushed; push again")


def _org_value(client: DataverseClient, res: Reservation) -> tuple[int, str | None]:
    body = client.get_json(f"msdynce_p2cautonumbers({res.org_id})?$select=msdynce_numbersequence")
    return int(body["msdynce_numbersequence"]), body.get("@odata.etag")


SETTLE_S = 2.0


def reserve(conn_factory, client: DataverseClient, reservations: list[Reservation],
            headers: dict[str, str], settle_s: float = SETTLE_S) -> None:
    """Check every sequence first (nothing written if one moved), then move each, wait `settle_s`,
    check each still holds its target (see the module doc), then record them."""
    current = {r.entity: _org_value(client, r) for r in reservations}
    for res in reservations:
        value, _ = current[res.entity]
        if value not in (res.pulled, res.target):
            raise _moved(res, value)
    for res in reservations:
        value, etag = current[res.entity]
        if value != res.target:
            resp = client.request("PATCH", f"msdynce_p2cautonumbers({res.org_id})",
                                  headers={**headers, "If-Match": res.etag or "*"},
                                  json={"msdynce_numbersequence": res.target})
            if resp.status_code == 412:
                value, etag = _org_value(client, res)
                if value != res.target:
                    raise _moved(res, value)
            elif resp.status_code >= 400:
                raise P2CError(f"cannot reserve {res.entity} numbers in the org: {error_message(resp)}")
    if reservations and settle_s > 0:
        client.sleep(settle_s)
    for res in reservations:
        value, _ = _org_value(client, res)
        if value != res.target:
            raise _moved(res, value)
    for res in reservations:
        with conn_factory() as conn:
            conn.execute(state.records.update().where(
                state.records.c.tbl == SEQUENCE_TABLE, state.records.c.record_id == res.entity
            ).values(etag=None, pulled=state.dump_values({"msdynce_numbersequence": str(res.target)})))
            state.set_push_state(conn, [{"tbl": SEQUENCE_TABLE, "record_id": res.entity,
                                         "col": "msdynce_numbersequence", "state": "pushed",
                                         "value": str(res.target)}])


def check_reserved(client: DataverseClient, reservations: list[Reservation],
                   headers: dict[str, str]) -> list[str]:
    """After the writes: each reserved sequence at or above its target; one found below is moved
    forward again (never backwards) and named in the returned problems."""
    problems: list[str] = []
    for res in reservations:
        value, etag = _org_value(client, res)
        if value < res.target:
            client.request("PATCH", f"msdynce_p2cautonumbers({res.org_id})",
                           headers={**headers, "If-Match": etag or "*"},
                           json={"msdynce_numbersequence": res.target})
            problems.append(f"the org's {res.entity} number sequence went back to {value} during the push "
                            f"(a record created in Sales meanwhile); moved forward to {res.target} again: "
                            "run `verify --remote` to find a number given twice")
    return problems


def _moved(res: Reservation, value: int) -> BlockedError:
    return BlockedError(f"the org's {res.entity} number sequence moved since the pull (pulled {res.pulled}, "
                        f"now {value}): Sales handed out numbers meanwhile; nothing was written; "
                        "pull and run again")
