"""The configuration file (`--config FILE`, TOML): number salt, sync target, defaults, value maps.

Everything in the file is data: field and task names are checked against the shipped templates,
column names against a strict identifier pattern (and later against the Sales table), and no
value ever reaches SQL text. A mistake is a usage error naming the key, before anything runs.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from p2c_upgrade.errors import MAX_INTEGER, MAX_SYNC_BATCH, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DEFAULT_BATCH_SIZE = 5000
DEFAULT_PACKAGE_MAX_ROWS = 500_000
DEFAULT_LISTED_FAILURES = 100

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MAP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class FieldSpec:
    """Where one F&O field's value comes from: a Sales column or a constant, then a value map,
    then a default where the result is blank."""

    source: str | None = None
    constant: str | None = None
    default: str | None = None
    value_map: str | None = None


@dataclass
class Config:
    path: Path | None = None
    numbers_salt: str = ""
    sync_target: str | None = None
    sync_batch_size: int = DEFAULT_BATCH_SIZE
    #: what the ...COUNTRYREGIONISOCODE fields receive: "alpha2" (US, what current F&O versions
    #: take) or "alpha3" (USA, the 2017 templates' literal value); ...COUNTRYREGIONID fields
    #: always get alpha-3. The templates' default USA is kept and converted.
    country_codes: str = "alpha2"
    #: the CDS organization ID of the templates' Source > CDS mapping (ORG001 when None)
    organization_id: str | None = None
    listed_failures: int = DEFAULT_LISTED_FAILURES
    package_max_rows: int = DEFAULT_PACKAGE_MAX_ROWS
    #: F&O field -> default, for every task whose entity has the field
    defaults: dict[str, str] = field(default_factory=dict)
    #: task -> F&O field -> default (wins over `defaults`)
    task_defaults: dict[str, dict[str, str]] = field(default_factory=dict)
    #: task -> F&O field -> mapping added to (or replacing) the template's
    task_fields: dict[str, dict[str, FieldSpec]] = field(default_factory=dict)
    #: (task, F&O field) -> the configuration key that maps it, as written (error messages)
    field_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    #: map name -> Sales value -> F&O value (added to the templates' maps of the same name)
    value_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    #: `[dataverse]`: a `p2c_upgrade.dataverse.settings.DataverseSettings` (None: the defaults)
    dataverse: Any = None
    #: `[fno]`: the live F&O target (p2c_upgrade.fno.settings.FnoSettings)
    fno: Any = None


def load_config(path: str | Path | None) -> Config:
    """Read and check the configuration file; no file means the templates' defaults."""
    if path is None:
        return parse_config({})
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise UsageError(f"configuration file not found: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"configuration file {path} is not valid TOML: {exc}") from None
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    where = f"configuration file {path}" if path else "configuration"

    def fail(message: str) -> UsageError:
        return UsageError(f"{where}: {message}")

    cfg = Config(path=path)
    _only(data, {"numbers", "sync", "dataverse", "fno"}, "", fail)
    if "dataverse" in data:
        from p2c_upgrade.dataverse.settings import parse_settings

        cfg.dataverse = parse_settings(data["dataverse"])
    from p2c_upgrade.fno.settings import FnoSettings, parse_fno

    cfg.fno = parse_fno(data["fno"], where) if "fno" in data else FnoSettings()
    numbers = _table(data, "numbers", "", fail)
    _only(numbers, {"salt"}, "numbers.", fail)
    cfg.numbers_salt = _str(numbers, "salt", "numbers.", fail, cfg.numbers_salt) or ""

    sync = _table(data, "sync", "", fail)
    _only(sync, {"target", "batch_size", "country_codes", "organization_id", "listed_failures",
                 "package_max_rows", "defaults", "tasks", "value_maps"}, "sync.", fail)
    target = _str(sync, "target", "sync.", fail, None)
    cfg.sync_target = target.strip() if target and target.strip() else None
    cfg.sync_batch_size = _int(sync, "batch_size", "sync.", fail, cfg.sync_batch_size, 1,
                               MAX_SYNC_BATCH)
    cfg.listed_failures = _int(sync, "listed_failures", "sync.", fail, cfg.listed_failures, 0)
    cfg.package_max_rows = _int(sync, "package_max_rows", "sync.", fail, cfg.package_max_rows, 1)
    cfg.organization_id = _str(sync, "organization_id", "sync.", fail, None)
    cfg.country_codes = _str(sync, "country_codes", "sync.", fail, cfg.country_codes) or ""
    from p2c_upgrade.sync.countries import FORMATS, iso_lookup

    if cfg.country_codes not in FORMATS:
        raise fail(f"sync.country_codes must be one of {', '.join(FORMATS)}, "
                   f"not {cfg.country_codes!r}")

    from p2c_upgrade.sync.entities import ALL_FIELDS, ENTITIES
    from p2c_upgrade.sync.templates import shipped_templates

    templates = {t.task: t for t in shipped_templates()}
    country_fields = {f for e in ENTITIES.values() for f in e.country_fields}

    def field_name(raw: str, key: str, known: set[str] | frozenset[str]) -> str:
        name = raw.upper()
        if name not in known:
            raise fail(unknown_field_message(raw, key, known))
        return name

    def defaults_table(table: dict[str, Any], key: str, known: set[str] | frozenset[str]
                       ) -> dict[str, str]:
        out: dict[str, str] = {}
        for raw, value in table.items():
            name = field_name(raw, key, known)
            if not isinstance(value, str):
                raise fail(f"{key}.{raw} must be a string (\"\" removes the default)")
            bad_country = name in country_fields and value.strip() \
                and iso_lookup(value, cfg.country_codes) is None
            if bad_country:
                raise fail(f"{key}.{raw} = {value!r} is not an ISO 3166 country code")
            out[name] = value
        return out

    cfg.defaults = defaults_table(_table(sync, "defaults", "sync.", fail), "sync.defaults",
                                  ALL_FIELDS)

    tasks = _table(sync, "tasks", "sync.", fail)
    for task, spec in tasks.items():
        key = f"sync.tasks.{task}"
        if task not in templates:
            raise fail(f"unknown task {key!r} (tasks: {', '.join(templates)})")
        if not isinstance(spec, dict):
            raise fail(f"{key} must be a table")
        _only(spec, {"defaults", "fields"}, key + ".", fail)
        known = set(ENTITIES[templates[task].entity].fields)
        cfg.task_defaults[task] = defaults_table(
            _table(spec, "defaults", key + ".", fail), key + ".defaults", known)
        fields: dict[str, FieldSpec] = {}
        for raw, fspec in _table(spec, "fields", key + ".", fail).items():
            name = field_name(raw, key + ".fields", known)
            fields[name] = parse_field_spec(fspec, f"{key}.fields.{raw}", fail)
            cfg.field_keys[(task, name)] = f"{key}.fields.{raw}"
        cfg.task_fields[task] = fields

    for name, mapping in _table(sync, "value_maps", "sync.", fail).items():
        key = f"sync.value_maps.{name}"
        if not _MAP_NAME.match(name):
            raise fail(f"bad value map name {key!r}")
        if not isinstance(mapping, dict):
            raise fail(f"{key} must be a table of \"Sales value\" = \"F&O value\"")
        for sales_value, fno_value in mapping.items():
            if not isinstance(fno_value, str):
                raise fail(f"{key}.{sales_value!r} must be a string")
            if name == "country" and iso_lookup(fno_value, cfg.country_codes) is None:
                raise fail(f"{key}.{sales_value!r} = {fno_value!r} is not an ISO 3166 "
                           "country code")
        cfg.value_maps[name] = dict(mapping)
    return cfg


def unknown_field_message(raw: str, key: str, known: set[str] | frozenset[str]) -> str:
    """Why a field name is refused: not a field of the entity in Microsoft's CDM definition
    (F&O would fail the whole entity with DMF2060), or a real field the sync does not write."""
    from p2c_upgrade.sync.entities import ENTITIES

    name = raw.upper()
    entities = [e for e in ENTITIES.values() if set(e.fields) & set(known)]
    in_cdm = [e.display_name for e in entities if name in e.cdm_fields]
    if in_cdm:
        return (f"{key}: {raw!r} is a field of {' and '.join(in_cdm)} that the sync does not "
                f"write (it writes: {', '.join(sorted(known))})")
    hints = {"PRIMARYCONTACTEMAIL": "PRIMARYEMAILADDRESS", "PRIMARYCONTACTPHONE": "PRIMARYPHONENUMBER"}
    hint = f"; CDS Contacts V2 calls it {hints[name]}" if name in hints else ""
    names = " or ".join(f"{e.display_name} ({e.cdm_entity})" for e in entities)
    return f"unknown F&O field in {key}: {raw!r} is not a field of {names} in Microsoft's CDM definition{hint}"


def parse_field_spec(spec: Any, key: str, fail: Any) -> FieldSpec:
    """A mapping `{ source = "column" | constant = "value", value_map = "name", default = "v" }`."""
    if not isinstance(spec, dict):
        raise fail(f"{key} must be an inline table such as {{ source = \"column\" }}")
    _only(spec, {"source", "constant", "default", "value_map"}, key + ".", fail)
    source = _str(spec, "source", key + ".", fail, None)
    constant = _str(spec, "constant", key + ".", fail, None)
    if source is not None and constant is not None:
        raise fail(f"{key}: give either source or constant, not both")
    if source is not None and not (_IDENTIFIER.match(source) or _special_source(source)):
        raise fail(f"{key}.source = {source!r} is not a column name")
    value_map = _str(spec, "value_map", key + ".", fail, None)
    if value_map is not None and not _MAP_NAME.match(value_map):
        raise fail(f"{key}.value_map = {value_map!r} is not a value map name")
    return FieldSpec(source=source, constant=constant,
                     default=_str(spec, "default", key + ".", fail, None), value_map=value_map)


def _special_source(source: str) -> bool:
    """Values the engine provides, not Sales columns (e.g. the parent's customer account)."""
    return source.startswith("@") and bool(_IDENTIFIER.match(source[1:]))


def _only(table: dict[str, Any], allowed: set[str], prefix: str, fail: Any) -> None:
    for key in table:
        if key not in allowed:
            raise fail(f"unknown key {prefix + key!r} (allowed: {', '.join(sorted(allowed))})")


def _table(table: dict[str, Any], key: str, prefix: str, fail: Any) -> dict[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise fail(f"{prefix + key!r} must be a table")
    return value


def _str(table: dict[str, Any], key: str, prefix: str, fail: Any, default: str | None
         ) -> str | None:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, str):
        raise fail(f"{prefix + key!r} must be a string")
    return value


def _int(table: dict[str, Any], key: str, prefix: str, fail: Any, default: int, minimum: int,
         maximum: int = MAX_INTEGER) -> int:
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise fail(f"{prefix + key!r} must be a whole number from {minimum} to {maximum:,}")
    return value
