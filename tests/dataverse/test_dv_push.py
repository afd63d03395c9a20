"""pull, run, push against the stand-in: the org matches the working copy; a second push writes nothing."""

from __future__ import annotations

import re

from p2c_upgrade.dataverse.pull import pull
from p2c_upgrade.dataverse.push import push

from .dvhelp import cli, client_for, org_numbers, writes

NUMBER = re.compile(r"^(ACC|CON)-(\d{5,})-[A-Z0-9]{6}$")


def seq(value):
    m = NUMBER.match(value or "")
    return int(m.group(2)) if m else None


def test_pull_run_push_then_nothing(org, sales_db, work):
    pull(work, client_for(org), page_size=150)
    code, out, err = cli(sales_db, "run")
    assert code == 0, err
    result = push(work, client_for(org), batch_size=100, concurrency=4)
    assert not result.conflicts and not result.failed
    accounts, contacts, sequence = org_numbers(org)
    assert all(a for a in accounts) and len(set(accounts)) == len(accounts)
    assert all(c for c in contacts) and len(set(contacts)) == len(contacts)
    assert sequence["account"] > max(seq(a) or 0 for a in accounts)
    assert sequence["contact"] > max(seq(c) or 0 for c in contacts)
    flags = org.sql("SELECT count(*) AS n FROM contact c WHERE msdynce_iscompanyanaccount = "
                    "(parentcustomerid IS NOT NULL AND parentcustomeridtype = 'account')")[0]["n"]
    assert flags == len(contacts)
    org.clear_requests()
    again = push(work, client_for(org))
    assert again.records == 0 and writes(org) == []
