"""A sync stopped while F&O imports resumes by following the same execution; throttling, 503,
failed, canceled and refused imports; bad hosts and tokens. One clear line, contract exit codes,
state consistent."""

from __future__ import annotations

from typing import Any

import pytest

from p2c_upgrade.errors import P2CError

from .helpers import actions, fno_config, fno_sync, record_states
from conftest import SalesDb
from sync_fixtures import account, contact, load, uid


class Killed(BaseException):
    """The process dies here (not an Exception: nothing may catch it)."""


def _load(db: SalesDb) -> None:
    load(db, [account(0), account(1)], [contact(0, parent=uid("account", 0), parent_type="account")])


def test_stopped_while_polling_then_rerun_follows_the_same_execution(sales_db: SalesDb,
                                                                     fno: Any) -> None:
    _load(sales_db)
    fno.faults.hold_imports()
    with pytest.raises(P2CError, match="still Executing .* run the same sync again"):
        fno_sync(sales_db, fno, fno_config(timeout=1.0))
    [requested] = actions(fno, "ImportFromPackage")
    assert {s for s, _, _ in record_states(sales_db).values()} == {"pending"}
    fno.faults.release_imports()

    summary = fno_sync(sales_db, fno)
    assert summary.exit_code == 0, summary.to_dict()
    assert len(actions(fno, "ImportFromPackage")) == 1, "the same package is never imported twice"
    [execution] = fno.executions()
    assert execution["status"] == "Succeeded"
    assert {s for s, _, _ in record_states(sales_db).values()} == {"synced"}
    assert summary.to_dict()["totals"]["unchanged"] == 3
    assert len(fno.customers()) == 2


def test_killed_before_the_request_reached_f_and_o_sends_again(sales_db: SalesDb, fno: Any,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """The execution id is recorded before ImportFromPackage; F&O never saw it (Unknown): the
    import is abandoned and its records go out in a new one."""
    from p2c_upgrade.fno.client import FnoClient

    _load(sales_db)
    real = FnoClient.action

    def die_on_import(self: FnoClient, name: str, **params: Any) -> Any:
        if name == "ImportFromPackage":
            raise Killed
        return real(self, name, **params)

    monkeypatch.setattr(FnoClient, "action", die_on_import)
    with pytest.raises(Killed):
        fno_sync(sales_db, fno)
    monkeypatch.setattr(FnoClient, "action", real)
    summary = fno_sync(sales_db, fno)
    assert summary.exit_code == 0 and len(fno.executions()) == 1
    assert len(fno.customers()) == 2 and len(fno.contact_persons()) == 1


def test_429_with_retry_after_and_503_while_polling(sqlite_db: SalesDb, fno: Any) -> None:
    _load(sqlite_db)
    fno.faults.fail_next("DataManagementDefinitionGroups", status=429, times=1, retry_after=1)
    fno.faults.fail_next("GetExecutionSummaryStatus", status=429, times=1, retry_after=1)
    fno.faults.fail_next("GetExecutionSummaryStatus", status=503, times=2)
    summary = fno_sync(sqlite_db, fno)
    assert summary.exit_code == 0, summary.to_dict()
    statuses = [r["status"] for r in fno.requests if "GetExecutionSummaryStatus" in r["path"]]
    assert 429 in statuses and statuses.count(503) == 2
    throttled = [r for r in fno.requests if r["status"] == 429]
    after = [r for r in fno.requests if r["time"] > throttled[-1]["time"]]
    assert after[0]["time"] - throttled[-1]["time"] >= 0.9, "Retry-After: 1 honoured"
    assert len(fno.customers()) == 2


def test_an_import_that_ends_failed_or_canceled(sqlite_db: SalesDb, fno: Any) -> None:
    _load(sqlite_db)
    fno.faults.fail_next_import("DMF043: Package execution has failed.")
    summary = fno_sync(sqlite_db, fno)
    assert summary.exit_code == 3
    states = record_states(sqlite_db)
    assert {s[1] for s in states.values()} == {"fno_import_failed"}
    assert "DMF043" in states[uid("account", 0)][2]
    # the rerun sends them again, in a new import
    assert fno_sync(sqlite_db, fno).exit_code == 0 and len(fno.executions()) == 2


def test_canceled_in_f_and_o(sqlite_db: SalesDb, fno: Any) -> None:
    _load(sqlite_db)
    fno.faults.hold_imports()
    with pytest.raises(P2CError):
        fno_sync(sqlite_db, fno, fno_config(timeout=1.0))
    fno.cancel(fno.executions()[0]["id"])
    fno.faults.release_imports()
    summary = fno_sync(sqlite_db, fno)
    # the canceled import's records were failed, then sent again in this very run
    assert summary.exit_code == 0 and len(fno.executions()) == 2


def test_upload_refused(sqlite_db: SalesDb, fno: Any) -> None:
    _load(sqlite_db)
    fno.faults.fail_next("/dmf/", status=403, times=1, method="PUT")
    with pytest.raises(P2CError, match="refused the upload") as info:
        fno_sync(sqlite_db, fno)
    assert info.value.exit_code == 1 and len("\n".split(info.value.message)) == 1
    assert actions(fno, "ImportFromPackage") == []
    assert fno_sync(sqlite_db, fno).exit_code == 0


def test_bad_token_unreachable_host_and_unknown_legal_entity(sqlite_db: SalesDb, fno: Any,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    _load(sqlite_db)
    monkeypatch.setenv("P2C_FNO_TOKEN", "wrong")
    with pytest.raises(P2CError, match="refused .* 401.*Microsoft Entra ID applications"):
        fno_sync(sqlite_db, fno)
    monkeypatch.setenv("P2C_FNO_TOKEN", "p2c-test-token")
    with pytest.raises(P2CError, match="cannot reach F&O at 127.0.0.1:9"):
        from sync_fixtures import sync

        sync(sqlite_db, "fno:http://127.0.0.1:9", fno_config())
    with pytest.raises(P2CError, match="legal entity XX does not exist") as info:
        fno_sync(sqlite_db, fno, fno_config(legal_entity="XX"))
    assert info.value.exit_code == 3
    assert fno.executions() == []
