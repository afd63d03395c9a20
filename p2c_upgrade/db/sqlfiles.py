"""Loads the SQL a DBA should review from the packaged `db/sql/<dialect>/*.sql`.

A file holds named statements, each introduced by a `-- name: <name>` line. Identifiers that vary
(table, key and column of a numbering job) are written `{table}`, `{pk}`, `{col}` and filled from
code constants, always quoted; values are always bind parameters.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from p2c_upgrade.errors import P2CError

_NAME = re.compile(r"^--\s*name:\s*([\w-]+)\s*$", re.MULTILINE)


def sql_dir() -> Path:
    override = os.environ.get("P2C_SQL_DIR")
    if override:
        return Path(override)
    packaged = Path(__file__).resolve().parent / "sql"
    if packaged.is_dir():
        return packaged
    raise P2CError(f"the SQL files of p2c-upgrade are missing ({packaged}): reinstall the package")


@functools.cache
def load(dialect: str, filename: str) -> dict[str, str]:
    """The named statements of the packaged `db/sql/<dialect>/<filename>.sql`, in file order."""
    return parse_file(sql_dir() / dialect / f"{filename}.sql")


def parse_file(path: Path) -> dict[str, str]:
    """The named statements of any file in this format (the benchmark's baseline too)."""
    text = path.read_text(encoding="utf-8")
    parts = _NAME.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    return {parts[i]: _strip_comments(parts[i + 1]) for i in range(1, len(parts), 2)}


def _strip_comments(body: str) -> str:
    # Comments are for the reader; a `:word` in one would otherwise become a bind parameter.
    lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";").strip()


def statement(dialect: str, filename: str, name: str, **identifiers: str) -> str:
    """One named statement, with `{identifier}` placeholders filled (already quoted)."""
    try:
        body = load(dialect, filename)[name]
    except KeyError:
        raise P2CError(f"missing SQL statement {name!r} in sql/{dialect}/{filename}.sql") from None
    return body.format_map(identifiers) if identifiers else body


#: The expressions of `sql/<dialect>/keys.sql`: blank and the two key equalities of
#: `p2c_upgrade.rules.keys`, offered to every statement as `{is_blank}`, `{dataverse_key}`
#: and `{fno_key}` over one value.
KEY_EXPRESSIONS = ("is_blank", "dataverse_key", "fno_key")


def key_sql(dialect: str, value: str) -> dict[str, str]:
    """`{is_blank}`, `{dataverse_key}` and `{fno_key}` over the SQL expression `value` (a quoted
    column); their bind parameters are `rules.keys.sql_params()`."""
    return {name: statement(dialect, "keys", name, value=value) for name in KEY_EXPRESSIONS}
