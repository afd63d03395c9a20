"""push's guarantees through the command line: conflicts, a moved sequence, the solution missing,
the bypass header, faults (429, 503, a connection dropped after the write), concurrent users."""

from __future__ import annotations

import threading
import time

import pytest

from p2c_upgrade.rules.number_format import seqpart

from .dvhelp import cli, org_numbers


def pull_run(org, sales_db):
    code, _, err = cli(sales_db, "pull", "--from", org.url)
    assert code == 0, err
    code, _, err = cli(sales_db, "run")
    assert code == 0, err


def test_walkthrough_and_verify_remote(org, sales_db):
    pull_run(org, sales_db)
    code, out, err = cli(sales_db, "verify", "--remote")
    assert code == 3                               # nothing pushed yet
    code, out, err = cli(sales_db, "push")
    assert code == 0, err + out
    code, out, err = cli(sales_db, "verify", "--remote")
    assert code == 0, out
    org.clear_requests()
    code, out, _ = cli(sales_db, "push")
    assert code == 0 and [r for r in org.requests if r.method != "GET"] == []
    assert not [r for r in org.requests if r.bypass_custom_plugin]


def test_conflict_then_converge(org, sales_db):
    pull_run(org, sales_db)
    victim = org.sql("SELECT accountid FROM account WHERE accountnumber IS NULL LIMIT 1")[0]["accountid"]
    org.sql("UPDATE account SET accountnumber = 'MANUAL-1' WHERE accountid = ?", (victim,))
    code, out, err = cli(sales_db, "push")
    assert code == 3 and f"CONFLICT account {victim} accountnumber" in out
    assert org.sql("SELECT accountnumber FROM account WHERE accountid = ?", (victim,))[0]["accountnumber"] == "MANUAL-1"
    pull_run(org, sales_db)
    code, out, err = cli(sales_db, "push")
    assert code == 0, out
    assert cli(sales_db, "verify", "--remote")[0] == 0


def test_sequence_moved_writes_nothing(org, sales_db):
    pull_run(org, sales_db)
    org.create_as_user("account", {"name": "created in Sales meanwhile"})
    org.clear_requests()
    code, out, err = cli(sales_db, "push")
    assert code == 3 and "pull and run again" in err
    assert [r for r in org.requests if r.method not in ("GET",)] == []
    pull_run(org, sales_db)
    assert cli(sales_db, "push")[0] == 0
    accounts, _, seq = org_numbers(org)
    assert len(set(accounts)) == len(accounts) and all(accounts)


def test_solution_not_installed_blocks(make_org, sales_db):
    org = make_org(solution_installed=False)
    code, out, err = cli(sales_db, "pull", "--from", org.url)
    assert code == 0 and "BLOCKER" in out
    assert cli(sales_db, "run")[0] == 0
    org.clear_requests()
    code, out, err = cli(sales_db, "push")
    assert code == 3 and "not installed" in err
    assert [r for r in org.requests if r.method != "GET"] == []


def test_bypass_header_only_when_asked(org, sales_db):
    pull_run(org, sales_db)
    code, _, err = cli(sales_db, "push", "--bypass-custom-logic")
    assert code == 0, err
    writes = [r for r in org.requests if r.method == "PATCH"]
    assert writes and all(r.bypass_custom_plugin for r in writes)


@pytest.mark.parametrize("fault", ["drop", "503", "429"])
def test_faults_apply_nothing_twice(make_org, sales_db, fault):
    from dataverse_standin import ThrottleConfig

    org = make_org()
    pull_run(org, sales_db)
    org.clear_requests()
    if fault == "drop":
        org.drop_next(1, method="POST")
    elif fault == "503":
        org.fail_next(503, count=3, method="POST")
    else:
        org.set_throttle(ThrottleConfig(requests=3, window_s=1))
    code, out, err = cli(sales_db, "push")
    assert code == 0, err + out
    if fault == "drop":       # the replayed batch answers 412 per record: re-read 100 records per GET, not one
        rereads = [r for r in org.requests if r.method == "GET" and r.path in ("accounts", "contacts")]
        assert 0 < len(rereads) <= 10
    org.set_throttle(None)
    assert cli(sales_db, "verify", "--remote")[0] == 0
    applied = [r for r in org.requests if r.method == "PATCH" and r.status < 300 and r.batch is not None]
    assert len(applied) == len({(r.path) for r in applied})   # no record written twice


@pytest.mark.parametrize("race_window_s", [0.0, 0.05])
def test_users_creating_records_during_push(make_org, sales_db, race_window_s):
    """Users create accounts and contacts through the org's auto-number plug-in (which reads its
    counter without a lock; `race_window_s` widens that gap) while push runs: in the end no
    number exists twice in the org, whole or by its sequence part."""
    org = make_org(plugin_race_window_s=race_window_s)
    pull_run(org, sales_db)
    org.clear_requests()
    stop = threading.Event()

    def users():                                    # from the moment push reads the sequences
        while not stop.is_set() and not any(r.path.startswith("msdynce_p2cautonumbers(") for r in org.requests):
            time.sleep(0.001)
        while not stop.is_set():
            org.create_as_user("contact", {"lastname": "walk-in"})
            org.create_as_user("account", {"name": "walk-in"})

    thread = threading.Thread(target=users)
    thread.start()
    try:
        code, out, err = cli(sales_db, "push")
        for _ in range(3):
            if code != 3:
                break
            assert "pull and run again" in err      # the sequence moved before or during the reservation
            pull_run(org, sales_db)
            code, out, err = cli(sales_db, "push")
    finally:
        stop.set()
        thread.join()
    assert code in (0, 3), err
    if code == 3:
        pull_run(org, sales_db)
        code, out, err = cli(sales_db, "push")
    assert code == 0, err + out
    accounts, contacts, _ = org_numbers(org)
    assert all(accounts) and all(contacts)
    for numbers, prefix in ((accounts, "ACC"), (contacts, "CON")):
        assert len(set(numbers)) == len(numbers)
        generated = [n for n in (seqpart(x, prefix) for x in numbers) if n is not None]
        assert len(set(generated)) == len(generated), "a sequence number exists twice"


def test_create_racing_the_reservation_blocks_before_any_write(make_org, sales_db):
    """A create whose plug-in read the counter before the reservation and writes after it moves
    the counter back under our numbers: push sees it after settling, writes nothing, exit 3."""
    org = make_org(plugin_race_window_s=0.6)
    pull_run(org, sales_db)
    org.clear_requests()

    def racing_user():                    # reads the counter as push starts, writes 0.6 s later
        while not any(r.path == "WhoAmI" for r in org.requests):
            time.sleep(0.001)
        org.create_as_user("account", {"name": "racing walk-in"})

    thread = threading.Thread(target=racing_user)
    thread.start()
    code, out, err = cli(sales_db, "push")
    thread.join()
    assert code == 3 and "pull and run again" in err, err + out
    assert [r for r in org.requests if r.method == "POST" and r.path == "$batch"] == []
    pull_run(org, sales_db)
    assert cli(sales_db, "push")[0] == 0
    accounts, _, _ = org_numbers(org)
    generated = [n for n in (seqpart(x, "ACC") for x in accounts) if n is not None]
    assert len(set(generated)) == len(generated)


def test_status_and_plan_data(org, sales_db, work):
    import sqlalchemy as sa  # noqa: F401

    from p2c_upgrade.dataverse.report import live_status, push_plan

    pull_run(org, sales_db)
    with work.engine.connect() as conn:
        plan = push_plan(conn)
        account = next(t for t in plan["tables"] if t["table"] == "account")
        assert plan["records"] > 0 and {"column": "accountnumber", "records": account["records"]} in account["columns"]
        assert live_status(conn)["push"]["pending"] > 0
    assert cli(sales_db, "push")[0] == 0
    code, out, _ = cli(sales_db, "status")
    assert code == 0 and "0 pending" in out


def test_other_org_and_http_refused(make_org, sales_db):
    first, second = make_org(), make_org(seed=2)
    assert cli(sales_db, "pull", "--from", first.url)[0] == 0
    code, _, err = cli(sales_db, "pull", "--from", second.url)
    assert code == 2 and "pulled from" in err
    code, _, err = cli(sales_db, "pull", "--from", "http://contoso.crm.dynamics.com")
    assert code == 2 and "http" in err and "\n" not in err.strip()
