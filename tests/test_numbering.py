"""Pure logic: the number format, suffixes, the F&O fold and free-number assignment."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from p2c_upgrade.rules.keys import collision_kind, is_blank
from p2c_upgrade.rules.keys import dataverse_key as fold
from p2c_upgrade.rules.number_format import ALPHABET, assign, format_number, number_too_long, pad, seqpart, suffix_for

NUMBER = re.compile(r"^[A-Z]{3}-\d{5,}-[A-Z0-9]{6}$")


def test_first_number_on_a_new_sequence() -> None:
    assert format_number("ACC", 1000, "BVRCPS") == "ACC-01000-BVRCPS"


def test_padding_grows_past_five_digits_and_never_truncates() -> None:
    assert pad(99999) == "99999"
    assert pad(100000) == "100000"
    assert format_number("ACC", 141000, "X") == "ACC-141000-X"


def test_suffix_is_derived_from_the_key_and_salt() -> None:
    a = suffix_for("0f8fad5b-d9cb-469f-a165-70867728950e", "", 6)
    assert a == suffix_for("0f8fad5b-d9cb-469f-a165-70867728950e", "", 6)
    assert len(a) == 6 and set(a) <= set(ALPHABET)
    assert a != suffix_for("0f8fad5b-d9cb-469f-a165-70867728950e", "pepper", 6)
    assert suffix_for("1", "", 0) == ""


@given(st.text(max_size=40), st.text(max_size=8), st.integers(0, 16))
def test_suffix_shape(key: str, salt: str, length: int) -> None:
    s = suffix_for(key, salt, length)
    assert len(s) == length and set(s) <= set(ALPHABET)


def test_fold_is_how_fno_compares() -> None:
    assert fold("ACC-1") == fold("acc-1") == fold("ÀCC-1") == fold("ACC-1   ")
    assert fold(" ACC-1") != fold("ACC-1")  # leading spaces count
    assert fold("MÜLLER") == fold("muller")
    assert fold(None) is None


def test_collision_kinds() -> None:
    assert collision_kind("X-1", "X-1") == "exact"
    assert collision_kind("X-1", "X-1  ") == "trailing space"
    assert collision_kind("ABC-1", "abc-1") == "case"
    assert collision_kind("MÜLLER-1", "MULLER-1") == "accent"


def test_blank() -> None:
    assert is_blank(None) and is_blank("") and is_blank("  \t")
    assert not is_blank(" x ")


def test_seqpart_reads_values_that_look_generated() -> None:
    assert seqpart("ACC-01000-ABCDEF", "ACC") == 1000
    assert seqpart("acc-100000-x", "ACC") == 100000
    assert seqpart("ÀCC-01234-Q  ", "ACC") == 1234
    assert seqpart("CUST-01000-ABCDEF", "ACC") is None
    assert seqpart("ACC-12", "ACC") is None
    assert seqpart(None, "ACC") is None


def test_assign_skips_reserved_numbers() -> None:
    assert list(assign(1000, [], 3)) == [1000, 1001, 1002]
    assert list(assign(1000, [1000, 1002, 5], 3)) == [1001, 1003, 1004]
    assert list(assign(5000, [4000], 2)) == [5000, 5001]


@given(st.integers(0, 10_000), st.sets(st.integers(0, 10_100), max_size=30), st.integers(0, 60))
def test_assign_matches_brute_force(start: int, reserved: set[int], count: int) -> None:
    expected = []
    n = start
    while len(expected) < count:
        if n not in reserved:
            expected.append(n)
        n += 1
    assert list(assign(start, reserved, count)) == expected


def test_numbers_longer_than_twenty_characters_are_detected() -> None:
    assert not number_too_long("ACC", 99_999_999, 6)  # ACC-99999999-XXXXXX is 19
    assert number_too_long("ACC", 9_999_999_999, 6)
