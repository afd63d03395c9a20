"""The P2C number format, in Python: the reference the SQL in `sql/` is tested against.

`PREFIX-NNNNN-SSSSSS`: the sequence number zero-padded to at least five digits, and a suffix
derived from the record's primary key (md5 of salt + key text, one byte per character, modulo
36 into `A-Z0-9`), so the dry-run and a resumed run hand out exactly the same numbers.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Iterable, Iterator

from p2c_upgrade.rules.keys import dataverse_key

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
MAX_SUFFIX_LENGTH = 16  # one md5 byte per character
MAX_NUMBER_LENGTH = 20  # account.accountnumber and contact.msdynce_contactnumber are varchar(20)


_BYTE_TO_CHAR = bytes(ord(ALPHABET[b % 36]) for b in range(256))


def suffix_for(key_text: str, salt: str, length: int) -> str:
    """Byte i of md5(salt + key), modulo 36, into A-Z0-9 (the SQLite function, once per row)."""
    digest = hashlib.md5((salt + key_text).encode("utf-8")).digest()
    return digest[:length].translate(_BYTE_TO_CHAR).decode("ascii")


def pad(n: int) -> str:
    """Zero-pad to at least five digits; never truncate (`lpad` in PostgreSQL would)."""
    return f"{n:05d}"


def format_number(prefix: str, n: int, suffix: str) -> str:
    return f"{prefix}-{pad(n)}-{suffix}"


def seqpart(value: str | None, prefix: str) -> int | None:
    """The sequence number inside an existing value that looks generated (`PREFIX-<digits>-...`),
    compared as the duplicate gate compares (`dataverse_key`); None when it does not look
    generated."""
    if value is None:
        return None
    match = re.match(re.escape(dataverse_key(prefix) or "") + r"-([0-9]{1,18})-",
                     dataverse_key(value) or "")
    return int(match.group(1)) if match else None


def free_offsets(reserved: Iterable[int], start: int) -> list[int]:
    """For the reserved sequence numbers at or above `start`, sorted: how many free numbers
    precede each one. The k-th free number (k from 1) is `start + k - 1 + #{f < k}`."""
    rs = sorted({r for r in reserved if r >= start})
    return [r - start - i for i, r in enumerate(rs)]


def nth_free(k: int, start: int, offsets: list[int]) -> int:
    return start + k - 1 + bisect.bisect_left(offsets, k)


def assign(start: int, reserved: Iterable[int], count: int) -> Iterator[int]:
    """The sequence numbers the next `count` records get, skipping reserved ones."""
    offsets = free_offsets(reserved, start)
    for k in range(1, count + 1):
        yield nth_free(k, start, offsets)


def number_too_long(prefix: str, n: int, suffix_length: int) -> bool:
    return len(prefix) + 2 + len(pad(n)) + suffix_length > MAX_NUMBER_LENGTH
