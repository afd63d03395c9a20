"""`active-customers`: Is Active Customer = Yes for contacts with quotes, orders or invoices."""

from __future__ import annotations

from p2c_upgrade.upgrade.steps.flag_step import FlagStep


def make() -> FlagStep:
    return FlagStep(
        "active-customers",
        "set Is Active Customer on contacts that are the customer of a quote, order or invoice",
        "active_customers",
    )
