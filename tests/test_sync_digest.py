"""The source digest: a rerun leaves out, in SQL, every record synchronized under the same
digest, and maps again exactly those whose inputs changed (their row, their parent account's
key or state, the configuration, or state written by an earlier version)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from p2c_upgrade.config import parse_config
from p2c_upgrade.sync import mapping

from conftest import SalesDb
from sync_fixtures import Targets, account, contact, customers_by_key, execute, load, sync, uid


@pytest.fixture
def mapped(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The ids of the records the sync maps in Python, in order."""
    seen: list[str] = []
    original = mapping.Mapper.map_batch

    def spy(self: mapping.Mapper, rows: list[dict]) -> object:
        seen.extend(str(row["source_id"]) for row in rows)
        return original(self, rows)

    monkeypatch.setattr(mapping.Mapper, "map_batch", spy)
    yield seen


def _load(db: SalesDb) -> None:
    load(db, [account(i) for i in range(4)],
         [contact(i, parent=uid("account", i % 4), parent_type="account", active=i % 2 == 0)
          for i in range(8)])


def _totals(summary: object) -> dict[str, int]:
    return summary.to_dict()["totals"]  # type: ignore[attr-defined]


def test_an_unchanged_rerun_maps_no_record(sales_db: SalesDb, tmp_path: Path,
                                            mapped: list[str]) -> None:
    _load(sales_db)
    target = Targets("sqlite", tmp_path).new()
    first = sync(sales_db, target, batch_size=3)
    assert len(mapped) == 12 and _totals(first)["inserted"] == 12
    mapped.clear()
    again = sync(sales_db, target, batch_size=3)
    assert mapped == []
    assert _totals(again) == {"selected": 12, "inserted": 0, "updated": 0, "unchanged": 12,
                              "skipped": 0, "failed": 0}


def test_a_changed_row_and_the_persons_of_a_renumbered_account_are_mapped_again(
        sales_db: SalesDb, tmp_path: Path, mapped: list[str]) -> None:
    _load(sales_db)
    target = Targets("sqlite", tmp_path).new()
    sync(sales_db, target)
    mapped.clear()
    execute(sales_db, "UPDATE contact SET lastname = 'Lyon' WHERE contactid = :id",
            id=uid("contact", 0))
    # account 1's number changes: its contact persons (contacts 1, 5: inactive, under it) carry
    # its key as ASSOCIATEDCONTACTNUMBER, so they change too though their rows did not
    execute(sales_db, "UPDATE account SET accountnumber = 'ACC-99999-ZZZZZZ' "
            "WHERE accountid = :id", id=uid("account", 1))
    again = sync(sales_db, target)
    assert sorted(mapped) == sorted([uid("contact", 0), uid("account", 1),
                                     uid("contact", 1), uid("contact", 5)])
    totals = _totals(again)
    assert totals["inserted"] == 1  # the renumbered account is a new customer account
    assert totals["updated"] == 3 and totals["unchanged"] == 8 and totals["failed"] == 0
    assert customers_by_key(target)["CON-00000-BBBBBB"]["personlastname"] == "Lyon"


def test_a_changed_configuration_maps_the_records_of_the_tasks_it_touches_again(
        sales_db: SalesDb, tmp_path: Path, mapped: list[str]) -> None:
    _load(sales_db)
    target = Targets("sqlite", tmp_path).new()
    sync(sales_db, target)
    mapped.clear()
    # CUSTOMERGROUPID is a Customers V2 field: Accounts and ContactToCustomer, not Contacts
    config = parse_config({"sync": {"defaults": {"CUSTOMERGROUPID": "77"}}})
    again = sync(sales_db, target, config)
    customers = [uid("account", i) for i in range(4)] + [uid("contact", i) for i in (0, 2, 4, 6)]
    assert sorted(mapped) == sorted(customers)
    assert _totals(again)["updated"] == 8 and _totals(again)["unchanged"] == 4
    mapped.clear()
    sync(sales_db, target, config)
    assert mapped == []


def test_state_of_an_earlier_version_is_mapped_once_then_left_out(
        sales_db: SalesDb, tmp_path: Path, mapped: list[str]) -> None:
    """A state table written by a version before the digest (no source_digest column, the
    retired key index): the first rerun adds the column, drops the index, maps every record,
    finds it unchanged, writes nothing to the target and records the digest."""
    _load(sales_db)
    target = Targets("sqlite", tmp_path).new()
    sync(sales_db, target)
    execute(sales_db, "ALTER TABLE p2c_sync_record DROP COLUMN source_digest")
    execute(sales_db, "CREATE INDEX ix_p2c_sync_record_key "
            "ON p2c_sync_record (key_fold, entity, target_id)")
    mapped.clear()
    again = sync(sales_db, target)
    assert len(mapped) == 12 and _totals(again)["unchanged"] == 12
    engine = sales_db.engine()
    with engine.connect() as conn:
        missing = conn.execute(sa.text(
            "SELECT count(*) FROM p2c_sync_record WHERE source_digest IS NULL")).scalar_one()
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("p2c_sync_record")}
    engine.dispose()
    assert missing == 0 and "ix_p2c_sync_record_key" not in indexes
    mapped.clear()
    sync(sales_db, target)
    assert mapped == []


def test_a_failed_record_is_read_again_on_every_rerun(
        sales_db: SalesDb, tmp_path: Path, mapped: list[str]) -> None:
    load(sales_db, [account(0), account(1, address1_country="Atlantis")], [])
    target = Targets("sqlite", tmp_path).new()
    sync(sales_db, target)
    mapped.clear()
    again = sync(sales_db, target)
    assert mapped == [uid("account", 1)]
    assert again.failed_total == 1 and _totals(again)["unchanged"] == 1


def test_a_mapped_column_of_any_type_is_digested(sales_db: SalesDb, tmp_path: Path,
                                                  mapped: list[str]) -> None:
    """A configuration may map a Sales column of a type without a hash function (json on
    PostgreSQL): the digest still works, a change in that column is seen, and the field
    receives the JSON text."""
    column_type = "json" if sales_db.kind == "postgresql" else "TEXT"
    load(sales_db, [account(0), account(1)], [])
    execute(sales_db, f"ALTER TABLE account ADD COLUMN street_doc {column_type}")
    execute(sales_db, "UPDATE account SET street_doc = '{\"line\": \"Main\"}'")
    config = parse_config({"sync": {"tasks": {"Accounts": {
        "fields": {"ADDRESSSTREET": {"source": "street_doc"}}}}}})
    target = Targets("sqlite", tmp_path).new()
    sync(sales_db, target, config)
    mapped.clear()
    execute(sales_db, "UPDATE account SET street_doc = '{\"line\": \"High\"}' "
            "WHERE accountid = :id", id=uid("account", 1))
    again = sync(sales_db, target, config)
    assert mapped == [uid("account", 1)]
    assert _totals(again)["updated"] == 1 and _totals(again)["unchanged"] == 1
    # the JSON text, not the driver's parsed value
    assert customers_by_key(target)["ACC-00001-AAAAAA"]["addressstreet"] == '{"line": "High"}'


SYNC_GRANTS = [
    "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}",
    "GRANT INSERT, UPDATE, DELETE ON {schema}.p2c_sync_record, {schema}.p2c_sync_run, "
    "{schema}.p2c_sync_key_owner TO {role}",
    "GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    "GRANT TEMPORARY ON DATABASE test TO {role}",
]


def test_state_of_an_earlier_version_needs_its_owner_once(pg_db: SalesDb, tmp_path: Path) -> None:
    """The one-time column needs the state table's owner: another role gets one line that
    says so (runbooks/initial-sync-and-sync-errors.md) and nothing is written."""
    from test_hostile_privileges import role
    from test_undo_support import invoke

    load(pg_db, [account(0)], [])
    target = Targets("sqlite", tmp_path).new()
    sync(pg_db, target)
    execute(pg_db, "ALTER TABLE p2c_sync_record DROP COLUMN source_digest")
    with role(pg_db, SYNC_GRANTS) as args:
        result = invoke(["sync", *args, "--target", target, "--no-progress"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "owner" in lines[0] and "p2c_sync_record" in lines[0], lines
    again = sync(pg_db, target)  # the owner
    assert _totals(again)["unchanged"] == 1
