"""What every CSV the report writes shares: cells a spreadsheet would run as a formula are
neutralised, and text that could drive a terminal or forge a line is shown escaped."""

from __future__ import annotations

from typing import Any

from acktrack.x12.text import formula_safe, printable

__all__ = ["printable", "safe_cell"]


def safe_cell(value: Any) -> Any:
    """A value a spreadsheet shows as text: formula-like strings get a leading quote."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    return formula_safe(str(value))
