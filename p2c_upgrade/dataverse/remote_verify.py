"""`verify --remote`: the upgrade's post-conditions checked in the org itself (GET requests only).

Checks (the same rules as the local `verify`; source: the contract's steps):
- the P2C solution is installed (msdynce_p2cautonumber exists);
- every account and every contact has a number, and no number is given twice (compared folded,
  as F&O compares: case- and accent-insensitive, trailing spaces ignored);
- each sequence's next value is above every number of its format in the org;
- Is Active Customer is Yes for every contact that is the customer of a quote, order or invoice;
- Is Company an Account = the contact's company (parent) is an account.
Reads every account, contact and document once, a page at a time (memory: the id sets).
Shape: list of {"check", "ok", "failures"} like the local verify.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..rules.keys import dataverse_key, is_blank
from ..rules.number_format import seqpart
from .client import DataverseClient
from .pull import inspect_org
from .tables import LOOKUP_ANNOTATION

MAX_LISTED = 5


def _pages(client: DataverseClient, path: str, page_size: int) -> Iterator[dict[str, Any]]:
    headers = {"Prefer": f'odata.maxpagesize={page_size},odata.include-annotations="{LOOKUP_ANNOTATION[1:]}"'}
    link: str | None = path
    while link:
        body = client.get_json(link, headers=headers)
        yield from body.get("value", [])
        link = body.get("@odata.nextLink")


def _fold(value: str) -> str:
    """The org's alternate-key equality: `p2c_upgrade.rules.keys.dataverse_key`."""
    return dataverse_key(value) or ""


def _check(name: str, failures: list[str]) -> dict[str, Any]:
    more = len(failures) - MAX_LISTED
    shown = failures[:MAX_LISTED] + ([f"... and {more} more"] if more > 0 else [])
    return {"check": name, "ok": not failures, "failures": shown}


def verify_remote(client: DataverseClient, page_size: int = 5000) -> list[dict[str, Any]]:
    info = inspect_org(client)
    if not info.solution_installed:
        return [_check("P2C solution installed", ["msdynce_p2cautonumber does not exist in the org"])]
    seq = {r["msdynce_entityname"]: r for r in _pages(
        client, "msdynce_p2cautonumbers?$select=msdynce_entityname,msdynce_prefix,msdynce_numbersequence", page_size)}
    checks = [_check("P2C solution installed", [])]
    customers: set[str] = set()
    for entity_set in ("quotes", "salesorders", "invoices"):
        for rec in _pages(client, f"{entity_set}?$select=_customerid_value", page_size):
            if rec.get(f"_customerid_value{LOOKUP_ANNOTATION}") == "contact":
                customers.add(str(rec["_customerid_value"]).lower())
    for table, entity_set, col, extra in (
        ("account", "accounts", "accountnumber", ""),
        ("contact", "contacts", "msdynce_contactnumber",
         ",_parentcustomerid_value,msdynce_isactivecustomer,msdynce_iscompanyanaccount"),
    ):
        missing: list[str] = []
        seen: dict[str, str] = {}
        dupes: list[str] = []
        flags: list[str] = []
        active: list[str] = []
        highest = 0
        prefix = seq.get(table, {}).get("msdynce_prefix") or ""
        for rec in _pages(client, f"{entity_set}?$select={table}id,{col}{extra}", page_size):
            rid = str(rec[f"{table}id"]).lower()
            number = rec.get(col)
            if number is None or is_blank(str(number)):
                missing.append(rid)
            else:
                key = _fold(number)
                if key in seen:
                    dupes.append(f"{number!r} ({seen[key]}, {rid})")
                seen[key] = rid
                highest = max(highest, seqpart(number, prefix) or 0)
            if table == "contact":
                is_account = rec.get(f"_parentcustomerid_value{LOOKUP_ANNOTATION}") == "account" \
                    and rec.get("_parentcustomerid_value") is not None
                if bool(rec.get("msdynce_iscompanyanaccount")) != is_account:
                    flags.append(rid)
                if rid in customers and not rec.get("msdynce_isactivecustomer"):
                    active.append(rid)
        checks.append(_check(f"every {table} has a number", missing))
        checks.append(_check(f"no {table} number twice", dupes))
        nxt = int(seq.get(table, {}).get("msdynce_numbersequence") or 0)
        checks.append(_check(f"{table} sequence above its numbers",
                             [] if nxt > highest else [f"next value {nxt}, highest number {highest}"]))
        if table == "contact":
            checks.append(_check("active customers flagged", active))
            checks.append(_check("company-is-account flag", flags))
    return checks
