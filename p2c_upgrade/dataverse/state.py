"""The tool's own Dataverse bookkeeping in the working database (`p2c_dv_*` tables, Core).

- `p2c_dv_org`: one row: the org the copy was pulled from (URL and organization id), whether the
  P2C solution was installed at the last pull.
- `p2c_dv_pull`: per table: state (`queued`/`running`/`done`; a new pull queues every table, a
  rerun of a killed pull skips the tables it finished), the `@odata.nextLink` to resume from, the
  pull generation, records, when. A page's rows and this progress commit in one transaction.
- `p2c_dv_record`: per pulled record: its etag (`W/"<versionnumber>"`), the org's values of the
  pushable columns at the pull (JSON, text values), the org's id when the local key differs, and
  the generation that last saw it (deleted records are those an ended pull did not see).
- `p2c_dv_moved`: the sequences a pull found moved in the org (entity name), committed with the
  sequence page and cleared when the pull ends, so a killed pull, rerun, still withdraws.
- `p2c_dv_column`: per table, the columns a finished pull copied for every record; a pull that
  adds a column (named by a sync mapping) re-reads every record of that table until it ends.
- `p2c_dv_push`: per (table, record, column) push wrote or tried: state `pushed`, `conflict` or
  `failed`, the value sent, the org's value (conflicts) and the org's message (failures).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import UsageError
from ..upgrade.ledger import now

metadata = sa.MetaData()

org = sa.Table(
    "p2c_dv_org", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_url", sa.String(255), nullable=False),
    sa.Column("organization_id", sa.String(64)),
    sa.Column("solution_installed", sa.Boolean, nullable=False),
    sa.Column("first_pulled_at", sa.String(32)),
    sa.Column("last_pulled_at", sa.String(32)),
)

pulls = sa.Table(
    "p2c_dv_pull", metadata,
    sa.Column("tbl", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("next_link", sa.Text),
    sa.Column("records", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("started_at", sa.String(32)),
    sa.Column("finished_at", sa.String(32)),
)

records = sa.Table(
    "p2c_dv_record", metadata,
    sa.Column("tbl", sa.String(64), primary_key=True),
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("etag", sa.String(64)),
    sa.Column("pulled", sa.Text),
    sa.Column("org_id", sa.String(64)),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Index("p2c_dv_record_gen", "tbl", "generation"),
)

moved = sa.Table(
    "p2c_dv_moved", metadata,
    sa.Column("entity", sa.String(64), primary_key=True),
)

filled = sa.Table(
    "p2c_dv_column", metadata,
    sa.Column("tbl", sa.String(64), primary_key=True),
    sa.Column("col", sa.String(64), primary_key=True),
)

pushes = sa.Table(
    "p2c_dv_push", metadata,
    sa.Column("tbl", sa.String(64), primary_key=True),
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("col", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("value", sa.Text),
    sa.Column("org_value", sa.Text),
    sa.Column("message", sa.Text),
    sa.Column("at", sa.String(32)),
)


def ensure(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


def exists(conn: Connection) -> bool:
    return sa.inspect(conn).has_table("p2c_dv_org")


def get_org(conn: Connection) -> dict[str, Any] | None:
    if not exists(conn):
        return None
    row = conn.execute(sa.select(org).where(org.c.id == 1)).mappings().first()
    return dict(row) if row else None


def remember_org(conn: Connection, org_url: str, organization_id: str | None, solution: bool) -> None:
    """Record the org on the first pull; later pulls must name the same URL and organization id
    (another org, or the same org under another URL, is a usage error, exit 2: the safe reading)."""
    known = get_org(conn)
    if known is None:
        conn.execute(org.insert().values(id=1, org_url=org_url, organization_id=organization_id,
                                         solution_installed=solution, first_pulled_at=now()))
        return
    other_id = organization_id and known["organization_id"] and known["organization_id"] != organization_id
    if other_id or known["org_url"] != org_url:
        raise UsageError(f"this working database was pulled from {known['org_url']}, not {org_url}; "
                         "use a new working database for another org")
    conn.execute(org.update().where(org.c.id == 1).values(solution_installed=solution))


def finish_pull(conn: Connection) -> None:
    conn.execute(org.update().where(org.c.id == 1).values(last_pulled_at=now()))


def pulled_values(raw: str | None) -> dict[str, str | None]:
    return json.loads(raw) if raw else {}


def dump_values(values: dict[str, str | None]) -> str:
    return json.dumps(values, sort_keys=True)


def set_push_state(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Upsert per-change push states: dicts with tbl, record_id, col, state, value, org_value, message."""
    if not rows:
        return
    stamp = now()
    keys = [(r["tbl"], r["record_id"], r["col"]) for r in rows]
    for chunk in _chunks(keys, 300):
        conn.execute(pushes.delete().where(
            sa.tuple_(pushes.c.tbl, pushes.c.record_id, pushes.c.col).in_(chunk)))
    conn.execute(pushes.insert(), [
        {"tbl": r["tbl"], "record_id": r["record_id"], "col": r["col"], "state": r["state"],
         "value": r.get("value"), "org_value": r.get("org_value"), "message": r.get("message"), "at": stamp}
        for r in rows])


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
