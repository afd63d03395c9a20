"""One Sales record to one F&O entity row, validated as F&O would before anything is written.

The first problem found is the record's reason (`reasons.py`); checks run in a fixed order so a
record fails the same way on every run. Names never appear in a failure's detail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from p2c_upgrade.errors import UsageError
from p2c_upgrade.rules.keys import BLANK_CHARS, fno_key, key_text
from p2c_upgrade.sync.countries import CountryResolver, field_format, iso_lookup, map_key
from p2c_upgrade.sync.entities import KEY_MAX_LENGTH
from p2c_upgrade.sync.templates import TaskPlan

PARENT_KEY = "@parent_customer_account"
PERSON_NAME_FIELDS = ("PERSONFIRSTNAME", "PERSONMIDDLENAME", "PERSONLASTNAME")


class Mapped(NamedTuple):
    """A record ready to write (a named tuple: one is made per record, and cheaply)."""

    key: str
    key_fold: str
    values: tuple[str | None, ...]  # in `TaskPlan.field_names` order
    fingerprint: str


class Failure(NamedTuple):
    reason: str
    detail: str


def text(value: Any) -> str | None:
    """A Sales value as F&O text: blank characters (rules/keys.py) dropped at both ends, blank
    is None. Keys keep their leading characters (`Mapper.map`, `rules.keys.key_text`)."""
    if value is None:
        return None
    if type(value) is str:
        return value.strip(BLANK_CHARS) or None
    if isinstance(value, bool):
        value = "Yes" if value else "No"
    elif isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()
    elif isinstance(value, (int, float, Decimal)):
        value = str(value)
    elif isinstance(value, (dict, list)):  # a json/jsonb column, parsed by the driver: its JSON
        value = json.dumps(value, ensure_ascii=False)
    return str(value).strip(BLANK_CHARS) or None


@lru_cache(maxsize=1)
def _code_signature() -> str:
    """The text of the code that maps a record (this module, countries, the key rules) and
    pycountry's version: any change to them makes every source digest differ once."""
    from p2c_upgrade.rules import keys as key_rules
    from p2c_upgrade.sync import countries

    digest = hashlib.blake2b(digest_size=16)
    for module in (sys.modules[__name__], countries, key_rules):
        try:
            digest.update(Path(str(module.__file__)).read_bytes())
        except OSError:  # compiled-only install: the version below still changes per release
            digest.update(str(module.__name__).encode())
    for dist in ("p2c-upgrade", "pycountry"):
        try:
            digest.update(importlib.metadata.version(dist).encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(dist.encode())
    return digest.hexdigest()


def mapping_signature(plan: TaskPlan, country_codes: str) -> str:
    """Everything besides the Sales row that decides a record's mapped values: the task, its
    fields as configured, its value maps, the country code format and the code. The source
    digest (`source.batch_query`) covers it, so a changed configuration re-maps every record."""
    text = repr((plan.task, plan.fields, sorted((k, sorted(v.items()))
                                                for k, v in plan.value_maps.items()),
                 country_codes, _code_signature()))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class _Step:
    """One field, compiled: a constant already mapped, or a row key with its map and default."""

    name: str
    constant: str | None
    row_key: str | None
    default: str | None
    resolver: CountryResolver | None
    value_map: dict[str, str] | None
    label: str
    is_key: bool  # the entity's key: trailing blanks dropped only (`rules.keys.key_text`)


class Mapper:
    """Maps and validates the records of one task (compiled once, applied per record)."""

    def __init__(self, plan: TaskPlan, country_codes: str) -> None:
        self.plan = plan
        self.names = plan.field_names
        self.entity = plan.entity
        self.key_index = self.names.index(self.entity.key)
        steps: list[_Step] = []
        for name, spec in plan.fields:
            default = spec.default
            resolver = None
            vmap = plan.value_maps[spec.value_map] if spec.value_map else None
            if name in self.entity.country_fields:
                fmt = field_format(name, country_codes)
                resolver = CountryResolver(plan.value_maps.get(spec.value_map or "country", {}),
                                           fmt)
                vmap = None
                if default is not None:
                    default = iso_lookup(default, fmt)
                    if default is None:
                        raise UsageError(f"default {spec.default!r} of {name} in task "
                                         f"{plan.task} is not an ISO 3166 country code")
            row_key = spec.source
            if row_key and row_key.startswith("@"):
                if row_key != PARENT_KEY or not plan.template.parent_task:
                    raise UsageError(f"field {name} of task {plan.task}: source {row_key!r} "
                                     "is not available in this task")
                row_key = "parent_key"
            constant = None
            if spec.constant is not None:
                constant = self._apply(text(spec.constant), resolver, vmap) or default
                row_key = None
            steps.append(_Step(name, constant, row_key, default, resolver, vmap,
                               spec.source or name, name == self.entity.key))
        self.steps = tuple(steps)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.party_type = self.index.get("PARTYTYPE")
        self.required = [(self.index.get(n), n) for n in self.entity.required]
        self.org_name = self.index.get("ORGANIZATIONNAME")
        self.person_names = [self.index[n] for n in PERSON_NAME_FIELDS if n in self.index]
        self.salt = "\x1f".join((plan.task, *self.names))
        self.signature = mapping_signature(plan, country_codes)

    @staticmethod
    def _apply(value: str | None, resolver: CountryResolver | None,
               vmap: dict[str, str] | None) -> str | None:
        if value is None:
            return None
        if resolver is not None:
            return resolver.resolve(value)
        if vmap is not None:
            return vmap.get(map_key(value), value)
        return value

    def map(self, row: Mapping[str, Any]) -> Mapped | Failure:
        """One record (`map_batch` of one)."""
        return self.map_batch([row])[0]

    def map_batch(self, rows: Sequence[Mapping[str, Any]]) -> list[Mapped | Failure]:
        """Each record mapped and validated, in order. Field by field over the whole batch
        (one comprehension per field, where a loop over fields per record paid the dispatch
        per value), then record by record for the checks and the fingerprint."""
        n = len(rows)
        columns: list[list[str | None]] = []
        country: list[Failure | None] = [None] * n
        for step in self.steps:
            default = step.default
            if step.row_key is None:
                columns.append([step.constant if step.constant is not None else default] * n)
                continue
            k = step.row_key
            if step.is_key:  # trailing blanks only
                vals = [key_text(v) if type(v) is str else text(v) for v in (r[k] for r in rows)]
            else:
                vals = [text(r[k]) for r in rows]
            if step.resolver is not None:
                vals = self._resolve(step, vals, country)
            elif step.value_map is not None:
                vmap = step.value_map
                vals = [default if v is None else vmap.get(map_key(v), v) for v in vals]
            elif default is not None:
                vals = [default if v is None else v for v in vals]
            columns.append(vals)
        finish = self._finish
        return [finish(rows[i], values, country[i])
                for i, values in enumerate(zip(*columns, strict=True))] if n else []

    @staticmethod
    def _resolve(step: _Step, vals: list[str | None], country: list[Failure | None]
                 ) -> list[str | None]:
        """A country field's codes; a value with none is the record's first country failure
        (fields in entity order) and takes the default."""
        resolve = step.resolver.resolve  # type: ignore[union-attr]
        default = step.default
        out: list[str | None] = []
        for i, value in enumerate(vals):
            if value is None:
                out.append(default)
                continue
            code = resolve(value)
            if code is None:
                if country[i] is None:
                    country[i] = Failure(
                        "unknown_country",
                        f"{step.label} {value!r} is neither in the country value map nor an "
                        "ISO 3166 country name or code")
                out.append(default)
            else:
                out.append(code)
        return out

    def _finish(self, row: Mapping[str, Any], values: tuple[str | None, ...],
                country_failure: Failure | None) -> Mapped | Failure:
        """The checks, in their fixed order, then the record ready to write."""
        t = self.plan.template
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
        joined = "\x1e".join([v if v is not None else "\x00" for v in values])
        digest = hashlib.blake2b(f"{self.salt}\x1d{joined}".encode(), digest_size=16)
        return Mapped(key, fno_key(key) or "", values, digest.hexdigest())

    def _required_failure(self, values: Sequence[str | None]) -> Failure | None:
        required = self.required
        party = values[self.party_type] if self.party_type is not None else None
        if party == "Organization":
            required = [*required, (self.org_name, "ORGANIZATIONNAME")]
        for i, name in required:
            if i is None or values[i] is None:
                spec = dict(self.plan.fields).get(name)
                where = f" (Sales column {spec.source})" if spec and spec.source else ""
                return Failure("missing_required",
                               f"{name} is blank{where} and has no default")
        if party == "Person" and all(values[i] is None for i in self.person_names):
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
        # "pending": sent to F&O in this sync, ahead of its contact persons (the fno target)
        if status not in ("synced", "pending"):
            number = row.get("parent_number")
            said = f"failed: {row.get('parent_reason')}" if status == "failed" \
                else "was not synchronized"
            return Failure("parent_not_synchronized",
                           f"parent account {parent_id} ({number or 'no number'}) {said}")
        return None
