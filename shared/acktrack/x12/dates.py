"""D8 and RD8 dates as an 834 carries them: CCYYMMDD, and CCYYMMDD-CCYYMMDD ranges."""

from __future__ import annotations

from functools import lru_cache

from acktrack.x12.records import parse_ccyymmdd


@lru_cache(maxsize=1024)
def _valid_late_date(value: str) -> bool:
    return parse_ccyymmdd(value) is not None


def valid_date(value: str) -> bool:
    """CCYYMMDD is a real calendar date (fast for the common case; birth dates vary)."""
    if len(value) != 8 or not (value.isascii() and value.isdigit()):
        return False
    month, day = value[4:6], value[6:8]
    if not ("01" <= month <= "12" and "01" <= day <= "31"):
        return False
    return day <= "28" or _valid_late_date(value)


@lru_cache(maxsize=4096)
def valid_period(period_format: str, value: str) -> bool:
    """A DTP value is valid for its format qualifier (D8, RD8; other formats pass)."""
    if not period_format or not value:
        return False
    if period_format == "D8":
        return valid_date(value)
    if period_format == "RD8":
        first, _, last = value.partition("-")
        return valid_date(first) and valid_date(last)
    return True
