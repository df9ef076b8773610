"""Numbers from a link: the review's crashing values, and any text gives a number in range or None."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmnist_lab.teaching.links import MAX_DIGITS, MAX_ITEMS, parse_index, parse_index_list


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("1", 1),
        ("9", 9),
        (" 4 ", 4),
        ("007", 7),
        ("0", None),  # below the range
        ("10", None),  # above it
        ("²", None),  # isdigit() says yes, int() says no: the review's crash
        ("³", None),
        ("٣", None),  # an Arabic-Indic three: int() would take it, a link should not
        ("4" * 4301, None),  # over int()'s digit limit
        ("4" * (MAX_DIGITS + 1), None),
        ("-1", None),
        ("+3", None),
        ("3.0", None),
        ("1_0", None),  # int() takes underscores
        ("", None),
        (None, None),
    ],
)
def test_parse_index(text: str | None, expected: int | None) -> None:
    assert parse_index(text, 1, 9) == expected


def test_parse_index_list_keeps_the_valid_items_once_in_order() -> None:
    assert parse_index_list("3,²,1,3,x,,9,10, 2", 1, 9) == [3, 1, 9, 2]
    assert parse_index_list(None, 1, 9) == [] and parse_index_list("", 1, 9) == []
    assert parse_index_list(",".join(["1"] * 10**5 + ["2"]), 1, 9) == [1]  # only the first MAX_ITEMS are read
    assert len(parse_index_list(",".join(map(str, range(1, 500))), 1, 1000)) == MAX_ITEMS


def reference(text: str, low: int, high: int) -> int | None:
    """An independent spelling of the rule: ASCII digits, at most MAX_DIGITS of them, in range."""
    core = text.strip()
    if not (1 <= len(core) <= MAX_DIGITS and all(c in "0123456789" for c in core)):
        return None
    value = sum(10**i * "0123456789".index(c) for i, c in enumerate(reversed(core)))
    return value if low <= value <= high else None


@given(st.text(max_size=12) | st.from_regex(r"\s*[0-9]{1,12}\s*", fullmatch=True), st.integers(0, 50))
def test_any_text_gives_the_reference_answer(text: str, high: int) -> None:
    assert parse_index(text, 0, high) == reference(text, 0, high)


@given(st.lists(st.text(max_size=6) | st.integers(-5, 20).map(str), max_size=20))
def test_any_list_gives_numbers_in_range(parts: list[str]) -> None:
    text = ",".join(parts)
    got = parse_index_list(text, 1, 9)
    expected = [n for n in (reference(p, 1, 9) for p in text.split(",")) if n is not None]
    assert got == list(dict.fromkeys(expected))
