"""One Sales record to one F&O entity row, validated as F&O would before anything is written.

The first problem found is the record's reason (`reasons.py`); checks run in a fixed order so a
record fails the same way on every run. Names never appear in a failure's detail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import UsageError
from .countries import CountryResolver, iso_lookup, map_key
from .entities import KEY_MAX_LENGTH, fno_key
from .templates import TaskPlan

PARENT_KEY = "@parent_customer_account"
PERSON_NAME_FIELDS = ("PERSONFIRSTNAME", "PERSONMIDDLENAME", "PERSONLASTNAME")


@dataclass(frozen=True)
class Mapped:
    key: str
    key_fold: str
    values: tuple[str | None, ...]  # in `TaskPlan.field_names` order
    fingerprint: str


@dataclass(frozen=True)
class Failure:
    reason: str
    detail: str


def text(value: Any) -> str | None:
    """A Sales value as F&O text: surrounding spaces dropped, blank is None."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = "Yes" if value else "No"
    elif isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()
    elif isinstance(value, (int, float, Decimal)):
        value = str(value)
    value = str(value).strip()
    return value or None


class Mapper:
    """Maps and validates the records of one task."""

    def __init__(self, plan: TaskPlan, country_codes: str) -> None:
        self.plan = plan
        self.names = plan.field_names
        self.entity = plan.entity
        self.key_index = self.names.index(self.entity.key)
        self.country: dict[str, CountryResolver] = {}
        defaults: list[str | None] = []
        for name, spec in plan.fields:
            default = spec.default
            if name in self.entity.country_fields:
                mapping = plan.value_maps.get(spec.value_map or "country", {})
                self.country[name] = CountryResolver(mapping, country_codes)
                if default is not None:
                    code = iso_lookup(default, country_codes)
                    if code is None:
                        raise UsageError(f"default {default!r} of {name} in task {plan.task} "
                                         "is not an ISO 3166 country code")
                    default = code
            defaults.append(default)
        self.defaults = tuple(defaults)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.party_type = self.index.get("PARTYTYPE")
        self.salt = "\x1f".join((plan.task, *self.names)).encode("utf-8")

    def map(self, row: Mapping[str, Any]) -> Mapped | Failure:
        t = self.plan.template
        values: list[str | None] = []
        country_failure: Failure | None = None
        for (name, spec), default in zip(self.plan.fields, self.defaults, strict=True):
            if spec.constant is not None:
                raw = spec.constant
            elif spec.source == PARENT_KEY:
                raw = row.get("parent_key")
            elif spec.source:
                raw = row[spec.source]
            else:
                raw = None
            value = text(raw)
            if value is not None:
                resolver = self.country.get(name)
                if resolver is not None:
                    code = resolver.resolve(value)
                    if code is None and country_failure is None:
                        country_failure = Failure(
                            "unknown_country",
                            f"{spec.source or name} {value!r} is neither in the country value "
                            "map nor an ISO 3166 country name or code")
                    value = code
                elif spec.value_map:
                    value = self.plan.value_maps[spec.value_map].get(map_key(value), value)
            values.append(value if value is not None else default)

        key = values[self.key_index]
        if key is None:
            return Failure("missing_key", f"{self.entity.key} is blank: {t.source}."
                           f"{t.number_column} is not set")
        if len(key) > KEY_MAX_LENGTH:
            return Failure("key_too_long", f"{self.entity.key} {key!r} has {len(key)} "
                           f"characters; F&O allows {KEY_MAX_LENGTH}")
        if t.parent_task:
            failure = self._parent_failure(row)
            if failure:
                return failure
        failure = self._required_failure(values)
        if failure:
            return failure
        if country_failure:
            return country_failure
        digest = hashlib.blake2b(self.salt, digest_size=16)
        for value in values:
            digest.update(b"\x1e" + (value.encode("utf-8") if value is not None else b"\x00"))
        return Mapped(key, fno_key(key), tuple(values), digest.hexdigest())

    def _required_failure(self, values: list[str | None]) -> Failure | None:
        required = list(self.entity.required)
        party = values[self.party_type] if self.party_type is not None else None
        if party == "Organization":
            required.append("ORGANIZATIONNAME")
        for name in required:
            i = self.index.get(name)
            if i is None or values[i] is None:
                spec = dict(self.plan.fields).get(name)
                where = f" (Sales column {spec.source})" if spec and spec.source else ""
                return Failure("missing_required",
                               f"{name} is blank{where} and has no default")
        if party == "Person" and all(
            values[self.index[n]] is None for n in PERSON_NAME_FIELDS if n in self.index
        ):
            return Failure("missing_person_name",
                           "a person customer needs a first or last name; both are blank")
        return None

    def _parent_failure(self, row: Mapping[str, Any]) -> Failure | None:
        parent_id = row.get("parentcustomerid")
        parent_type = row.get("parentcustomeridtype")
        if parent_id is None or parent_type != "account":
            what = "no company" if parent_id is None else f"a company of type {parent_type!r}"
            return Failure("parent_not_account",
                           f"IsCompanyAnAccount is Yes but the contact has {what}")
        if row.get("parent_found") is None:
            return Failure("parent_missing", f"parent account {parent_id} does not exist")
        status = row.get("parent_status")
        if status != "synced":
            number = row.get("parent_number")
            said = f"failed: {row.get('parent_reason')}" if status == "failed" \
                else "was not synchronized"
            return Failure("parent_not_synchronized",
                           f"parent account {parent_id} ({number or 'no number'}) {said}")
        return None
