"""`company-is-account`: IsCompanyAnAccount = the contact's parent is an account."""

from __future__ import annotations

from p2c_upgrade.upgrade.steps.flag_step import FlagStep


def make() -> FlagStep:
    return FlagStep(
        "company-is-account",
        "set IsCompanyAnAccount = the contact's parent customer is an account",
        "company_is_account",
    )
