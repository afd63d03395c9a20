"""How F&O compares keys: case-insensitive, accent-insensitive, trailing spaces ignored.

The same fold is computed in Python (SQLite function, oracles, reports) and in PostgreSQL
(`rtrim(translate(x, FOLD_FROM, FOLD_TO), ' ')`), from one character table, so both databases
agree on which numbers collide whatever the server's locale.
"""

from __future__ import annotations

import string
import unicodedata


def _build_table() -> tuple[str, str]:
    src = list(string.ascii_uppercase)
    dst = list(string.ascii_lowercase)
    # Latin-1 Supplement and Latin Extended-A/B: letters whose canonical decomposition starts
    # with an ASCII letter lose their accent (and their case).
    for code in range(0xC0, 0x250):
        ch = chr(code)
        base = unicodedata.normalize("NFD", ch)[0]
        if base != ch and base in string.ascii_letters:
            src.append(ch)
            dst.append(base.lower())
    return "".join(src), "".join(dst)


FOLD_FROM, FOLD_TO = _build_table()
_TABLE = str.maketrans(FOLD_FROM, FOLD_TO)

#: Characters that make a value blank when nothing else is left.
BLANK_CHARS = " \t\r\n"

#: Characters that break F&O and Dataverse key look-ups in Web API requests.
BAD_KEY_CHARS = "/<>*%&:\\?+"


def fold(value: str | None) -> str | None:
    """The comparison key F&O would use for `value` (None stays None)."""
    if value is None:
        return None
    return value.translate(_TABLE).rstrip(" ")


def is_blank(value: str | None) -> bool:
    return value is None or value.strip(BLANK_CHARS) == ""


def collision_kind(kept: str, other: str) -> str:
    """Why `other` collides with `kept`: exact, trailing space, case or accent."""
    if other == kept:
        return "exact"
    if other.rstrip(" ") == kept.rstrip(" "):
        return "trailing space"
    strip_case = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
    if other.rstrip(" ").translate(strip_case) == kept.rstrip(" ").translate(strip_case):
        return "case"
    return "accent"
