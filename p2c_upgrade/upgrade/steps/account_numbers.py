"""`account-numbers`: every account whose accountnumber is NULL or blank gets one."""

from __future__ import annotations

from p2c_upgrade.upgrade.numbers import ACCOUNT_NUMBERS
from p2c_upgrade.upgrade.steps.numbers_step import NumberingStep


def make() -> NumberingStep:
    return NumberingStep(
        "account-numbers", "number every account whose accountnumber is NULL or blank",
        ACCOUNT_NUMBERS,
    )
