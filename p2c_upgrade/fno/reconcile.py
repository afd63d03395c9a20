"""`verify --target fno:URL`: the records the sync recorded as synchronized against what F&O
holds, per entity, by key (reads only, on both sides).

F&O side: the entity's public OData collection of the legal entity (`cross-company=true` and a
`dataAreaId` filter; server-driven paging), only the key selected. Sync side: `p2c_sync_record`
of this target. Keys compare as F&O compares them (case-insensitive, trailing spaces ignored).
- missing: recorded synchronized, not in F&O (deleted there, or never landed);
- extra: in F&O under a key the sync recorded for a record that is not synchronized (failed or
  pending), so F&O holds what the sync believes it does not;
- key differs: the same key as F&O compares it, spelled differently.
F&O rows under keys the sync never wrote (customers made in F&O) are only counted.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from p2c_upgrade.db import Database, translate_errors
from p2c_upgrade.fno.client import FnoClient
from p2c_upgrade.sync import state
from p2c_upgrade.sync.entities import ENTITIES, fno_key

LISTED = 100


def reconcile(db: Database, client: FnoClient, target_id: str, legal_entity: str
              ) -> dict[str, Any]:
    """The reconciliation document (version 1): per entity counts and differences."""
    out: dict[str, Any] = {"version": 1, "target": client.base_url, "legal_entity": legal_entity,
                           "entities": []}
    for entity in ENTITIES.values():
        ours: dict[str, tuple[str, str, str]] = {}  # fold -> (key, status, source_id)
        rec = state.records.c
        with translate_errors(db), db.engine.connect() as conn:
            if sa.inspect(conn).has_table(state.RECORD_TABLE):
                for key, fold, status, sid in conn.execute(
                        sa.select(rec.key_value, rec.key_fold, rec.status, rec.source_id)
                        .where(rec.target_id == target_id, rec.entity == entity.name,
                               rec.key_fold.is_not(None))):
                    if fold not in ours or status == state.SYNCED:
                        ours[fold] = (key, status, sid)
        theirs: dict[str, str] = {}
        for row in client.odata(entity.odata_collection, {
                "$select": entity.odata_key, "cross-company": "true",
                "$filter": f"dataAreaId eq '{legal_entity.lower()}'"}):
            key = str(row.get(entity.odata_key, ""))
            theirs.setdefault(fno_key(key), key)
        synced = {f: v for f, v in ours.items() if v[1] == state.SYNCED}
        missing = sorted(v[0] for f, v in synced.items() if f not in theirs)
        extra = sorted(theirs[f] for f, v in ours.items() if v[1] != state.SYNCED and f in theirs)
        differs = sorted(f"{v[0]!r} in Sales, {theirs[f]!r} in F&O" for f, v in synced.items()
                         if f in theirs and theirs[f].rstrip(" ") != v[0].rstrip(" "))
        out["entities"].append({
            "entity": entity.display_name, "synchronized": len(synced), "in_fno": len(theirs),
            "matched": len(synced) - len(missing), "not_from_sync": len(set(theirs) - set(ours)),
            "missing": len(missing), "extra": len(extra), "key_differs": len(differs),
            "missing_keys": missing[:LISTED], "extra_keys": extra[:LISTED],
            "key_differences": differs[:LISTED]})
    out["ok"] = all(not (e["missing"] or e["extra"] or e["key_differs"]) for e in out["entities"])
    return out


def rows(doc: dict[str, Any]) -> list[list[Any]]:
    """Table rows for people: entity, counts, and the first differences."""
    table = []
    for e in doc["entities"]:
        found = [f"missing: {', '.join(e['missing_keys'][:10])}" if e["missing"] else "",
                 f"extra: {', '.join(e['extra_keys'][:10])}" if e["extra"] else "",
                 f"key differs: {'; '.join(e['key_differences'][:5])}" if e["key_differs"] else ""]
        table.append([e["entity"], e["synchronized"], e["in_fno"], e["matched"], e["missing"],
                      e["extra"], e["key_differs"], " ".join(f for f in found if f)])
    return table


HEADERS = ["entity", "synchronized", "in F&O", "matched", "missing", "extra", "key differs",
           "differences"]
