"""The plan as a change-approval document: the way back (`undo`) and the sign-off block.

What undo restores and what it does not is docs/undo.md's rule (`p2c_upgrade.undo`); these
sections only tell the approver, in every format, how the upgrade is rolled back.
"""

from __future__ import annotations

from p2c_upgrade.plan.sections import Cell, Section, Table

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
