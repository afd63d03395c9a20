"""`account-numbers`: every account whose accountnumber is NULL or blank gets one."""

from __future__ import annotations

from ..numbers import ACCOUNT_NUMBERS
from .numbers_step import NumberingStep


def make() -> NumberingStep:
    return NumberingStep(
        "account-numbers", "number every account whose accountnumber is NULL or blank",
        ACCOUNT_NUMBERS,
    )
