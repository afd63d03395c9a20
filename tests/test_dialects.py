"""Each dialect's differences live in `db/dialects.py`: the open database names its dialect
class, and that class's set-up is what the connection runs (quoting, read-only, the schema)."""

from __future__ import annotations

import sqlalchemy as sa

from p2c_upgrade.db.dialects import PostgreSQLDialect, SQLiteDialect, dialect_for
from tests.conftest import SalesDb


def test_the_open_database_uses_its_dialect_class(sales_db: SalesDb) -> None:
    db = sales_db.open()
    try:
        impl = db.dialect_impl
        assert isinstance(impl, PostgreSQLDialect if sales_db.kind == "postgresql" else SQLiteDialect)
        assert impl is dialect_for(db.engine.dialect.name)
        assert impl.name == db.dialect  # the folder of its packaged SQL
        assert db.quote('a"b') == '"a""b"'
        with db.engine.connect() as conn:
            assert impl.current_schema(conn) == sales_db.schema
            assert "account" in impl.table_columns(conn)
            # the driver's own placeholder, as the bulk layer sends it
            assert conn.exec_driver_sql(f"SELECT {impl.placeholder}", ("x",)).scalar() == "x"
    finally:
        db.dispose()


def test_plan_reads_in_a_transaction_that_cannot_write(sales_db: SalesDb) -> None:
    db = sales_db.open(read_only=True)
    try:
        with db.engine.connect() as conn, db.dialect_impl.read_only_transaction(conn) as ro:
            try:
                ro.execute(sa.text("UPDATE account SET accountnumber = accountnumber"))
            except sa.exc.DBAPIError as exc:
                assert "read" in str(exc).lower()
            else:
                raise AssertionError("a write went through the read-only transaction")
    finally:
        db.dispose()
