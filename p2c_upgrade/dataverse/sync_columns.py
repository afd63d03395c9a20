"""The Sales columns the configuration's sync mappings read, pulled beside the upgrade's own.

`wanted(config)`: per Sales table (a sync template's `source`, account or contact), the columns a
`[sync.tasks.<task>.fields]` mapping names in `source` that pull does not copy already
(`@`-sources are the engine's, not columns). `resolve(client, wanted)` checks each against the
org's attribute metadata (`EntityDefinitions(LogicalName='t')/Attributes`): a column the table
does not have, or of a type the working copy cannot hold (lookups, files, images: their values are
not plain properties), is a UsageError (exit 2) naming the configuration key, before anything is
pulled. `ensure_columns` adds the missing ones to the working table (`ALTER TABLE ... ADD COLUMN`,
the type from the attribute type and `MaxLength`). Values are read only; push never writes them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..config import Config
from ..db.schema import existing_columns
from ..errors import UsageError
from .client import DataverseClient
from .tables import table_specs

#: Dataverse AttributeType -> the working column's type (None: String, its MaxLength or Text)
_TYPES: dict[str, sa.types.TypeEngine[Any] | None] = {
    "String": None, "Memo": sa.Text(), "Integer": sa.Integer(), "BigInt": sa.BigInteger(),
    "Boolean": sa.Boolean(), "DateTime": sa.DateTime(), "Decimal": sa.Numeric(23, 10),
    "Money": sa.Numeric(23, 4), "Double": sa.Float(), "Picklist": sa.Integer(), "State": sa.Integer(),
    "Status": sa.Integer(), "Uniqueidentifier": sa.String(36),
}


def wanted(config: Config | None) -> dict[str, dict[str, str]]:
    """table -> column -> the configuration key that names it (for messages)."""
    if config is None or not config.task_fields:
        return {}
    from ..sync.templates import shipped_templates

    sources = {t.task: t.source for t in shipped_templates()}
    pulled = {s.name: set(s.columns) | set(s.lookups) | set(s.lookups.values()) for s in table_specs(True)}
    out: dict[str, dict[str, str]] = {}
    for task, fields in config.task_fields.items():
        table = sources.get(task)
        for name, spec in fields.items():
            col = spec.source
            if table is None or not col or col.startswith("@") or col.lower() in pulled.get(table, set()):
                continue
            out.setdefault(table, {}).setdefault(col.lower(), f"sync.tasks.{task}.fields.{name}.source")
    return out


def resolve(client: DataverseClient, want: dict[str, dict[str, str]]) -> dict[str, dict[str, sa.types.TypeEngine[Any]]]:
    """table -> column -> working type, checked against the org's metadata (see the module doc)."""
    out: dict[str, dict[str, sa.types.TypeEngine[Any]]] = {}
    for table, cols in want.items():
        attrs = {a["LogicalName"]: a for a in client.get_json(
            f"EntityDefinitions(LogicalName='{table}')/Attributes?$select=LogicalName,AttributeType").get("value", [])}
        strings = {a["LogicalName"]: a.get("MaxLength") for a in client.get_json(
            f"EntityDefinitions(LogicalName='{table}')/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata"
            "?$select=LogicalName,MaxLength").get("value", [])}
        for col, key in cols.items():
            attr = attrs.get(col)
            if attr is None:
                raise UsageError(f"configuration: {key} = {col!r} is not a column of {table} in the org")
            kind = attr.get("AttributeType")
            if kind not in _TYPES:
                raise UsageError(f"configuration: {key} = {col!r} is a {kind} column of {table}; "
                                 "pull copies plain values only")
            out.setdefault(table, {})[col] = _TYPES[kind] or sa.String(int(strings.get(col) or 4000))
    return out


def ensure_columns(conn: Connection, columns: dict[str, dict[str, sa.types.TypeEngine[Any]]]) -> list[str]:
    """Add the columns missing in the working tables; returns what was created."""
    found = existing_columns(conn)
    made: list[str] = []
    for table, cols in columns.items():
        for col, kind in cols.items():
            if col in found.get(table, set()):
                continue
            ddl = sa.schema.CreateColumn(sa.Column(col, kind)).compile(dialect=conn.dialect)
            quoted = conn.dialect.identifier_preparer.quote(table)
            conn.exec_driver_sql(f"ALTER TABLE {quoted} ADD COLUMN {ddl}")
            made.append(f"column {table}.{col}")
    return made
