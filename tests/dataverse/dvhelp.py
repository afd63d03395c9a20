"""Helpers for the Dataverse tests: a client on the stand-in, the CLI in-process, org reads."""

from __future__ import annotations

from click.testing import CliRunner

from p2c_upgrade.auth import AuthSettings, token_provider
from p2c_upgrade.cli import main
from p2c_upgrade.dataverse.client import DataverseClient


def client_for(dv, **kw) -> DataverseClient:
    token = token_provider(AuthSettings(), dv.url, env_token_var="P2C_DATAVERSE_TOKEN")
    client = DataverseClient(dv.url, token, **kw)
    client.backoff_s = 0.01
    return client


def cli(sales_db, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*sales_db.args, *args])
    return result.exit_code, result.stdout, result.stderr


def org_numbers(dv) -> tuple[list[str], list[str], dict[str, int]]:
    accounts = [r["accountnumber"] for r in dv.sql("SELECT accountnumber FROM account")]
    contacts = [r["msdynce_contactnumber"] for r in dv.sql("SELECT msdynce_contactnumber FROM contact")]
    seq = {r["msdynce_entityname"]: r["msdynce_numbersequence"]
           for r in dv.sql("SELECT msdynce_entityname, msdynce_numbersequence FROM msdynce_p2cautonumber")}
    return accounts, contacts, seq


def writes(dv) -> list:
    return [r for r in dv.requests if r.method in ("PATCH", "POST", "PUT", "DELETE") and r.batch is None
            and not r.path.endswith("$batch")] + [r for r in dv.requests if r.batch is not None]
