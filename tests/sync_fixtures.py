"""Helpers for the sync tests: Sales data after the upgrade, F&O targets, reading them back."""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from p2c_upgrade.config import Config
from p2c_upgrade.db.schema import AUTONUMBER_ROWS, AUTONUMBER_TABLE, P2C_COLUMNS, sales_metadata
from p2c_upgrade.sync import SyncSummary, run_sync

from conftest import PG_URL, SalesDb

NS = uuid.UUID("6f1c1d52-6c55-4d5b-9b0e-1d2b8f0c7a10")


def uid(kind: str, i: int | str) -> str:
    return str(uuid.uuid5(NS, f"{kind}-{i}"))


def add_p2c_columns(db: SalesDb) -> None:
    """What the `prepare` step adds, in plain DDL: the contact columns and the number-sequence
    table with its two rows (the sync refuses while prepare has work left)."""
    engine = db.engine()
    with engine.begin() as conn:
        have = {c["name"] for c in sa.inspect(conn).get_columns("contact")}
        for col in P2C_COLUMNS:
            if col.column not in have:
                default = f" NOT NULL DEFAULT {col.default}" if col.default else ""
                conn.execute(sa.text(
                    f"ALTER TABLE {col.table} ADD COLUMN {col.column} {col.ddl_type}{default}"))
        if not sa.inspect(conn).has_table(AUTONUMBER_TABLE, schema=db.schema):
            conn.execute(sa.text(
                f"CREATE TABLE {AUTONUMBER_TABLE} (msdynce_entityname VARCHAR(64) PRIMARY KEY, "
                "msdynce_prefix VARCHAR(20), msdynce_numbersequence INTEGER, "
                "msdynce_suffixlength INTEGER)"))
            for entity, prefix, start, suffix in AUTONUMBER_ROWS:
                conn.execute(sa.text(f"INSERT INTO {AUTONUMBER_TABLE} VALUES (:e, :p, :n, :s)"),
                             {"e": entity, "p": prefix, "n": start, "s": suffix})
    engine.dispose()


def account(i: int, **kw: Any) -> dict[str, Any]:
    row = {"accountid": uid("account", i), "name": f"Company {i}",
           "accountnumber": f"ACC-{i:05d}-AAAAAA", "address1_country": "United States",
           "address1_city": "Seattle", "statecode": 0, "createdon": None}
    row.update(kw)
    return row


def contact(i: int, *, parent: str | None = None, parent_type: str | None = None,
            active: bool = False, flag: bool | None = None, **kw: Any) -> dict[str, Any]:
    """A contact as the upgrade leaves it; `flag` (IsCompanyAnAccount) follows the parent
    unless given."""
    row = {"contactid": uid("contact", i), "firstname": f"First{i}", "lastname": f"Last{i}",
           "parentcustomerid": parent, "parentcustomeridtype": parent_type,
           "address1_country": "Germany", "statecode": 0, "createdon": None,
           "msdynce_contactnumber": f"CON-{i:05d}-BBBBBB",
           "msdynce_isactivecustomer": active,
           "msdynce_iscompanyanaccount": (parent is not None and parent_type == "account")
           if flag is None else flag}
    row.update(kw)
    return row


def dataset(accounts: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """N accounts and 2N contacts spread over every route (all valid data)."""
    accs = [account(i, address1_country=("United States", "DE", "", None, "france")[i % 5])
            for i in range(accounts)]
    cons: list[dict[str, Any]] = []
    for i in range(2 * accounts):
        kind = i % 6
        parent: str | None = None
        ptype: str | None = None
        if kind in (0, 1, 2):
            parent, ptype = uid("account", i % accounts), "account"
        elif kind == 3:
            parent, ptype = uid("contact", (i + 1) % (2 * accounts)), "contact"
        cons.append(contact(i, parent=parent, parent_type=ptype, active=(kind in (2, 4)),
                            address1_country=("Canada", "GB", None)[i % 3]))
    return accs, cons


def load(db: SalesDb, accounts: list[dict[str, Any]], contacts: list[dict[str, Any]]) -> None:
    add_p2c_columns(db)
    engine = db.engine()
    md = sa.MetaData()
    acc = sa.Table("account", md, autoload_with=engine)
    con = sa.Table("contact", md, autoload_with=engine)
    with engine.begin() as conn:
        if accounts:
            conn.execute(acc.insert(), accounts)
        if contacts:
            conn.execute(con.insert(), contacts)
    engine.dispose()


def execute(db: SalesDb, sql: str, **params: Any) -> None:
    engine = db.engine()
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


def sync(db: SalesDb, target: str, config: Config | None = None, **kw: Any) -> SyncSummary:
    sales = db.open()
    try:
        return run_sync(sales, target, config or Config(), **kw)
    finally:
        sales.dispose()


# -- targets ---------------------------------------------------------------------------------


class Targets:
    """Makes fresh targets of one kind for a test; PostgreSQL schemas are dropped afterwards."""

    def __init__(self, kind: str, tmp_path: Path) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self.schemas: list[str] = []

    def new(self) -> str:
        n = len(self.schemas) + len(list(self.tmp_path.glob("fno*")))
        if self.kind == "sqlite":
            return f"sqlite:///{self.tmp_path / f'fno{n}.db'}"
        if self.kind == "package":
            return f"package:{self.tmp_path / f'fno{n}-package'}"
        schema = f"p2c_fno_{uuid.uuid4().hex[:12]}"
        self.schemas.append(schema)
        return f"{PG_URL}?schema={schema}"

    def drop(self) -> None:
        if not self.schemas:
            return
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            for schema in self.schemas:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def read_target(target: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every entity row of a database target, sorted: for comparing contents."""
    url = sa.engine.make_url(target)
    schema = url.query.get("schema")
    url = url.difference_update_query(["schema"])
    args = {"options": f"-c search_path={schema}"} if schema else {}
    engine = sa.create_engine(url, connect_args=args)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in ("fno_customers", "fno_contact_persons"):
            t = sa.Table(table, sa.MetaData(), autoload_with=conn)
            out[table] = sorted(tuple(r) for r in conn.execute(sa.select(t)))
    engine.dispose()
    return out


def customers_by_key(target: str) -> dict[str, dict[str, Any]]:
    url = sa.engine.make_url(target)
    schema = url.query.get("schema")
    url = url.difference_update_query(["schema"])
    args = {"options": f"-c search_path={schema}"} if schema else {}
    engine = sa.create_engine(url, connect_args=args)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM fno_customers")).mappings().all()
    engine.dispose()
    return {r["customeraccount"]: dict(r) for r in rows}


def package_zips(target: str) -> list[Path]:
    return sorted(Path(target.removeprefix("package:")).glob("p2c-initial-sync-*.zip"))


def zip_csv_rows(path: Path, name: str) -> list[list[str]]:
    import csv
    import io

    with zipfile.ZipFile(path) as zf:
        if name not in zf.namelist():
            return []
        data = zf.read(name)
        assert data.startswith(b"\xff\xfe"), "CSV-Unicode: UTF-16LE with a BOM"
        text = data.decode("utf-16")
    return list(csv.reader(io.StringIO(text, newline="")))


__all__ = ["sales_metadata"]
