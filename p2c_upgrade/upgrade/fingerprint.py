"""The fingerprint of what determines the upgrade's result, binding an approved plan to the run.

Parts (each compared on its own, so a refusal says what changed):
- `salt`: a hash of `[numbers] salt` (the suffixes come from it; the salt itself is never shown);
- `configuration`: a hash of the sync mapping settings of the configuration file (country code
  format, organization ID, defaults, task field mappings, value maps; not batch sizes, targets
  or sign-in settings, which do not change a record's result);
- `sequences`: each number sequence as the plan read it (prefix, next value, suffix length);
- `data`: what the plan read of the data, as the run would act on it: the rows each step would
  change, each numbering step's record count with its first and last number, and the groups of
  colliding account numbers.
`value` is a hash over all parts. The plan shows it in every format; `run` records the salt and
configuration hashes (and, with `--plan FILE`, the approved plan's value) in `p2c_run.options`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from p2c_upgrade.errors import BlockedError, UsageError
from p2c_upgrade.upgrade import ledger

#: steps whose numbers carry the salt in their suffix
NUMBERING_STEPS = ("account-numbers", "contact-numbers", "duplicates-renumber")
_CONFIG_KEYS = ("country_codes", "organization_id", "defaults", "task_defaults", "task_fields",
                "value_maps")


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def salt_hash(salt: str) -> str:
    return _hash(["p2c-upgrade numbers salt", salt])


def config_hash(config: Any) -> str:
    """The sync mapping settings of a `Config` (None: the defaults)."""
    from p2c_upgrade.config import Config

    cfg = asdict(config if config is not None else Config())
    return _hash({k: cfg.get(k) for k in _CONFIG_KEYS})


def settings_parts(config: Any) -> dict[str, str]:
    salt = getattr(config, "numbers_salt", "") or "" if config is not None else ""
    return {"salt": salt_hash(salt), "configuration": config_hash(config)}


def with_value(parts: dict[str, Any]) -> dict[str, Any]:
    return {"value": _hash(parts), **parts}


# --- the resumed run's salt ---------------------------------------------------------------------

def numbering_run(conn: Connection) -> tuple[int, str | None] | None:
    """The latest run whose numbers are still in place (a numbering step changed rows and no
    undo took them back since), with the salt hash it recorded (None before fingerprints)."""
    steps, runs = ledger.steps, ledger.runs
    rows = conn.execute(
        sa.select(steps.c.run_id, steps.c.step, steps.c.rows_changed, steps.c.state,
                  runs.c.options)
        .join(runs, runs.c.run_id == steps.c.run_id)
        .where(steps.c.step.in_(NUMBERING_STEPS))
        .order_by(steps.c.run_id.desc())
    ).all()
    undone: set[str] = set()
    for r in rows:
        if r.state == "pending":  # undo marks the steps it took back as pending again
            undone.add(r.step)
            continue
        if r.step in undone or not r.rows_changed:
            continue
        try:
            options = json.loads(r.options or "{}")
        except ValueError:
            options = {}
        recorded = (options.get("fingerprint") or {}).get("salt")
        return int(r.run_id), recorded
    return None


def check_salt(conn: Connection, salt: str, steps: list[str]) -> None:
    """A run whose `steps` hand out numbers with another salt than the numbers already handed
    out would mix two suffix schemes in one upgrade: refuse (usage error, exit 2)."""
    if not any(step in NUMBERING_STEPS for step in steps):
        return
    found = numbering_run(conn)
    if found is None or found[1] is None or found[1] == salt_hash(salt):
        return
    raise UsageError(
        f"the numbers in this database were handed out by run {found[0]} with another "
        "[numbers] salt than this run's: give the same --config file as that run (or undo it "
        f"first with `p2c-upgrade undo --run {found[0]}`)")


# --- run --plan FILE ----------------------------------------------------------------------------

def load_approved(path: str) -> dict[str, Any]:
    """The fingerprint of a plan JSON file (`plan --format json`)."""
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except FileNotFoundError:
        raise UsageError(f"plan file not found: {path}") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the plan file {path}: {exc}") from None
    fp = doc.get("fingerprint") if isinstance(doc, dict) else None
    if not isinstance(fp, dict) or "value" not in fp:
        raise UsageError(f"{path} is not a plan JSON file with a fingerprint "
                         "(`p2c-upgrade plan --format json --output FILE`)")
    return {**fp, "generated_at": doc.get("generated_at")}


def differences(approved: dict[str, Any], now: dict[str, Any]) -> tuple[list[str], list[str]]:
    """What changed since the approved plan: (settings lines, data lines)."""
    settings: list[str] = []
    if approved.get("salt") != now["salt"]:
        settings.append("the [numbers] salt differs")
    if approved.get("configuration") != now["configuration"]:
        settings.append("the configuration's sync settings differ")
    data: list[str] = []
    for entity, seq in now["sequences"].items():
        was = (approved.get("sequences") or {}).get(entity)
        if was != seq:
            data.append(f"sequence {entity}: {_seq(was)} then, {_seq(seq)} now")
    was_data, now_data = approved.get("data") or {}, now["data"]
    for step, n in now_data["changes"].items():
        before = (was_data.get("changes") or {}).get(step)
        if before != n:
            data.append(f"{step}: {_n(before)} rows to change then, {_n(n)} now")
    for step, rng in now_data["numbers"].items():
        before = (was_data.get("numbers") or {}).get(step)
        if before != rng and (was_data.get("changes") or {}).get(step) == now_data["changes"].get(step):
            data.append(f"{step}: numbers {_range(before)} then, {_range(rng)} now")
    if was_data.get("duplicate_groups") != now_data["duplicate_groups"]:
        data.append(f"colliding account number groups: {was_data.get('duplicate_groups')} then, "
                    f"{now_data['duplicate_groups']} now")
    if not settings and not data and approved.get("value") != now["value"]:
        data.append("the plan's fingerprint differs")
    return settings, data


def require_unchanged(approved: dict[str, Any], now: dict[str, Any], path: str) -> None:
    """Refuse when the data or the settings drifted from the approved plan: settings exit 2
    (give the approved configuration), data exit 3 (plan again and have it approved)."""
    settings, data = differences(approved, now)
    if not settings and not data:
        return
    when = approved.get("generated_at") or "?"
    what = "; ".join(settings + data)
    if settings:
        raise UsageError(f"this run's settings are not the approved plan's ({path}, generated "
                         f"{when}): {what}; give the configuration the plan was made with")
    raise BlockedError(f"the data changed since the approved plan ({path}, generated {when}): "
                       f"{what}; run `p2c-upgrade plan` again and have it approved (nothing "
                       "was written)")


def _n(value: Any) -> str:
    return "none" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _seq(seq: Any) -> str:
    if not isinstance(seq, dict):
        return "none"
    return f"{seq.get('prefix')} next {seq.get('next_value')} suffix {seq.get('suffix_length')}"


def _range(rng: Any) -> str:
    return f"{rng[1]} .. {rng[2]}" if isinstance(rng, list) and len(rng) == 3 else "none"
