"""The documented templates as shipped data files, and the task plans the configuration makes.

A template says what a task selects, which F&O entity it writes and where each field's value
comes from. The configuration file may replace defaults, add field mappings and add value maps;
`plan_tasks` merges the two once, so the per-record code only follows a finished plan.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from graphlib import CycleError, TopologicalSorter
from importlib import resources
from typing import Any

from p2c_upgrade.config import Config, FieldSpec, parse_field_spec
from p2c_upgrade.errors import P2CError, UsageError
from p2c_upgrade.sync.countries import map_key
from p2c_upgrade.sync.entities import ENTITIES, Entity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TEMPLATE_FILES = ("accounts.toml", "contacts.toml", "contact_to_customer.toml")


@dataclass(frozen=True)
class Template:
    template: str
    task: str
    selects: str  # what the selection means, in words (plan's sync routing)
    project_task: str
    order: int
    depends_on: tuple[str, ...]
    parent_task: str | None
    source: str
    id_column: str
    number_column: str
    name_columns: tuple[str, ...]
    entity: str
    organization_id: str
    selection: tuple[tuple[str, Any], ...]
    fields: dict[str, FieldSpec]
    value_maps: dict[str, dict[str, str]]


@dataclass(frozen=True)
class TaskPlan:
    """A template with the configuration applied: what the engine runs."""

    template: Template
    entity: Entity
    fields: tuple[tuple[str, FieldSpec], ...]  # in the entity's field order
    value_maps: dict[str, dict[str, str]]  # keys normalized with `map_key`
    organization_id: str

    @property
    def task(self) -> str:
        return self.template.task

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)

    def source_columns(self) -> list[str]:
        """The Sales columns the task reads, in a stable order."""
        t = self.template
        cols = [t.id_column, t.number_column, *t.name_columns]
        cols += [s.source for _, s in self.fields if s.source and not s.source.startswith("@")]
        cols += [c for c, _ in t.selection]
        return list(dict.fromkeys(cols))


def _parse(name: str, data: dict[str, Any]) -> Template:
    def fail(message: str) -> P2CError:
        return P2CError(f"shipped template {name} is broken: {message}")

    try:
        fields = {f: parse_field_spec(spec, f"fields.{f}", fail)
                  for f, spec in data["fields"].items()}
        entity = ENTITIES[data["entity"]]
        unknown = sorted(set(fields) - set(entity.fields))
        if unknown:
            raise fail(f"fields not in {entity.display_name}: {', '.join(unknown)}")
        return Template(
            template=data["template"], task=data["task"], selects=data["selects"],
            project_task=data["project_task"],
            order=int(data["order"]), depends_on=tuple(data.get("depends_on", ())),
            parent_task=data.get("parent_task"), source=data["source"],
            id_column=data["id_column"], number_column=data["number_column"],
            name_columns=tuple(data.get("name_columns", ())), entity=entity.name,
            organization_id=data.get("organization_id", ""),
            selection=tuple(sorted(data.get("selection", {}).items())), fields=fields,
            value_maps={k: dict(v) for k, v in data.get("value_maps", {}).items()},
        )
    except KeyError as exc:
        raise fail(f"missing key {exc}") from None


@lru_cache(maxsize=1)
def shipped_templates() -> tuple[Template, ...]:
    """The templates in dependency order (a task after every task it depends on)."""
    found: list[Template] = []
    package = resources.files("p2c_upgrade") / "templates"
    for name in TEMPLATE_FILES:
        found.append(_parse(name, tomllib.loads(package.joinpath(name).read_text("utf-8"))))
    return tuple(_dependency_order(found))


def _dependency_order(templates: list[Template]) -> list[Template]:
    """Each task after every task it depends on (`graphlib`); among the tasks ready at once, the
    template's `order`, then its name (dependencies on tasks not shipped are ignored)."""
    by_name = {t.task: t for t in templates}
    sorter: TopologicalSorter[str] = TopologicalSorter(
        {t.task: [d for d in t.depends_on if d in by_name] for t in templates})
    try:
        sorter.prepare()
    except CycleError:
        raise P2CError("shipped templates depend on each other in a cycle") from None
    ready: list[Template] = []
    done: list[Template] = []
    while sorter.is_active():
        ready += [by_name[name] for name in sorter.get_ready()]
        ready.sort(key=lambda t: (t.order, t.task))
        first = ready.pop(0)
        done.append(first)
        sorter.done(first.task)
    return done


def task_names() -> tuple[str, ...]:
    return tuple(t.task for t in shipped_templates())


def plan_tasks(config: Config) -> list[TaskPlan]:
    """Apply the configuration to every template, in dependency order."""
    return [plan_task(t, config) for t in shipped_templates()]


def plan_task(t: Template, config: Config) -> TaskPlan:
    entity = ENTITIES[t.entity]
    specs = dict(t.fields)
    specs.update(config.task_fields.get(t.task, {}))
    task_defaults = config.task_defaults.get(t.task, {})
    for name in entity.fields:
        configured = task_defaults.get(name, config.defaults.get(name))
        if configured is None:
            continue
        default = configured if configured.strip() else None
        spec = specs.get(name)
        if spec is None:
            if default is not None:
                specs[name] = FieldSpec(default=default)
        else:
            specs[name] = FieldSpec(spec.source, spec.constant, default, spec.value_map)
    maps: dict[str, dict[str, str]] = {"country": {}}
    for name, mapping in [*t.value_maps.items(), *config.value_maps.items()]:
        target = maps.setdefault(name, {})
        target.update({map_key(k): v for k, v in mapping.items()})
    for name, spec in specs.items():
        if spec.value_map and spec.value_map not in maps:
            raise UsageError(
                f"field {name} of task {t.task} uses value map {spec.value_map!r}, which "
                f"neither the template nor the configuration defines ([sync.value_maps.{spec.value_map}])"
            )
    ordered = tuple((name, specs[name]) for name in entity.fields if name in specs)
    return TaskPlan(template=t, entity=entity, fields=ordered, value_maps=maps,
                    organization_id=config.organization_id or t.organization_id)
