"""The plan's `push` section: what `push` would write to the org a working copy was pulled from.

Reads only the working copy (`p2c_dv_*` state and the journal, through
`p2c_upgrade.dataverse.report.push_plan`); never contacts the org: the org's facts (its URL,
whether the P2C solution was installed) are the ones recorded at the last `pull`. A copy that was
never pulled has no section (`push` is null in the JSON). Shape: `push` in
p2c_upgrade/schemas/plan.schema.json; the blocker is finding `p2c_solution_not_installed`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from p2c_upgrade.config import Config
from p2c_upgrade.plan import findings as fnd
from p2c_upgrade.plan.blocks import Cell, Section, Table
from p2c_upgrade.plan.model import Example, Finding, Plan


def plan_push(conn: Connection, config: Config) -> tuple[dict[str, Any] | None, list[Finding]]:
    """(the JSON `push` section or None, its findings) with `[dataverse]` batch_size/concurrency."""
    from p2c_upgrade.dataverse.report import push_plan
    from p2c_upgrade.dataverse.settings import DataverseSettings

    settings = config.dataverse or DataverseSettings()
    section = push_plan(conn, settings.batch_size, settings.concurrency)
    if section is None:
        return None, []
    found = []
    if not section["solution_installed"]:
        found.append(fnd.finding("p2c_solution_not_installed", 1, [
            Example("msdynce_p2cautonumber", section["org"], "missing at the last pull")]))
    return section, found


def push_section(plan: Plan) -> Section | None:
    """The report's "Push to the org" section (terminal, markdown, HTML); None without a pull."""
    push = plan.push
    if push is None:
        return None
    limits = push["limits"]
    minutes = push["estimated_seconds"] / 60
    summary: list[list[Cell]] = [
        ["Org", push["org"]],
        ["Last pulled", push["last_pulled_at"] or ""],
        ["P2C solution in the org", "yes" if push["solution_installed"] else "NO: push will refuse (blocker)"],
        ["Records push would write", f"{push['records']:,}"],
        ["Record columns", f"{push['columns']:,}"],
        ["Requests (at least)", f"{push['requests']:,}"],
        ["Estimated duration", f"{push['estimated_seconds']:,.1f} s ({minutes:,.1f} min)"],
    ]
    tables: list[list[Cell]] = [
        [t["table"], f"{t['records']:,}", [f"{c['column']} {c['records']:,}" for c in t["columns"]]]
        for t in push["tables"]]
    sequences: list[list[Cell]] = [[s["entity"], str(s["pulled"]), str(s["target"])]
                                   for s in push["sequences"]]
    intro = [
        "What `p2c-upgrade push` would write to the org this copy was pulled from (as of the last "
        "pull; plan does not contact the org): one update per record carrying its changed columns, "
        f"{push['batch_size']:,} per `$batch`, {push['concurrency']} in flight.",
        f"The duration assumes {limits['assumed_execution_seconds_per_record']} s of server "
        "execution per record update and the service protection limits per user "
        f"({limits['requests_per_window']:,} requests and {limits['execution_seconds_per_window']:,} s "
        f"of execution per {limits['window_seconds']} s, {limits['concurrent_requests']} concurrent); "
        "plug-ins in the org make it longer."]
    out = [Table("push_summary", ["item", "value"], summary)]
    if tables:
        out.append(Table("push_tables", ["table", "records", "columns (records)"], tables))
    if sequences:
        out.append(Table("push_sequences", ["sequence moved first", "pulled next value", "to"], sequences))
    return Section("push", "Push to the org", intro, out)
