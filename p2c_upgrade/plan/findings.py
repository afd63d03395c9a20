"""Data-quality findings: what in the Sales data would break or surprise the upgrade or the sync.

Each finding has a stable code, a severity (a blocker stops `plan` with exit 3: the upgrade
should not go ahead until it is resolved), a count and example records. The runbook
`runbooks/reviewing-the-dry-run.md` says what to do about each code; a test keeps the two in
step. Counts are aggregated in SQL; only the examples come back as rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.db.schema import DOCUMENT_TABLES
from p2c_upgrade.plan.model import BLOCKER, WARNING, DuplicateGroup, Example, Finding, Member, NumberPlan
from p2c_upgrade.plan.source import EXAMPLES, Snapshot, key_params, statement
from p2c_upgrade.rules.number_format import MAX_NUMBER_LENGTH
from p2c_upgrade.upgrade.duplicates import collision_groups


@dataclass(frozen=True)
class Kind:
    severity: str
    title: str
    action: str


BAD = "/ < > * % & : \\ ? +"

KINDS: dict[str, Kind] = {
    "colliding_account_numbers": Kind(
        BLOCKER, "Groups of account numbers that collide as keys (case, accents, trailing blanks "
                 "ignored)",
        "after `p2c-upgrade run`, run `p2c-upgrade duplicates --renumber` (the oldest record "
        "of each group keeps its number), then `p2c-upgrade sync`; or correct the numbers in "
        "Sales"),
    "colliding_contact_numbers": Kind(
        BLOCKER, "Groups of contact numbers that collide as keys (case, accents, trailing blanks "
                 "ignored)",
        "clear or correct all but one number of each group in Sales; run numbers the cleared ones"),
    "account_number_too_long": Kind(
        BLOCKER, f"Account numbers longer than {MAX_NUMBER_LENGTH} characters",
        "shorten them in Sales, or clear them so account-numbers gives a new number"),
    "account_number_bad_characters": Kind(
        BLOCKER, f"Account numbers holding a character that breaks key look-ups ({BAD})",
        "correct them in Sales, or clear them so account-numbers gives a new number"),
    "contact_number_too_long": Kind(
        BLOCKER, f"Contact numbers longer than {MAX_NUMBER_LENGTH} characters",
        "shorten them in Sales, or clear them so contact-numbers gives a new number"),
    "contact_number_bad_characters": Kind(
        BLOCKER, f"Contact numbers holding a character that breaks key look-ups ({BAD})",
        "correct them in Sales, or clear them so contact-numbers gives a new number"),
    "sequence_invalid": Kind(
        BLOCKER, "Number sequences in msdynce_p2cautonumber that cannot be used",
        "correct the row: a prefix, a next number of 0 or more, a suffix length of 0 to 16"),
    "p2c_solution_not_installed": Kind(
        BLOCKER, "The org this copy was pulled from had no Prospect to cash solution at the pull",
        "install the Prospect to cash solution in the org, then `pull` again; `push` refuses "
        "until then"),
    "number_too_long": Kind(
        BLOCKER, f"Sequences that would hand out numbers longer than {MAX_NUMBER_LENGTH} "
        "characters", "shorten the prefix or the suffix length in msdynce_p2cautonumber"),
    "fno_legal_entity": Kind(
        BLOCKER, "F&O preflight (plan --target fno:): the legal entity does not exist in F&O",
        "set [fno] legal_entity to an existing company (Organization administration > "
        "Organizations > Legal entities)"),
    "fno_customer_group": Kind(
        BLOCKER, "F&O preflight: customer groups the records carry that F&O's legal entity lacks",
        "create them (Accounts receivable > Setup > Customer groups), or map the values to "
        "existing groups ([sync.defaults] / [sync.value_maps])"),
    "fno_currency": Kind(
        BLOCKER, "F&O preflight: currencies the records carry that F&O lacks",
        "create them (General ledger > Currencies > Currencies), or map the values "
        "([sync.defaults] / [sync.value_maps])"),
    "fno_language": Kind(
        BLOCKER, "F&O preflight: languages the records carry that F&O lacks",
        "add them (Organization administration > Setup > Languages), or map the values "
        "([sync.defaults] / [sync.value_maps])"),
    "fno_country": Kind(
        BLOCKER, "F&O preflight: country codes the records carry that match no country/region "
                 "in F&O",
        "add the country/region (Organization administration > Global address book > "
        "Addresses > Country/region), or set [sync] country_codes / a country value map"),
    "fno_number_sequence": Kind(
        BLOCKER, "F&O preflight: the customer account number sequence refuses given numbers",
        "set the sequence Manual = Yes or allow \"To a higher number\" (Organization "
        "administration > Number sequences; Accounts receivable parameters > Number "
        "sequences, Customer account)"),
    "contact_parent_missing": Kind(
        WARNING, "Contacts whose company (parent account or contact) does not exist",
        "set the company to an existing account or contact, or clear it; such a contact "
        "person fails to sync (parent_missing)"),
    "contact_parent_type_unknown": Kind(
        WARNING, "Contacts whose parentcustomeridtype is neither account nor contact",
        "correct parentcustomeridtype; these contacts are not synchronized as contact persons"),
    "document_customer_missing": Kind(
        WARNING, "Quotes, orders or invoices whose customer does not exist",
        "correct the customer; the document makes nobody an active customer"),
    "document_customer_type_unknown": Kind(
        WARNING, "Quotes, orders or invoices whose customeridtype is neither account nor contact",
        "correct customeridtype; the document makes nobody an active customer"),
    "blank_country": Kind(
        WARNING, "Records the sync selects with a blank country",
        "nothing, if the sync's default country is right for them; otherwise fill the country"),
    "unknown_country": Kind(
        WARNING, "Records that will fail the sync (unknown_country): their country matches no "
        "value map or ISO 3166 code; the upgrade goes ahead, the sync fails each of them",
        "before the sync, map each value to an ISO 3166 code in the configuration's "
        "[sync.value_maps.country] (\"Sales value\" = \"ISO code\"), or correct the country "
        "in Sales; plan again to check"),
    "sync_task_over_limit": Kind(
        WARNING, "Sync tasks over the initial sync's per-run limit",
        "plan the initial sync in several runs (the data package splits files at the limit)"),
    "run_in_progress": Kind(
        WARNING, "A p2c-upgrade run holds the upgrade lock: this plan is already moving",
        "wait for the run to finish, then run plan again"),
}


def finding(code: str, count: int, examples: list[Example] | None = None,
            by_table: dict[str, int] | None = None, title: str | None = None,
            action: str | None = None) -> Finding:
    kind = KINDS[code]
    return Finding(code, kind.severity, title or kind.title, count, action or kind.action,
                   dict(by_table or {}), list(examples or [])[:EXAMPLES])


def problem_findings(conn: Connection, db: Database, rows_sql: str, params: dict[str, Any],
                     codes: dict[str, str]) -> list[Finding]:
    """Run a `*_problems` SELECT through plan.sql `problems`; `codes` maps problem -> code."""
    sql = statement(db, "problems", rows=rows_sql)
    found: dict[str, Finding] = {}
    for r in conn.execute(sa.text(sql), {**params, "examples": EXAMPLES}):
        code = codes[r.problem]
        f = found.get(code) or found.setdefault(code, finding(code, 0))
        if r.tbl not in f.by_table:
            f.by_table[r.tbl] = int(r.cnt)
            f.count += int(r.cnt)
        f.examples.append(Example(r.tbl, r.id, r.value))
    for f in found.values():
        f.examples = f.examples[:EXAMPLES]
    return list(found.values())


def key_findings(conn: Connection, db: Database, snap: Snapshot) -> list[Finding]:
    out: list[Finding] = []
    for table, pk, col in (("account", "accountid", "accountnumber"),
                           ("contact", "contactid", "msdynce_contactnumber")):
        if not snap.has_column(table, col):
            continue
        rows = statement(db, "key_problems", table=db.quote(table), pk=db.quote(pk),
                         col=db.quote(col))
        out += problem_findings(conn, db, rows, key_params(db, table), {
            "too_long": f"{table}_number_too_long",
            "bad_characters": f"{table}_number_bad_characters"})
    return out


def reference_findings(conn: Connection, db: Database) -> list[Finding]:
    """Contacts' parents and documents' customers that do not exist or have unknown types."""
    out = problem_findings(conn, db, statement(db, "contact_parent_problems"), {}, {
        "parent_missing": "contact_parent_missing",
        "parent_type_unknown": "contact_parent_type_unknown"})
    merged: dict[str, Finding] = {}
    for doc in DOCUMENT_TABLES:
        rows = statement(db, "document_problems", doc=db.quote(doc), docid=db.quote(f"{doc}id"))
        for f in problem_findings(conn, db, rows, {"tbl": doc}, {
                "customer_missing": "document_customer_missing",
                "customer_type_unknown": "document_customer_type_unknown"}):
            if f.code in merged:
                merged[f.code].count += f.count
                merged[f.code].by_table.update(f.by_table)
                merged[f.code].examples += f.examples
            else:
                merged[f.code] = f
    for f in merged.values():
        f.examples = f.examples[:EXAMPLES]
    return out + list(merged.values())


def duplicate_groups(conn: Connection) -> list[DuplicateGroup]:
    """Every colliding group of account numbers; the first member keeps its number."""
    return [
        DuplicateGroup(g.key, [Member(m.id, m.number, m.kind, _iso(m.createdon), m.keeps)
                               for m in g.members])
        for g in collision_groups(conn, "account")
    ]


def collision_findings(conn: Connection, snap: Snapshot, groups: list[DuplicateGroup]
                       ) -> list[Finding]:
    out: list[Finding] = []
    if groups:
        examples = [Example("account", m.id, m.number) for g in groups for m in g.members
                    if not m.keeps]
        out.append(finding("colliding_account_numbers", len(groups), examples,
                           {"account": len(groups)}))
    if snap.has_column("contact", "msdynce_contactnumber"):
        count = 0
        examples = []
        for g in collision_groups(conn, "contact"):
            count += 1
            if len(examples) < EXAMPLES:
                examples += [Example("contact", m.id, m.number) for m in g.members if not m.keeps]
        if count:
            out.append(finding("colliding_contact_numbers", count, examples, {"contact": count}))
    return out


def sequence_findings(snap: Snapshot, numbers: list[NumberPlan]) -> list[Finding]:
    out: list[Finding] = []
    bad = [s for s in snap.sequences.values() if s.error]
    if bad:
        out.append(finding("sequence_invalid", len(bad),
                           [Example("msdynce_p2cautonumber", s.entity, s.error) for s in bad]))
    long = [n for n in numbers if n.longest > MAX_NUMBER_LENGTH and n.last is not None]
    if long:
        out.append(finding("number_too_long", len(long),
                           [Example(n.table, n.last.record_id, n.last.number)
                            for n in long if n.last is not None]))
    return out


def add_names(conn: Connection, db: Database, findings: list[Finding],
              groups: list[DuplicateGroup]) -> None:
    """Names of the example records (only with --show-personal-data)."""
    wanted: dict[str, set[str]] = {"account": set(), "contact": set()}
    for f in findings:
        for e in f.examples:
            if e.table in wanted:
                wanted[e.table].add(e.id)
    wanted["account"].update(m.id for g in groups for m in g.members)
    names: dict[tuple[str, str], str] = {}
    for table, ids in wanted.items():
        if not ids:
            continue
        sql = sa.text(statement(db, f"{table}_names")).bindparams(
            sa.bindparam("ids", expanding=True, type_=sa.String()))
        for rid, name in conn.execute(sql, {"ids": sorted(ids)}):
            names[(table, rid)] = name
    for f in findings:
        for e in f.examples:
            e.name = names.get((e.table, e.id))
    for g in groups:
        for m in g.members:
            m.name = names.get(("account", m.id))


def ordered(findings: list[Finding]) -> list[Finding]:
    """Blockers first, then warnings, each in the catalogue's order."""
    order = {code: i for i, code in enumerate(KINDS)}
    return sorted(findings, key=lambda f: (f.severity != BLOCKER, order[f.code]))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value)
