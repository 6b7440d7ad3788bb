"""Text a person types (an operator's name, a reason): what may be kept and shown on one line."""

from __future__ import annotations

# One definition for every layer (the X12 readers use it too).
from acktrack.x12.text import unsafe_character

__all__ = ["LINE_BREAKS", "first_unsafe", "unsafe_character"]

LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")  # what str.splitlines splits on


def first_unsafe(text: str) -> tuple[int, str] | None:
    """The first unsafe character and its position (1-based), or None."""
    for position, character in enumerate(text, start=1):
        if unsafe_character(character):
            return position, character
    return None
