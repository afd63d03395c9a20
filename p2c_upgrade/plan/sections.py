"""The report for people: the same sections and tables in the terminal, markdown and HTML
(blocks in `plan.blocks`)."""

from __future__ import annotations

from p2c_upgrade.plan.blocks import Cell, Section, Table
from p2c_upgrade.plan.estimate import describe
from p2c_upgrade.plan.model import BLOCKED, Example, Finding, NumberPlan, Plan, database_label
from p2c_upgrade.plan.push import push_section

SHOWN_EXAMPLES = 3


def sections(plan: Plan) -> list[Section]:
    out = [_summary(plan)]
    if plan.blockers:
        out.append(Section("blockers", "Blockers (resolve before the upgrade)",
                           ["The upgrade should not go ahead until these are resolved."],
                           [_findings_table("blockers", plan.blockers, plan)]))
    out += [_steps(plan), _numbers(plan), _flags(plan)]
    if plan.schema_changes:
        out.append(Section("schema", "Schema changes (prepare)",
                           ["Objects prepare would create; the P2C solution defines them."],
                           [Table("schema_changes", ["table", "object", "kind", "definition"],
                                  [[c.table, c.name, c.kind, c.detail]
                                   for c in plan.schema_changes])]))
    out += [_duplicates(plan), _findings(plan), _sync(plan)]
    push = push_section(plan)
    return out + ([push] if push else []) + [rollback_section(), signoff_section()]


def _summary(plan: Plan) -> Section:
    db = plan.db
    where = database_label(db) + (f" (schema {db.schema})" if db.schema else "")
    by = plan.generated_by
    rows: list[list[Cell]] = [
        ["Verdict", plan.verdict()],
        ["Blockers", str(len(plan.blockers))],
        ["Warnings", str(len(plan.warnings))],
        ["Rows that would change", f"{plan.changes:,}"],
        ["Database state", plan.state],
        ["Database", where],
        ["Generated", f"{plan.generated_at} by {by.get('user', '?')} on {by.get('host', '?')} "
                      f"with p2c-upgrade {plan.tool_version}"],
        ["Fingerprint", f"{plan.fingerprint.get('value', '')} (salt "
                        f"{plan.fingerprint.get('salt', '')}, configuration "
                        f"{plan.fingerprint.get('configuration', '')}); `run --plan` checks it"],
        ["Estimated duration of run", describe(plan.estimate)],
        ["Exit code", "3" if plan.has_blockers else "0"],
    ]
    return Section("summary", "p2c-upgrade plan", [], [Table("summary", ["item", "value"], rows)])


def _steps(plan: Plan) -> Section:
    rows: list[list[Cell]] = [
        [s.step, s.status.upper() if s.status == BLOCKED else s.status,
         "" if s.changes is None else f"{s.changes:,}", s.summary]
        for s in plan.steps
    ]
    return Section("steps", "Steps", ["What `p2c-upgrade run` would do, in order."],
                   [Table("steps", ["step", "status", "rows that would change", "what"], rows)])


def _numbers(plan: Plan) -> Section:
    rows = [_number_row(n) for n in plan.numbers]
    return Section("numbers", "Number ranges", [
        "Numbers go to records oldest first (createdon, then the key); the suffix comes from "
        "the record's key, so `run` assigns exactly these numbers."],
        [Table("numbers", ["step", "sequence", "records", "first number", "last number",
                           "next value now", "next value after"], rows)])


def _number_row(n: NumberPlan) -> list[Cell]:
    if n.error:
        return [n.step, f"{n.entity}: {n.error}", "", "", "", "", ""]
    source = "msdynce_p2cautonumber" if n.sequence_source == "table" else "default row"
    return [n.step, f"{n.prefix} ({source}, suffix {n.suffix_length})", f"{n.records:,}",
            n.first.number if n.first else "", n.last.number if n.last else "",
            _int(n.next_value_before), _int(n.next_value_after)]


def _flags(plan: Plan) -> Section:
    a, c = plan.active_customers, plan.company_is_account
    via = a.get("via", {})
    rows: list[list[Cell]] = [
        ["active-customers", "Is Active Customer No to Yes", f"{a.get('contacts', 0):,}"],
        ["", "  with a quote", f"{via.get('quote', 0):,}"],
        ["", "  with a salesorder", f"{via.get('salesorder', 0):,}"],
        ["", "  with an invoice", f"{via.get('invoice', 0):,}"],
        ["company-is-account", "IsCompanyAnAccount No to Yes", f"{c.get('false_to_true', 0):,}"],
        ["", "IsCompanyAnAccount Yes to No", f"{c.get('true_to_false', 0):,}"],
    ]
    return Section("flags", "Contact flags", [
        "A contact can have several kinds of documents, so the three document lines overlap."],
        [Table("flags", ["step", "change", "contacts"], rows)])


def _duplicates(plan: Plan) -> Section:
    if not plan.duplicates:
        return Section("duplicates", "Duplicate account numbers",
                       ["No account numbers collide as keys (case, accents, trailing blanks ignored)."])
    headers = ["group", "accountid", "accountnumber", "kind", "created on",
               "under duplicates --renumber"]
    if plan.show_personal_data:
        headers.insert(2, "name")
    rows: list[list[Cell]] = []
    for i, g in enumerate(plan.duplicates, 1):
        for m in g.members:
            row: list[Cell] = [str(i), m.id, repr(m.number), m.kind, m.createdon or "",
                               "keeps its number" if m.keeps else "gets a new number"]
            if plan.show_personal_data:
                row.insert(2, m.name or "")
            rows.append(row)
    return Section("duplicates", "Duplicate account numbers", [
        f"{len(plan.duplicates)} groups collide as keys (case, accents and trailing "
        "blanks such as no-break spaces ignored). They block initial-sync. In each group the oldest record "
        "keeps its number under `p2c-upgrade duplicates --renumber`."],
        [Table("duplicates", headers, rows)])


def _findings(plan: Plan) -> Section:
    if not plan.findings:
        return Section("findings", "Data-quality findings", ["No data-quality findings."])
    return Section("findings", "Data-quality findings", ["Blockers first, then warnings."],
                   [_findings_table("findings", plan.findings, plan)])


def _findings_table(table_id: str, findings: list[Finding], plan: Plan) -> Table:
    rows: list[list[Cell]] = [
        [f.severity, f"{f.title} [{f.code}]", f"{f.count:,}",
         _examples(f.examples, plan.show_personal_data), f.action]
        for f in findings
    ]
    return Table(table_id, ["severity", "finding", "count", "examples", "what to do"], rows)


def _examples(examples: list[Example], names: bool) -> list[str]:
    lines = []
    for e in examples[:SHOWN_EXAMPLES]:
        value = "NULL" if e.value is None else repr(e.value)
        name = f" {e.name}" if names and e.name else ""
        lines.append(f"{e.table} {e.id}{name}: {value}")
    return lines


def _sync(plan: Plan) -> Section:
    tasks: list[list[Cell]] = [
        [t.task, t.entity, t.selects, f"{t.rows:,}",
         f"over {plan.row_limit:,}" if t.over_limit else ""]
        for t in plan.sync_tasks
    ]
    unsynced: list[list[Cell]] = [[u.reason, f"{u.rows:,}", u.meaning] for u in plan.unsynced]
    return Section("sync", "Sync routing", [
        "What the initial sync would select once the upgrade has run, in dependency order."],
        [Table("sync_tasks", ["task", "F&O entity", "selects", "records", "limit"], tasks),
         Table("not_synchronized", ["not synchronized", "contacts", "why"], unsynced)])


def _int(value: int | None) -> str:
    return "" if value is None else str(value)


# --- the change-approval part: the way back (docs/undo.md's rule) and the sign-off block ---

#: who signs, in order; each gets name, role, date and signature lines left blank
SIGNERS = ("Prepared by", "Reviewed by", "Approved by")


def rollback_section() -> Section:
    rows: list[list[Cell]] = [
        ["1", "`p2c-upgrade runs`", "list the runs: id, command, outcome; pick the upgrade's "
                                    "run id"],
        ["2", "`p2c-upgrade undo --run ID --dry-run`", "what undo would restore; writes "
                                                       "nothing, takes no lock"],
        ["3", "`p2c-upgrade undo --run ID`", "write the old values back; exit 0 done, 3 when "
                                             "conflicts were left alone"],
    ]
    return Section("rollback", "Rollback (undo)", [
        "Every value `run` changes is journaled; `undo` writes the old values back "
        "(docs/undo.md).",
        "Restored: account and contact numbers, the two contact flags, the organization's "
        "integration flag, the number sequences (while nobody moved them since), and the "
        "columns, indexes and tables `prepare` created. After undoing a complete run the Sales "
        "tables are what they were before it, data and schema.",
        "Not restored: a record someone changed after the run (left alone and reported as a "
        "conflict, exit 3); anything a `run --no-journal` changed; records the sync already "
        "wrote to F&O or to a package or staging database (undo does not touch the F&O side).",
    ], [Table("rollback_steps", ["order", "command", "what it does"], rows)])


def signoff_section() -> Section:
    rows: list[list[Cell]] = [[who, "", "", "", ""] for who in SIGNERS]
    return Section("signoff", "Sign-off", [
        "Approve the plan with the fingerprint above; `run --plan FILE` with this plan's JSON "
        "refuses when the data or the settings changed since."],
        [Table("signoff", ["", "name", "role", "date", "signature"], rows)])
