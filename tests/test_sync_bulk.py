"""The sync's bulk layer on both databases: keys of any text round-trip, upserts update in place,
and two batches in one transaction do not see each other's staged rows twice."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from p2c_upgrade.db.connection import translate_errors
from p2c_upgrade.errors import P2CError
from p2c_upgrade.sync.bulk import insert_rows, select_in, update_rows

from conftest import SalesDb

KEYS = ["plain", "with,comma", "quote'\"", "sep\x1fin it", "{braces}", "NULL", "sp ace ", "Ä-é"]


def _table() -> sa.Table:
    return sa.Table("bulk_probe", sa.MetaData(),
                    sa.Column("k", sa.String(40), primary_key=True),
                    sa.Column("v", sa.String(40)),
                    sa.Column("n", sa.Integer))


def test_keys_round_trip_and_upsert(sales_db: SalesDb) -> None:
    table = _table()
    db = sales_db.open()
    try:
        table.metadata.create_all(db.engine)
        with db.engine.begin() as conn:
            insert_rows(conn, table, ("k", "v", "n"), [(k, f"v{i}", i) for i, k in enumerate(KEYS)])
            # a second batch in the same transaction: an upsert of two, one new row
            insert_rows(conn, table, ("k", "v", "n"),
                        [(KEYS[0], "changed", 100), (KEYS[3], None, None), ("new", "x", 7)],
                        conflict=("k",), update=("v", "n"))
        with db.engine.begin() as conn:
            update_rows(conn, table, "k", ("v",), [("updated", KEYS[1])])
        with db.engine.connect() as conn:
            found = {r[0]: r[1:] for r in select_in(conn, table, ("k", "v", "n"), "k",
                                                    [*KEYS, "absent"])}
            only_plain = list(select_in(conn, table, ("k",), "k", KEYS[:3], {"n": 100}))
            total = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        assert set(found) == set(KEYS)
        assert found[KEYS[0]] == ("changed", 100)
        assert found[KEYS[1]] == ("updated", 1)
        assert found[KEYS[3]] == (None, None)
        assert found[KEYS[7]] == ("v7", 7)
        assert only_plain == [(KEYS[0],)]
        assert total == len(KEYS) + 1
    finally:
        db.dispose()


def test_sqlite_lookup_over_one_in_list(sqlite_db: SalesDb) -> None:
    """More keys than one fixed-size IN list holds: every chunk is asked."""
    table = _table()
    db = sqlite_db.open()
    try:
        table.metadata.create_all(db.engine)
        keys = [f"k{i:05d}" for i in range(1234)]
        with db.engine.begin() as conn:
            insert_rows(conn, table, ("k", "v", "n"), [(k, None, 1) for k in keys])
        with db.engine.connect() as conn:
            assert sorted(r[0] for r in select_in(conn, table, ("k",), "k", keys)) == keys
    finally:
        db.dispose()


def test_a_failing_copy_is_one_line(pg_db: SalesDb) -> None:
    """A COPY the server rejects is a driver error outside SQLAlchemy's wrapping: it still
    becomes the one-line P2CError the CLI prints, not a traceback."""
    table = _table()
    db = pg_db.open()
    try:
        table.metadata.create_all(db.engine)
        with (pytest.raises(P2CError) as failure, translate_errors(db),
              db.engine.begin() as conn):
            insert_rows(conn, table, ("k", "v", "n"), [("x" * 41, None, 1)])
        assert "too long" in failure.value.message
        assert "\n" not in failure.value.message
        with db.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
    finally:
        db.dispose()
