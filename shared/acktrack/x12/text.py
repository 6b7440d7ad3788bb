"""Free text made safe to keep and show: no character that drives a terminal or forges a
line, no cell a spreadsheet would run as a formula.

Pure functions, at the bottom of the layers so that every layer can use them: the X12
readers for free text a file carries (an 824's TED02 message), the report for its CSV
cells and the lines it prints, the domain for what an operator types.
"""

from __future__ import annotations

import unicodedata

PHI_MASK = "***"  # what personal data shows as unless asked for

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Spreadsheets skip leading spaces, tabs, vertical tabs and line separators before a formula.
_FORMULA_LEAD = " \t\r\n\x0b\x0c\u2028\u2029\u00a0"
_CLIPPED = "..."


def unsafe_character(character: str) -> bool:
    """A control or format character, or a line or paragraph separator: what can start a
    line, move a terminal's cursor, colour its text or reorder it (bidirectional overrides)."""
    category = unicodedata.category(character)
    return category.startswith("C") or category in ("Zl", "Zp")


def _escaped(character: str) -> str:
    return f"\\u{ord(character):04x}" if unsafe_character(character) else character


def printable(text: str | None) -> str:
    """Text made safe to print on one line: each control or format character (an escape, a
    line break, a bidirectional override) written as ``\\uXXXX``."""
    if not text:
        return ""
    return "".join(_escaped(c) for c in text)


def formula_safe(text: str) -> str:
    """``text`` as a spreadsheet shows it, as text: a formula-like one gets a leading quote."""
    if text.startswith(FORMULA_STARTS) or text.lstrip(_FORMULA_LEAD).startswith(FORMULA_STARTS):
        return "'" + text
    return text


def neutral_text(value: str, size: int) -> str:
    """Free text from a file (a message that may quote data), as it is kept and shown: at
    most ``size`` characters as ``printable`` writes them (a longer one is cut on a
    character and ends in ``...``), and ``formula_safe`` (which may add a leading quote).
    Work and result are bounded by ``size``, whatever the length of ``value``."""
    head = value[: size + 1]
    shown = printable(head)
    if len(shown) > size or len(value) > size:
        pieces: list[str] = []
        length = 0
        room = max(size - len(_CLIPPED), 0)
        for character in head:
            piece = _escaped(character)
            if length + len(piece) > room:
                break
            pieces.append(piece)
            length += len(piece)
        shown = "".join(pieces) + _CLIPPED
    return formula_safe(shown)
