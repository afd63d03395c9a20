"""pull: copies, refreshes, resumes, remembers its org."""

from __future__ import annotations

import sqlalchemy as sa

from p2c_upgrade.auth import AuthSettings, token_provider
from p2c_upgrade.dataverse.client import DataverseClient
from p2c_upgrade.dataverse.pull import pull


def client_for(dv, **kw):
    return DataverseClient(dv.url, token_provider(AuthSettings(), dv.url, env_token_var="P2C_DATAVERSE_TOKEN"), **kw)


def count(db, table):
    with db.engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()


def test_pull_copies_everything(org, work):
    result = pull(work, client_for(org), page_size=100)
    for table in ("account", "contact", "quote", "salesorder", "invoice"):
        assert count(work, table) == org.sql(f"SELECT count(*) AS n FROM {table}")[0]["n"]
    assert result.records["account"] == 200
    assert count(work, "msdynce_p2cautonumber") == 2
