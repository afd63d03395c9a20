"""The Sales tables of the contract as SQLAlchemy Core, the columns P2C adds, and schema checks.

The tool never assumes its own DDL made the tables: it reflects what is there and names
everything that is missing in one message.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from p2c_upgrade.db import sqlfiles
from p2c_upgrade.db.dialects import dialect_for
from p2c_upgrade.errors import P2CError

# uuid on PostgreSQL, its canonical text (lower case, dashes) on SQLite: `CAST(id AS TEXT)`
# is the same string on both, so number suffixes agree across databases.
Guid = sa.String(36).with_variant(postgresql.UUID(as_uuid=False), "postgresql")


def sales_metadata() -> sa.MetaData:
    """The Sales tables as the contract lists them (before the P2C solution)."""
    md = sa.MetaData()
    sa.Table(
        "account", md,
        sa.Column("accountid", Guid, primary_key=True),
        sa.Column("name", sa.String(160)),
        sa.Column("accountnumber", sa.String(20)),
        sa.Column("address1_country", sa.String(80)),
        sa.Column("address1_city", sa.String(80)),
        sa.Column("statecode", sa.Integer, nullable=False, server_default="0"),
        sa.Column("createdon", sa.DateTime),
    )
    sa.Table(
        "contact", md,
        sa.Column("contactid", Guid, primary_key=True),
        sa.Column("firstname", sa.String(50)),
        sa.Column("lastname", sa.String(50)),
        sa.Column("parentcustomerid", Guid),
        sa.Column("parentcustomeridtype", sa.String(16)),
        sa.Column("address1_country", sa.String(80)),
        sa.Column("statecode", sa.Integer, nullable=False, server_default="0"),
        sa.Column("createdon", sa.DateTime),
    )
    for name in DOCUMENT_TABLES:
        sa.Table(
            name, md,
            sa.Column(f"{name}id", Guid, primary_key=True),
            sa.Column("customerid", Guid),
            sa.Column("customeridtype", sa.String(16)),
            sa.Column("statecode", sa.Integer, nullable=False, server_default="0"),
            sa.Column("createdon", sa.DateTime),
        )
    sa.Table(
        "organization", md,
        sa.Column("organizationid", Guid, primary_key=True),
        sa.Column("issopintegrationenabled", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    return md


DOCUMENT_TABLES = ("quote", "salesorder", "invoice")

#: What the tool reads from each Sales table (organization is optional).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "account": ("accountid", "name", "accountnumber", "address1_country", "address1_city",
                "statecode", "createdon"),
    "contact": ("contactid", "firstname", "lastname", "parentcustomerid", "parentcustomeridtype",
                "address1_country", "statecode", "createdon"),
    "quote": ("quoteid", "customerid", "customeridtype", "statecode", "createdon"),
    "salesorder": ("salesorderid", "customerid", "customeridtype", "statecode", "createdon"),
    "invoice": ("invoiceid", "customerid", "customeridtype", "statecode", "createdon"),
}


@dataclass(frozen=True)
class P2CColumn:
    table: str
    column: str
    ddl_type: str
    default: str | None


#: The columns the P2C solution adds to contact (ddl types are portable between both databases).
P2C_COLUMNS = (
    P2CColumn("contact", "msdynce_contactnumber", "VARCHAR(20)", None),
    P2CColumn("contact", "msdynce_isactivecustomer", "BOOLEAN", "false"),
    P2CColumn("contact", "msdynce_iscompanyanaccount", "BOOLEAN", "false"),
)

AUTONUMBER_TABLE = "msdynce_p2cautonumber"

#: (entity, prefix, first number, suffix length), as the upgrade package creates them.
AUTONUMBER_ROWS = (("account", "ACC", 1000, 6), ("contact", "CON", 1000, 6))


def autonumber_table() -> sa.TableClause:
    return sa.table(
        AUTONUMBER_TABLE,
        sa.column("msdynce_entityname", sa.String),
        sa.column("msdynce_prefix", sa.String),
        sa.column("msdynce_numbersequence", sa.Integer),
        sa.column("msdynce_suffixlength", sa.Integer),
    )


def existing_columns(conn: Connection) -> dict[str, set[str]]:
    """Tables of the current schema (search_path on PostgreSQL) and their columns, lower-cased.
    On PostgreSQL from the catalog alone (db/sql/postgresql/catalog.sql): no table lock."""
    return dialect_for(conn.dialect.name).table_columns(conn)


def missing_sales_objects(conn: Connection) -> list[str]:
    found = existing_columns(conn)
    missing: list[str] = []
    for table, columns in REQUIRED_COLUMNS.items():
        if table not in found:
            missing.append(f"table {table}")
            continue
        missing.extend(f"column {table}.{c}" for c in columns if c not in found[table])
    return missing


def check_sales_schema(conn: Connection) -> dict[str, set[str]]:
    """Raise one error naming every missing Sales table and column (exit 1, every command's
    same message); when tables are missing but another PostgreSQL schema holds the Sales tables,
    the message suggests `--schema NAME`."""
    missing = missing_sales_objects(conn)
    if missing:
        raise P2CError("not a Sales database: missing " + ", ".join(missing)
                       + _schema_hint(conn, missing))
    return existing_columns(conn)


def _schema_hint(conn: Connection, missing: list[str]) -> str:
    """`; the Sales tables are in schema X: give --schema X` when the schema in use lacks a
    Sales table and other schemas hold account and contact (PostgreSQL catalog only)."""
    if conn.dialect.name != "postgresql" or not any(m.startswith("table ") for m in missing):
        return ""
    others = [str(r[0]) for r in conn.execute(
        sa.text(sqlfiles.statement("postgresql", "catalog", "other_sales_schemas")))]
    if not others:
        return ""
    where = " and ".join(others[:3]) + (" and others" if len(others) > 3 else "")
    return (f"; the Sales tables are in schema {where}: give --schema {others[0]}"
            if len(others) == 1 else f"; schemas {where} hold Sales tables: give --schema NAME")


def pk_type_sql(conn: Connection, table: str, column: str) -> str:
    """The SQL type of a key column, for `CAST(:cursor AS <type>)` on PostgreSQL."""
    return dialect_for(conn.dialect.name).key_type(conn, table, column)
