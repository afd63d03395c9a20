"""Rendering shared by the commands: tables with tabulate, JSON, and where output goes."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tabulate import tabulate

from p2c_upgrade.redact import printable


def table(rows: list[list[Any]] | list[tuple[Any, ...]], headers: list[str]) -> str:
    """A terminal table; every value shown with its control characters escaped."""
    return tabulate(printable_rows(rows), headers=headers, tablefmt="simple",
                    disable_numparse=True)


def printable_rows(rows: list[list[Any]] | list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows for a terminal: text values with their control characters escaped (`printable`),
    numbers and None as they are."""
    return [[printable(v) if isinstance(v, str) else v for v in row] for row in rows]


def to_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=False, default=str, ensure_ascii=False)


def emit(text: str, output: str | None = None) -> None:
    """Write a report to `output` (a file) or stdout."""
    if not text.endswith("\n"):
        text += "\n"
    if output and output != "-":
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def iso_utc(value: Any) -> str | None:
    """A time as ISO 8601 UTC (`2026-11-29T18:58:39Z`): the form of every time in JSON.
    Naive datetimes and strings without a zone are UTC (Dataverse's createdon, the tool's
    own columns); other strings come back as they are."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)
