"""`contact-numbers`: every contact whose msdynce_contactnumber is NULL or blank gets one."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from p2c_upgrade.db.connection import Database
from p2c_upgrade.upgrade.duplicates import count_collision_groups
from p2c_upgrade.upgrade.numbers import CONTACT_NUMBERS
from p2c_upgrade.upgrade.steps.numbers_step import NumberingStep


class ContactNumbersStep(NumberingStep):
    def verify(self, conn: Connection, db: Database) -> list[str]:
        problems = super().verify(conn, db)
        groups = count_collision_groups(conn, table="contact")
        if groups:
            problems.append(f"{groups} groups of contacts share a contact number (must be unique)")
        return problems


def make() -> NumberingStep:
    return ContactNumbersStep(
        "contact-numbers", "number every contact whose msdynce_contactnumber is NULL or blank",
        CONTACT_NUMBERS,
    )
