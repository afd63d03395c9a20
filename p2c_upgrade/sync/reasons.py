"""Every reason the sync records for a record it did not write, with what to do about it.

Codes are stable (they are keys of the summary JSON); the runbook
`runbooks/initial-sync-and-sync-errors.md` explains each one, and a test keeps them in step.
When a skipped reason applies is decided in `selection.py`, when a failure applies in
`mapping.py` and `engine.py` (key conflicts).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    kind: str  # "failed" (retried by the next sync) or "skipped" (not selected by any task)
    meaning: str
    fix: str


_REASONS = (
    Reason("missing_key", "failed",
           "the record has no natural key: an account without Account Number or a contact "
           "without Contact Number, so it has no CustomerAccount / ContactPersonId in F&O",
           "run `p2c-upgrade run` (steps account-numbers and contact-numbers), then sync again"),
    Reason("key_too_long", "failed",
           "the Account Number or Contact Number is longer than the 20 characters F&O allows "
           "for CustomerAccount and ContactPersonId",
           "shorten the number in Sales (or clear it so the upgrade numbers the record), "
           "then sync again"),
    Reason("key_conflict", "failed",
           "another record selected for the same F&O entity holds this key as F&O compares "
           "keys (case-insensitive, accent-sensitive, trailing blanks ignored) and keeps it: "
           "an account before a contact, else the oldest record (createdon, then id); e.g. a "
           "contact number equal to an account number, or two contacts with the same contact "
           "number",
           "clear this record's number in Sales and run `p2c-upgrade run` (it gets a new "
           "one), or give it a different number, then sync again"),
    Reason("missing_required", "failed",
           "a field F&O requires is blank after defaults and value maps (the detail names it), "
           "e.g. an account without a name (ORGANIZATIONNAME) or a default removed in the "
           "configuration file",
           "fill the Sales field named in the detail, or set a default for the F&O field in "
           "the configuration file ([sync.defaults]), then sync again"),
    Reason("missing_person_name", "failed",
           "a contact that becomes a person customer has neither a first nor a last name",
           "give the contact a first or last name in Sales, then sync again"),
    Reason("unknown_country", "failed",
           "the country in Sales is neither in the configuration's country value map nor an "
           "exact ISO 3166 name or code (there is no fuzzy matching)",
           "correct the country in Sales, or map the value to an ISO code in "
           "[sync.value_maps.country] of the configuration file, then sync again"),
    Reason("parent_not_account", "failed",
           "the contact is marked IsCompanyAnAccount = Yes but its company is not an account",
           "run `p2c-upgrade run` (step company-is-account) so the flag matches the company, "
           "or set the contact's company to an account, then sync again"),
    Reason("parent_missing", "failed",
           "the contact's company (parent account) does not exist in Sales",
           "set the contact's company to an existing account, then sync again"),
    Reason("parent_not_synchronized", "failed",
           "the contact's parent account did not synchronize, so the contact person would have "
           "no customer to belong to (the detail gives the account and its own reason)",
           "fix the parent account first (see its reason), then sync again: the contact "
           "is retried with it"),
    Reason("target_rejected", "failed",
           "the target refused to store the record (the detail gives its message), e.g. a "
           "name holding a NUL character, which PostgreSQL text cannot hold; the other "
           "records of its batch were written",
           "correct the value in Sales (or the target's constraint the detail names), then "
           "sync again: the record is retried alone"),
    Reason("fno_rejected", "failed",
           "F&O's import refused the record; the detail is F&O's message (e.g. a customer group "
           "or currency not found, a number sequence that refuses given numbers, a contact "
           "person whose customer is missing in F&O)",
           "fix the value in Sales or the setup in F&O, then sync again"),
    Reason("fno_import_failed", "failed",
           "the F&O import of the record's package ended Failed without naming records (the "
           "detail is F&O's first message)",
           "read the execution in Data management, fix the cause, then sync again"),
    Reason("fno_import_canceled", "failed",
           "the F&O import of the record's package was canceled in Data management",
           "sync again"),
    Reason("no_parent", "skipped",
           "the contact is not an active customer and has no company: no template selects it",
           "nothing to do if that is right; otherwise set its company to an account, or give "
           "it a quote, order or invoice and rerun `p2c-upgrade run` (step active-customers)"),
    Reason("parent_is_contact", "skipped",
           "the contact is not an active customer and its company is another contact: the "
           "Contacts template only takes contacts whose company is an account",
           "nothing to do if that is right; otherwise set its company to an account"),
    Reason("parent_type_unknown", "skipped",
           "the contact is not an active customer and its company's type "
           "(parentcustomeridtype) is neither 'account' nor 'contact' (e.g. 'lead', "
           "'systemuser', 'Account' in another case, empty, or NULL with a company set): "
           "no template selects it",
           "nothing to do if that is right; if its company is an account, set "
           "parentcustomeridtype to exactly 'account' in Sales, run `p2c-upgrade run` (step "
           "company-is-account sets IsCompanyAnAccount), then sync again"),
    Reason("company_not_flagged", "skipped",
           "the contact's company is an account but IsCompanyAnAccount is No, so the Contacts "
           "template does not select it",
           "run `p2c-upgrade run` (step company-is-account), then sync again"),
)

REASONS: dict[str, Reason] = {r.code: r for r in _REASONS}

HOW_TO_RETRY = (
    "fix the listed records in Sales (runbooks/initial-sync-and-sync-errors.md says how for "
    "each reason), then run `p2c-upgrade sync` again: only what failed or was not reached is "
    "written"
)
