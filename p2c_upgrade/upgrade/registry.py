"""The steps, in the order the contract gives; `run` applies them in this order."""

from __future__ import annotations

from p2c_upgrade.errors import UsageError
from p2c_upgrade.upgrade.steps import (
    account_numbers,
    active_customers,
    company_is_account,
    contact_numbers,
    duplicate_account_numbers,
    initial_sync,
    prepare,
)
from p2c_upgrade.upgrade.steps.base import Step

STEP_NAMES = (
    "prepare",
    "account-numbers",
    "contact-numbers",
    "active-customers",
    "company-is-account",
    "duplicate-account-numbers",
    "initial-sync",
)


def all_steps() -> list[Step]:
    """Fresh step objects (they hold per-execution state)."""
    return [
        prepare.PrepareStep(),
        account_numbers.make(),
        contact_numbers.make(),
        active_customers.make(),
        company_is_account.make(),
        duplicate_account_numbers.DuplicateGateStep(),
        initial_sync.InitialSyncStep(),
    ]


def select_steps(names: list[str] | tuple[str, ...] | None) -> list[Step]:
    steps = all_steps()
    if not names:
        return steps
    unknown = [n for n in names if n not in STEP_NAMES]
    if unknown:
        raise UsageError(
            f"unknown step {', '.join(unknown)}; the steps are: {', '.join(STEP_NAMES)}"
        )
    return [s for s in steps if s.name in names]
