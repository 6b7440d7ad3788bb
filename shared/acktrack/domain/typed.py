"""Text a person types (an operator's name, a reason): what may be kept and shown on one line."""

from __future__ import annotations

import unicodedata

LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")  # what str.splitlines splits on


def unsafe_character(character: str) -> bool:
    """A control or format character, or a line or paragraph separator: what can start a
    line, move a terminal's cursor, colour its text or reorder it (bidirectional overrides)."""
    category = unicodedata.category(character)
    return category.startswith("C") or category in ("Zl", "Zp")


def first_unsafe(text: str) -> tuple[int, str] | None:
    """The first unsafe character and its position (1-based), or None."""
    for position, character in enumerate(text, start=1):
        if unsafe_character(character):
            return position, character
    return None
