"""The configuration's sync mappings against the Sales tables: one rule for `plan` and `sync`.

A field the configuration maps to a Sales column (`[sync.tasks.<task>.fields] FIELD = { source =
"column" }`) needs that column in the task's source table. Checked before anything is written;
a missing column is the configuration's mistake, so a UsageError (exit 2) naming the
configuration key and the column. The P2C columns count as present: `prepare` adds them.
Columns the shipped templates read are the Sales schema's business (db/schema.py), not this.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from p2c_upgrade.config import Config
from p2c_upgrade.db.schema import P2C_COLUMNS
from p2c_upgrade.errors import UsageError
from p2c_upgrade.sync.templates import shipped_templates


def check_configured_columns(columns: Mapping[str, Collection[str]], config: Config) -> None:
    """`columns`: table -> its column names (any case), as `db.schema.existing_columns` gives
    them or a reflected table's `.c`. UsageError naming every mapping to a missing column."""
    templates = {t.task: t for t in shipped_templates()}
    added = {(c.table, c.column.lower()) for c in P2C_COLUMNS}
    problems: list[str] = []
    for task, fields in config.task_fields.items():
        table = templates[task].source
        present = {c.lower() for c in columns.get(table, ())}
        for name, spec in fields.items():
            source = spec.source
            if not source or source.startswith("@"):
                continue
            if source.lower() not in present and (table, source.lower()) not in added:
                key = config.field_keys.get((task, name), f"sync.tasks.{task}.fields.{name}")
                problems.append(f"{key}.source = {source!r}: {table} has no column {source!r}")
    if problems:
        where = f" in {config.path}" if config.path else ""
        raise UsageError("the configuration maps to columns the Sales tables lack"
                         f"{where}: " + "; ".join(problems)
                         + " (correct the mapping or remove it; nothing was written)")
