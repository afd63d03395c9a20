"""The building blocks of the report for people: a section holds intro lines and tables; a cell
is a string or a list of lines (each renderer joins lines its own way)."""

from __future__ import annotations

from dataclasses import dataclass, field

Cell = str | list[str]


@dataclass
class Table:
    id: str
    headers: list[str]
    rows: list[list[Cell]]


@dataclass
class Section:
    id: str
    title: str
    intro: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
