"""The command line with a live F&O target: sync, preflight blockers (exit 3, nothing uploaded),
plan --target fno: (reads only), verify --target fno: reconciliation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from p2c_upgrade.cli import main

from .helpers import actions
from conftest import SalesDb
from sync_fixtures import account, contact, load, uid


def _config(tmp_path: Path, legal_entity: str = "USMF") -> str:
    path = tmp_path / "p2c.toml"
    path.write_text(f'[fno]\nlegal_entity = "{legal_entity}"\npoll_interval = 0.02\n'
                    'timeout = 20\n', "utf-8")
    return str(path)


def _cli(db: SalesDb, cfg: str, *args: str) -> Any:
    return CliRunner().invoke(main, [*args, *db.args, "--config", cfg, "--no-progress"])


def test_sync_then_verify_finds_a_row_deleted_in_f_and_o(sales_db: SalesDb, fno: Any,
                                                         tmp_path: Path) -> None:
    load(sales_db, [account(0), account(1)], [contact(0, parent=uid("account", 0),
                                                      parent_type="account")])
    cfg = _config(tmp_path)
    result = _cli(sales_db, cfg, "plan", "--target", f"fno:{fno.url}", "--format", "json")
    assert result.exit_code == 0, result.output
    assert not [f for f in json.loads(result.stdout)["findings"] if f["code"].startswith("fno_")]
    assert "holds every value" in result.stderr
    result = _cli(sales_db, cfg, "sync", "--target", f"fno:{fno.url}", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["target_kind"] == "fno" and doc["totals"]["inserted"] == 3

    result = _cli(sales_db, cfg, "verify", "--target", f"fno:{fno.url}", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True

    # someone deletes a customer in F&O (the stand-in has no OData delete: its store directly)
    fno.store._run("DELETE FROM records WHERE kind = 'customer' AND key_fold = ?",
                   "acc-00001-aaaaaa")
    result = _cli(sales_db, cfg, "verify", "--target", f"fno:{fno.url}", "--format", "json")
    assert result.exit_code == 3
    customers = json.loads(result.stdout)["entities"][0]
    assert customers["missing"] == 1 and customers["missing_keys"] == ["ACC-00001-AAAAAA"]
    assert customers["synchronized"] == 2 and customers["in_fno"] == 1
    table = _cli(sales_db, cfg, "verify", "--target", f"fno:{fno.url}")
    assert "missing: ACC-00001-AAAAAA" in table.stdout


def test_preflight_blockers_upload_nothing(sales_db: SalesDb, start_fno: Any,
                                           tmp_path: Path) -> None:
    from fno_standin import FnoSetup

    fno = start_fno(setup=FnoSetup(customer_groups=("20",), currencies=("EUR",),
                                   languages=("de",)).with_sequence(manual=False))
    load(sales_db, [account(0)], [])
    cfg = _config(tmp_path)
    result = _cli(sales_db, cfg, "plan", "--target", f"fno:{fno.url}", "--format", "json")
    assert result.exit_code == 3, result.output
    doc = json.loads(result.stdout)
    found = {f["code"]: f for f in doc["findings"]}
    assert {"fno_customer_group", "fno_currency", "fno_language", "fno_number_sequence"} <= set(found)
    assert all(found[c]["severity"] == "blocker" for c in found if c.startswith("fno_"))
    assert found["fno_customer_group"]["examples"] == [
        {"table": "F&O USMF", "id": "CUSTOMERGROUPID", "value": "10"}]
    assert found["fno_currency"]["count"] == 1 and doc["has_blockers"] is True
    assert "4 findings" in result.stderr
    for fmt, text in (("table", "fno_language"), ("markdown", "fno_number_sequence"),
                      ("html", "fno_currency"), ("csv", "")):
        result = _cli(sales_db, cfg, "plan", "--target", f"fno:{fno.url}", "--format", fmt)
        assert result.exit_code == 3 and text in result.stdout, (fmt, result.output)
    # plan only reads: nothing was uploaded or imported
    assert actions(fno, "GetAzureWriteUrl") == [] and fno.executions() == []
    result = _cli(sales_db, cfg, "sync", "--target", f"fno:{fno.url}")
    assert result.exit_code == 3 and "nothing was uploaded" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert actions(fno, "GetAzureWriteUrl") == [] and fno.executions() == []


def test_unknown_legal_entity_and_missing_setting(sqlite_db: SalesDb, fno: Any,
                                                  tmp_path: Path) -> None:
    load(sqlite_db, [account(0)], [])
    result = _cli(sqlite_db, _config(tmp_path, "ZZ"), "sync", "--target", f"fno:{fno.url}")
    assert result.exit_code == 3 and "legal entity ZZ does not exist" in result.stderr
    empty = tmp_path / "empty.toml"
    empty.write_text("", "utf-8")
    result = _cli(sqlite_db, str(empty), "sync", "--target", f"fno:{fno.url}")
    assert result.exit_code == 2 and "[fno] legal_entity" in result.stderr
    assert fno.executions() == []


def test_plain_http_to_a_remote_host_is_refused(sqlite_db: SalesDb, fno_token: str,
                                                tmp_path: Path) -> None:
    """The shared sign-in rule (auth.check_service_url): http:// only on loopback; a usage error."""
    load(sqlite_db, [account(0)], [])
    cfg = _config(tmp_path)
    for command in ("sync", "plan", "verify"):
        result = _cli(sqlite_db, cfg, command, "--target", "fno:http://contoso.operations.dynamics.com")
        assert result.exit_code == 2, (command, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "refusing plain http://" in lines[0], (command, result.stderr)


def test_fno_secret_in_the_configuration_is_refused(sqlite_db: SalesDb, fno: Any,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "secret.toml"
    path.write_text('[fno]\nlegal_entity = "USMF"\nclient_secret = "x"\n', "utf-8")
    result = _cli(sqlite_db, str(path), "sync", "--target", f"fno:{fno.url}")
    assert result.exit_code == 2 and "fno.client_secret looks like a secret" in result.stderr
    assert "x\n" not in result.stderr and fno.executions() == []
