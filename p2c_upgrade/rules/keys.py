"""Blank values and key equality: the one definition every layer follows.

**Blank.** A value is blank when it is NULL or holds only blank characters (`BLANK_CHARS`):
every character for which Python's `str.isspace()` is true (Unicode White_Space, e.g. U+0020,
tab, line breaks, U+00A0 no-break space, U+2000-U+200A, U+3000 ideographic space, plus the ASCII
information separators U+001C-U+001F) and the invisible format characters of `ZERO_WIDTH`
(U+200B zero width space, U+200C/U+200D joiners, U+2060 word joiner, U+FEFF BOM / zero width
no-break space, U+180E Mongolian vowel separator): a value made of them looks empty to a user.
`run` numbers blank records, `plan` counts them, the sync finds no key in them.

**Key.** A record's key is its number as the sync writes it to F&O (`key_text`): trailing blank
characters dropped, leading ones kept, None when blank. Two equalities compare keys:

- `fno_key`: how F&O compares CustomerAccount / ContactPersonId (SQL_Latin1_General_CP1_CI_AS):
  case-insensitive, accent-sensitive. The sync's key conflicts and key owners use it.
- `dataverse_key`: how the Dataverse alternate keys on account.accountnumber and
  contact.msdynce_contactnumber compare in an English org: case- and accent-insensitive. The
  duplicate gate, `duplicates`, `plan`'s collision findings and the reserved numbers of `run`
  use it. It is the stricter one: keys equal for F&O are equal for Dataverse.

Both are a per-character table over the Basic Multilingual Plane, built here from Python's
Unicode data (case: `str.lower()` where it gives one character; accents: the canonical
decomposition without its combining marks, where one character is left), so SQL computes
exactly the same thing: PostgreSQL through `translate()` with the tables as bind parameters
(`sql_params`), SQLite through these functions registered on every connection
(`p2c_upgrade.db.connection`). Nothing of this is copied by hand into SQL.
"""

from __future__ import annotations

import functools
import unicodedata

#: Invisible format characters that count as blank (see the module docstring).
ZERO_WIDTH = "\u180e\u200b\u200c\u200d\u2060\ufeff"

_BMP = range(0x10000)

#: Every blank character: `str.isspace()` over the BMP (where all of them are), plus ZERO_WIDTH.
BLANK_CHARS = "".join(c for c in map(chr, _BMP) if c.isspace()) + ZERO_WIDTH

#: Characters that break F&O and Dataverse key look-ups in Web API requests.
BAD_KEY_CHARS = "/<>*%&:\\?+"


def _lower(c: str) -> str:
    low = c.lower()
    return low if len(low) == 1 else c


def _unaccent(c: str) -> str:
    if not unicodedata.decomposition(c):
        return c
    base = "".join(x for x in unicodedata.normalize("NFD", c) if not unicodedata.combining(x))
    return base if len(base) == 1 else c


@functools.cache
def _tables() -> dict[str, tuple[str, str]]:
    """`{"fno": (from, to), "dataverse": (from, to)}`: the characters each equality changes."""
    fno: list[tuple[str, str]] = []
    dataverse: list[tuple[str, str]] = []
    for code in _BMP:
        if 0xD800 <= code <= 0xDFFF:  # surrogates are no characters
            continue
        c = chr(code)
        low = _lower(c)
        if low != c:
            fno.append((c, low))
        folded = _lower(_unaccent(low))  # accents off what F&O folds: never less strict
        if folded != c:
            dataverse.append((c, folded))
    return {name: ("".join(a for a, _ in pairs), "".join(b for _, b in pairs))
            for name, pairs in (("fno", fno), ("dataverse", dataverse))}


@functools.cache
def _translation(name: str) -> dict[int, int]:
    src, dst = _tables()[name]
    return str.maketrans(src, dst)


def is_blank(value: str | None) -> bool:
    """NULL or only blank characters."""
    return value is None or value.strip(BLANK_CHARS) == ""


def strip_blank(value: str) -> str | None:
    """A value without blank characters at either end; None when nothing is left (a Sales
    value as the sync writes a non-key field)."""
    return value.strip(BLANK_CHARS) or None


def key_text(value: str | None) -> str | None:
    """The key the sync writes for a number: trailing blanks dropped, None when blank."""
    if value is None:
        return None
    return value.rstrip(BLANK_CHARS) or None


def fno_key(value: str | None) -> str | None:
    """The key as F&O compares it: case-insensitive, accent-sensitive (None when blank)."""
    key = key_text(value)
    return None if key is None else key.translate(_translation("fno"))


def dataverse_key(value: str | None) -> str | None:
    """The key as the Dataverse alternate key compares it: case- and accent-insensitive
    (None when blank)."""
    key = key_text(value)
    return None if key is None else key.translate(_translation("dataverse"))


def sql_params() -> dict[str, str]:
    """The bind parameters the packaged SQL computes blank and both equalities with
    (`:blank`, `:fno_from`/`:fno_to`, `:dataverse_from`/`:dataverse_to`)."""
    tables = _tables()
    return {"blank": BLANK_CHARS,
            "fno_from": tables["fno"][0], "fno_to": tables["fno"][1],
            "dataverse_from": tables["dataverse"][0], "dataverse_to": tables["dataverse"][1]}


def collision_kind(kept: str, other: str) -> str:
    """Why `other` collides with `kept` (as `dataverse_key`): exact, trailing space, case or
    accent."""
    if other == kept:
        return "exact"
    if key_text(other) == key_text(kept):
        return "trailing space"
    if fno_key(other) == fno_key(kept):
        return "case"
    return "accent"

