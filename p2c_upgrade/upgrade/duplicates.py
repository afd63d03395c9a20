"""Account numbers that collide as the duplicate gate compares them, and resolving them.

The gate compares as `p2c_upgrade.rules.keys.dataverse_key` (the Dataverse alternate key:
case- and accent-insensitive, trailing blanks ignored), so `ACC-1`, `acc-1`, `ÀCC-1`, `ACC-1 `
and `ACC-1` followed by a no-break space are one key. In each colliding group the oldest record keeps
its number; `renumber` gives the others new numbers from the account sequence, journaled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db import sqlfiles
from p2c_upgrade.rules.keys import collision_kind
from p2c_upgrade.upgrade.steps.base import common_params

_JOBS = {
    "account": ("account", "accountid", "accountnumber"),
    "contact": ("contact", "contactid", "msdynce_contactnumber"),
}


def _sql(conn: Connection, name: str, table: str) -> str:
    tbl, pk, col = _JOBS[table]
    prep = conn.dialect.identifier_preparer
    quoted = prep.quote_identifier(col)
    return sqlfiles.statement(
        conn.dialect.name, "duplicates", name,
        table=prep.quote_identifier(tbl), pk=prep.quote_identifier(pk), col=quoted,
        **sqlfiles.key_sql(conn.dialect.name, quoted),
    )


def count_collision_groups(conn: Connection, table: str = "account") -> int:
    """How many groups of records share a number as F&O compares them."""
    return int(conn.execute(sa.text(_sql(conn, "count_groups", table)), common_params()).scalar() or 0)


@dataclass
class Member:
    id: str
    number: str
    createdon: Any
    kind: str  # "kept" for the oldest, else exact / case / accent / trailing space
    keeps: bool


@dataclass
class Group:
    key: str
    members: list[Member] = field(default_factory=list)

    @property
    def kept(self) -> Member:
        return self.members[0]

    @property
    def kinds(self) -> list[str]:
        return sorted({m.kind for m in self.members[1:]})


def collision_groups(conn: Connection, table: str = "account") -> Iterator[Group]:
    """Colliding groups, streamed in key order; the first member is the one that keeps."""
    result = conn.execute(sa.text(_sql(conn, "members", table)), common_params(),
                          execution_options={"stream_results": True})
    group: Group | None = None
    for fk, rid, number, createdon in result:
        if group is None or group.key != fk:
            if group is not None:
                yield group
            group = Group(fk)
            group.members.append(Member(rid, number, createdon, "kept", True))
        else:
            kind = collision_kind(group.kept.number, number)
            group.members.append(Member(rid, number, createdon, kind, False))
    if group is not None:
        yield group
