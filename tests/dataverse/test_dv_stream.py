"""push reads its changes as a stream of chunks (memory flat, issue 10): `pending_changes`
yields its first chunk having read no more than that chunk, and the chunks together are the
whole set, in table then record id order, each at most `chunk_size` records."""

from __future__ import annotations

from typing import Any

from p2c_upgrade.dataverse import changes as changes_mod
from p2c_upgrade.dataverse import local
from p2c_upgrade.dataverse.pull import pull
from p2c_upgrade.dataverse.push import push
from p2c_upgrade.dataverse.tables import SEQUENCE_TABLE

from .dvhelp import cli, client_for


def test_pending_changes_streams_in_chunks(org, sales_db, work, monkeypatch) -> None:
    pull(work, client_for(org), page_size=150)
    code, _, err = cli(sales_db, "run")
    assert code == 0, err
    fetched: list[int] = []
    real_fetch = local.fetch

    def counting_fetch(conn: Any, spec: Any, ids: list[str], cols: list[str]) -> Any:
        fetched.append(len(ids))
        return real_fetch(conn, spec, ids, cols)

    monkeypatch.setattr(local, "fetch", counting_fetch)
    with work.engine.connect() as conn:
        stream = changes_mod.pending_changes(conn, chunk_size=25, skip=(SEQUENCE_TABLE,))
        first = next(stream)
        assert 0 < len(first) <= 25
        assert sum(fetched) <= 25                  # only the first chunk's records were read
        chunks = [first, *stream]
    assert all(len(c) <= 25 for c in chunks) and len(chunks) > 4
    keys = [(c.tbl, c.record_id) for chunk in chunks for c in chunk]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert max(fetched) <= 25
    with work.engine.connect() as conn:
        whole = [c for chunk in changes_mod.pending_changes(conn, chunk_size=100_000, skip=(SEQUENCE_TABLE,))
                 for c in chunk]
    assert [(c.tbl, c.record_id, c.cols) for c in whole] == \
        [(c.tbl, c.record_id, c.cols) for chunk in chunks for c in chunk]


def test_push_in_small_chunks_writes_everything_once(org, sales_db, work, monkeypatch) -> None:
    """Chunks smaller than a batch: every record is pushed once, the sequences reserved first."""
    pull(work, client_for(org), page_size=150)
    code, _, err = cli(sales_db, "run")
    assert code == 0, err
    monkeypatch.setattr("p2c_upgrade.dataverse.push.CHUNK", 30)
    result = push(work, client_for(org), batch_size=20, concurrency=1, settle_s=0)
    assert not result.conflicts and not result.failed
    assert result.pushed == result.records > 60 and set(result.reserved) == {"account", "contact"}
    org.clear_requests()
    again = push(work, client_for(org), batch_size=20, concurrency=1, settle_s=0)
    assert again.records == 0 and [r for r in org.requests if r.method != "GET"] == []
