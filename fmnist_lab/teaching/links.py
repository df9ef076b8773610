"""Numbers from a page address, parsed one way everywhere: ASCII digits only, short, in range, else None.

``str.isdigit`` is not enough: it accepts ``²`` and other Unicode digits that ``int`` refuses, and
``int`` refuses numbers over 4,300 digits. A link is typed by anyone, so a bad value means "not
given", never an exception.
"""

from __future__ import annotations

import re

MAX_DIGITS = 9  # an index in a link is small; this also keeps int() far from its 4,300-digit limit
MAX_ITEMS = 100  # the most numbers one list parameter is read for
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


def parse_index(text: str | None, low: int, high: int) -> int | None:
    """The whole number ``text`` spells if it lies in ``low..high`` (both included), else None."""
    core = text.strip() if text is not None else ""
    if not _DIGITS.fullmatch(core):
        return None
    number = int(core)  # not int(text): str.strip() and int() disagree on what is white space (e.g. "\x1f")
    return number if low <= number <= high else None


def parse_index_list(text: str | None, low: int, high: int, max_items: int = MAX_ITEMS) -> list[int]:
    """The valid numbers of a comma-separated list, each once, in their first order; bad items are dropped."""
    if not text:
        return []
    found = (parse_index(part, low, high) for part in text.split(",", max_items)[:max_items])
    return list(dict.fromkeys(number for number in found if number is not None))
