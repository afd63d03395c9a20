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


def test_pull_fetches_columns_the_sync_mappings_name(org, sales_db, work, tmp_path):
    """A column a `[sync.tasks.*.fields]` mapping reads is created and filled, on a refresh too
    (records whose etag did not change are read again once)."""
    from .dvhelp import cli

    assert cli(sales_db, "pull", "--from", org.url)[0] == 0
    config = tmp_path / "p2c.toml"
    config.write_text('[sync.tasks.Contacts.fields]\nLASTNAME = { source = "fullname" }\n')
    code, out, err = cli(sales_db, "pull", "--from", org.url, "--config", str(config))
    assert code == 0, err
    with work.engine.connect() as conn:
        mine = dict(conn.execute(sa.text("SELECT contactid, fullname FROM contact")).all())
    theirs = {r["contactid"]: r["fullname"] for r in org.sql("SELECT contactid, fullname FROM contact")}
    assert {str(k).lower(): v for k, v in mine.items()} == theirs and any(theirs.values())


def test_pull_refuses_a_mapping_to_a_column_the_org_lacks(org, sales_db, tmp_path):
    from .dvhelp import cli

    config = tmp_path / "p2c.toml"
    config.write_text('[sync.tasks.Accounts.fields]\nORGANIZATIONNAME = { source = "nosuchcolumn" }\n')
    code, out, err = cli(sales_db, "pull", "--from", org.url, "--config", str(config))
    assert code == 2 and "sync.tasks.Accounts.fields.ORGANIZATIONNAME.source" in err
    assert "nosuchcolumn" in err and len(err.strip().splitlines()) == 1


def test_a_refresh_removes_what_the_org_deleted(org, work):
    pull(work, client_for(org), page_size=100)
    gone = org.sql("SELECT quoteid FROM quote ORDER BY quoteid LIMIT 3")
    for row in gone:
        org.sql("DELETE FROM quote WHERE quoteid = ?", (row["quoteid"],))
    result = pull(work, client_for(org), page_size=100)
    assert result.deleted == 3
    assert count(work, "quote") == org.sql("SELECT count(*) AS n FROM quote")[0]["n"]
    with work.engine.connect() as conn:
        left = conn.execute(sa.text("SELECT count(*) FROM quote WHERE CAST(quoteid AS VARCHAR(36)) IN "
                                    "(:a, :b, :c)"), dict(zip("abc", (str(r["quoteid"]).lower() for r in gone),
                                                               strict=True))).scalar()
    assert left == 0
