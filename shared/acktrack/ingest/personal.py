"""Does an operator's reason look like personal data? A reason is kept with the family,
shown on the timeline, listed in the daily report and emailed, so it must hold none. A name
cannot be told from other words (the help says "never a name"), but an SSN, a phone number
or a date of birth has a shape. Pure; each rule is tested on its own.

- **SSN**: ``ddd-dd-dddd`` (or with spaces); or nine digits in a row that could be an SSN:
  not starting with 000, 666 or 9, and with neither 00 as its middle pair nor 0000 at its end.
  Our own control numbers (ISA13 ``000001002``) and ids like ``300000017`` cannot be SSNs.
- **Phone number**: a North American number (ten digits, area code and exchange starting
  2-9, with or without separators, ``+1``, parentheses) or ``+`` and 8 to 15 digits.
- **Date of birth**: a call date is hard to tell from a birth date, so a date is refused
  when it could only be a birth date: a year before 2000 (``BIRTH_YEARS_BEFORE``), or more
  than a year (``RECENT_DAYS``) before the resolution. A call or event of the last year may
  be written as a date; an older one as month and year (``March 2024``), or by its ticket.
  Any date, even without a year, next to "DOB", "born" or "birth" is refused too. A newborn's
  birth date within the last year without those words cannot be told from a call date.

Formats read as dates: ``2024-03-02`` (also ``/`` and ``.``), ``03/02/2024`` and
``3/2/24`` (month or day first: refused if either reading is), ``20240302``, ``03021985``,
``2 March 1985``, ``March 2, 1985``, ``Mar 2 '85``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

BIRTH_YEARS_BEFORE = 2000  # a date in an earlier year could be a birth date
RECENT_DAYS = 365  # a date longer ago than this could be a birth date; a call date is recent

_SSN_SHAPED = re.compile(r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])")
_NINE_DIGITS = re.compile(r"(?<!\d)(\d{3})(\d{2})(\d{4})(?!\d)")
_NANP = re.compile(
    r"(?<!\d)(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\)[ .-]?|[2-9]\d{2}[ .-]?)[2-9]\d{2}[ .-]?\d{4}(?!\d)"
)
_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d[\d ().-]{6,20}\d(?!\d)")

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?<![a-z])(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")(?![a-z])\.?"
)
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?P<year>\d{4}|'\d{2})(?!\d)"
_NUMERIC = (
    re.compile(r"(?<![\d/.-])(?P<year>\d{4})([-/.])(?P<a>\d{1,2})\2(?P<b>\d{1,2})(?![\d/.-]?\d)"),
    re.compile(r"(?<![\d/.-])(?P<a>\d{1,2})([-/.])(?P<b>\d{1,2})\2(?P<year>\d{4}|\d{2})(?!\d)"),
)
_COMPACT = re.compile(r"(?<!\d)\d{8}(?!\d)")
_WORDS = (
    re.compile(rf"(?i)\b{_DAY}(?:\s+of)?\s+{_MONTH},?\s*{_YEAR}"),
    re.compile(rf"(?i){_MONTH}\s*{_DAY},?\s*{_YEAR}"),
)
_NO_YEAR = (
    re.compile(r"(?<![\d/.-])\d{1,2}[/.-]\d{1,2}(?![\d/.-]?\d)"),
    re.compile(rf"(?i)\b{_DAY}(?:\s+of)?\s+{_MONTH}"),
    re.compile(rf"(?i){_MONTH}\s*{_DAY}"),
)
_BIRTH_WORDS = re.compile(r"(?i)(?<![a-z])(?:d\.?o\.?b|born|birth\w*|b-?day)(?![a-z])")

HOW_TO_DATE = (
    "write a call or event date of the last year as YYYY-MM-DD, an older one as month and "
    "year only (e.g. 'called in March 2024'), or cite the ticket"
)


def personal_data(text: str, now: datetime) -> str | None:
    """Why ``text`` looks like personal data (one line, naming no value), or None."""
    for check in (_ssn, _phone, _birth_date):
        why = check(text, now)
        if why:
            return why
    return None


def _ssn(text: str, now: datetime) -> str | None:
    found = _SSN_SHAPED.search(text)
    if found:
        return (
            f"character {found.start() + 1} starts what looks like an SSN (ddd-dd-dddd); "
            "an SSN is never kept"
        )
    for nine in _NINE_DIGITS.finditer(text):
        if could_be_ssn(nine.group(0)):
            return (
                f"the 9 digits at character {nine.start() + 1} could be an SSN; the subscriber "
                "and member ids are kept with the resolution already, so leave ids out, and "
                "write a ticket number with its separators (e.g. 4411-20931)"
            )
    return None


def could_be_ssn(digits: str) -> bool:
    """Nine digits the Social Security Administration could have issued."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _phone(text: str, now: datetime) -> str | None:
    found = _NANP.search(text)
    if found is None:
        found = next(
            (m for m in _INTERNATIONAL.finditer(text)
             if 8 <= sum(c.isdigit() for c in m.group(0)) <= 15),
            None,
        )  # fmt: skip
    if found is None:
        return None
    return (
        f"character {found.start() + 1} starts what looks like a phone number; say who was "
        "called (e.g. 'the insurer's enrollment line'), never the number"
    )


def _birth_date(text: str, now: datetime) -> str | None:
    today = now.date()
    for position, candidates in _dates(text, today):
        if any(is_birth_like(day, today) for day in candidates):
            return (
                f"the date at character {position} could be a birth date (a year before "
                f"{BIRTH_YEARS_BEFORE}, or more than a year ago); {HOW_TO_DATE}"
            )
    if _BIRTH_WORDS.search(text):
        dated = next((p for p, _ in _dates(text, today)), None)
        if dated is None:
            dated = next((m.start() + 1 for rule in _NO_YEAR for m in rule.finditer(text)), None)
        if dated is not None:
            return (
                f"the date at character {dated} is next to a word about birth; a birth date "
                "is never kept"
            )
    return None


def is_birth_like(day: date, today: date) -> bool:
    """A date that could only be a birth date, not a call: before 2000 or over a year ago."""
    return day.year < BIRTH_YEARS_BEFORE or day < today - timedelta(days=RECENT_DAYS)


def _year(text: str, today: date) -> int:
    digits = text.lstrip("'")
    if len(digits) == 4:
        return int(digits)
    year = 2000 + int(digits)  # two digits: this century unless that is in the future
    return year if year <= today.year else year - 100


def _day(year: int, month: int, day: int) -> date | None:
    if not 1900 <= year <= 2199:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _found(*days: date | None) -> list[date]:
    return [day for day in days if day is not None]


def _dates(text: str, today: date) -> Iterator[tuple[int, list[date]]]:
    """Each date-like run in ``text``: its position (1-based) and every date it can be read as."""
    for rule in _NUMERIC:
        for m in rule.finditer(text):
            year, a, b = _year(m["year"], today), int(m["a"]), int(m["b"])
            # Year first: year, month, day; else month first (US) or day first: either reading.
            days = _found(_day(year, a, b), None if rule is _NUMERIC[0] else _day(year, b, a))
            if days:
                yield m.start() + 1, days
    for m in _COMPACT.finditer(text):
        digits = m.group(0)
        first, middle, last = int(digits[:2]), int(digits[2:4]), int(digits[4:])
        days = _found(
            _day(int(digits[:4]), int(digits[4:6]), int(digits[6:])),  # YYYYMMDD
            _day(last, first, middle),  # MMDDYYYY
            _day(last, middle, first),  # DDMMYYYY
        )
        if days:
            yield m.start() + 1, days
    for rule in _WORDS:
        for m in rule.finditer(text):
            days = _found(_day(_year(m["year"], today), _MONTHS[m["month"].lower()], int(m["day"])))
            if days:
                yield m.start() + 1, days
