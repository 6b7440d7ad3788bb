"""What every CSV the report writes shares: cells a spreadsheet would run as a formula are
neutralised, and text that could drive a terminal or forge a line is shown escaped."""

from __future__ import annotations

from typing import Any

from acktrack.domain.typed import unsafe_character

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value a spreadsheet shows as text: formula-like strings get a leading quote."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    text = str(value)
    # Spreadsheets skip leading spaces, tabs, vertical tabs and line separators before a formula.
    lead = text.lstrip(" \t\r\n\x0b\x0c\u2028\u2029\u00a0")
    return (
        "'" + text if text.startswith(_FORMULA_STARTS) or lead.startswith(_FORMULA_STARTS) else text
    )


def printable(text: str | None) -> str:
    """Text typed by someone, made safe to print on one line: each control or format
    character (an escape, a line break, a bidirectional override) written as ``\\uXXXX``.
    What acktrack stores today has none; items recorded before it refused them may."""
    if not text:
        return ""
    return "".join(f"\\u{ord(c):04x}" if unsafe_character(c) else c for c in text)
