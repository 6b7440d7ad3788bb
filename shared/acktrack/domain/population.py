"""An insurer's population as compared (pure): its reconciliation extract (CSV or
pipe-delimited text, one member per line), or its audit 834 (BGN08 ``4`` or ``RX``).

The first line names the columns (any order, case-insensitive). Required: subscriber_id,
member_id, relationship, subscriber_indicator, plan_id, benefit_begin. Optional:
insurer_member_id, insurer_policy_id, benefit_end, total_premium, aptc, and the personal
columns last_name, first_name, birth_date, gender, ssn, which are turned into keyed hashes
as they are read and never kept. A file with any bad line is refused whole, with each bad
line's number and reason, and changes nothing.

One member per physical line, each at most ``MAX_LINE_BYTES``, at most ``MAX_ROWS`` of
them: a longer line or one line too many stops the read there (memory stays bounded
whatever the file's shape). UTF-8, or Latin-1 (``decoded_lines``); never read with
replacement characters.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from acktrack.domain.hashing import Keyring, in_version, member_hashes, values_hashes
from acktrack.domain.identifiers import ID, LONG
from acktrack.domain.reconciliation import PopulationMember
from acktrack.x12.records import MemberTransaction

REQUIRED = ("subscriber_id", "member_id", "relationship", "subscriber_indicator", "plan_id",
            "benefit_begin")  # fmt: skip
OPTIONAL = ("insurer_member_id", "insurer_policy_id", "benefit_end", "total_premium", "aptc",
            "last_name", "first_name", "birth_date", "gender", "ssn")  # fmt: skip
MAX_ERRORS = 20  # reasons listed; the rest counted
# The longest line read. A member's line holds at most 16 cells of at most 99 characters
# (ids 50): under 2 KB even with every cell quoted and in 4-byte UTF-8 letters. 64 KiB is
# 30 times that, and what the reader holds of a line that never ends.
MAX_LINE_BYTES = 64 * 1024
# Members of one extract held in one invocation. Measured through the inbound use case
# (`benchmarks/reconciliation.py --extract`): 6.8 KB a member at worst (ours differing on
# every field: 13 discrepancy rows each), 2.9 KB when nothing was sent; 60,000 members peak
# at 463 MB and 233 MB with the handler's own 58 MB, under the 512 MB aimed at and half the
# function's 1,024 MB. A larger population comes as an audit 834, which is held in parts.
MAX_ROWS = 60_000


def too_many_rows(limit: int) -> str:
    if limit > MAX_ROWS:  # a split extract (``ingest.extract_parts``)
        return (
            f"more than {limit:,} lines after the header: an extract is split in parts of at "
            f"most {limit:,} members in all, and the rest of this file was not read; send this "
            "population as an audit 834 (BGN08 4 or RX), which is held in parts however large"
        )
    return (
        f"more than {limit:,} lines after the header: one invocation holds at most {limit:,} "
        "members of an extract that is not split (PartMembers 0), and the rest of this file "
        "was not read; send this population as an audit 834 "
        "(BGN08 4 or RX), which is held in parts however large, or set PartMembers to split "
        "the extract"
    )


UNREADABLE = ("not readable as CSV (an unbalanced quote, or a line break inside a quoted cell: "
              "one member per line)")  # fmt: skip


class _Lines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


class LineRefused(Exception):
    """A line that stops the read of an extract: ``line`` its number, ``reason`` why."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line, self.reason = line, reason


class ExtractRefused(Exception):
    """The extract cannot be read; ``errors`` holds (line number, reason)."""

    def __init__(self, errors: list[tuple[int, str]], more: int = 0) -> None:
        self.errors, self.more = errors, more
        listed = "; ".join(f"line {line}: {reason}" for line, reason in errors)
        tail = f"; and {more} more bad lines" if more else ""
        super().__init__(f"reconciliation extract refused: {listed}{tail}")


def _date(text: str) -> str | None:
    digits = text.replace("-", "")
    if not re.fullmatch(r"\d{8}", digits):
        return None
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
    if not (1900 <= year <= 2199 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    return digits


def _amount(text: str) -> str | None:
    try:
        return str(Decimal(text).quantize(Decimal("0.01")))
    except InvalidOperation:
        return None


def decoded_lines(stream: _Lines) -> Iterator[str]:
    """The lines of an extract's bytes, each read to at most ``MAX_LINE_BYTES`` (a longer one
    stops the read: ``LineRefused``, never its content), decoded as UTF-8 (a byte-order mark
    dropped), or, when a line is not UTF-8 and every line before it was plain ASCII, the whole
    file as Latin-1 (Windows-1252, which reads every Latin-1 letter alike). Never with
    replacement characters: a line neither can read is refused."""
    encoding, plain, number = "utf-8", True, 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise LineRefused(number, f"longer than {MAX_LINE_BYTES:,} bytes (one member per "
                                      "line; the rest of the file was not read)")  # fmt: skip
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a spreadsheet's byte-order mark
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            if encoding != "utf-8" or not plain:
                raise LineRefused(number, _ENCODING[encoding != "utf-8"]) from None
            encoding = "cp1252"
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                raise LineRefused(number, _ENCODING[True]) from None
        plain = plain and raw.isascii()
        yield text


_ENCODING = {
    False: "not UTF-8, where an earlier line was: a file in two encodings is refused",
    True: "neither UTF-8 nor Latin-1 (Windows-1252)",
}


def _row(line: str, delimiter: str) -> list[str] | None:
    """One physical line's cells (None: not readable as CSV)."""
    try:
        return next(csv.reader((line,), delimiter=delimiter, strict=True), [])
    except csv.Error:
        return None


def read_extract(
    lines: Iterable[str], key: Keyring, max_rows: int = MAX_ROWS
) -> list[PopulationMember]:
    """The members of an extract (see the module docstring), one per physical line, held;
    raises ExtractRefused. A line over ``MAX_LINE_BYTES`` or more than ``max_rows`` lines
    after the header stop the read at once (memory stays bounded whatever the file's shape)."""
    return list(extract_members(lines, key, max_rows))


def extract_members(
    lines: Iterable[str], key: Keyring, max_rows: int = MAX_ROWS
) -> Iterator[PopulationMember]:
    """The members of an extract as they are read, holding none. A bad line is not yielded,
    and ExtractRefused is raised once every line is read (or at once: a line too long, a
    line too many), so a caller acts on what it was given only when the read ends well."""
    iterator = iter(lines)
    errors: list[tuple[int, str]] = []
    bad = number = read = 0
    try:
        header = next(iterator, "").lstrip("\ufeff")
        number = 1
        delimiter = "|" if header.count("|") > header.count(",") else ","
        names = [n.strip().lower() for n in _row(header, delimiter) or []]
        missing = [name for name in REQUIRED if name not in names]
        if missing:  # the header's own cells are not repeated: a data line may stand there
            raise ExtractRefused([(1, f"the first line must name the columns; "
                                      f"{', '.join(missing)} missing")])  # fmt: skip
        absent = frozenset(name for name in OPTIONAL if name not in names)
        reason: str | None
        for number, line in enumerate(iterator, start=2):
            if len(line.encode()) > MAX_LINE_BYTES:
                raise LineRefused(number, f"longer than {MAX_LINE_BYTES:,} bytes")
            if number > max_rows + 1:
                raise LineRefused(number, too_many_rows(max_rows))
            values = _row(line, delimiter)
            if values is None:
                member, reason = None, UNREADABLE
            elif not any(value.strip() for value in values):
                continue  # a blank line
            else:
                row = {name: (values[i].strip() if i < len(values) else "")
                       for i, name in enumerate(names)}  # fmt: skip
                member, reason = _member(row, key, len(values), len(names), absent)
            if reason is not None:
                bad += 1
                if len(errors) < MAX_ERRORS:
                    errors.append((number, reason))
                continue
            assert member is not None
            read += 1
            yield member
    except LineRefused as refused:
        more = bad - len(errors)
        if len(errors) < MAX_ERRORS:
            errors.append((refused.line, refused.reason))
        else:
            more += 1
        raise ExtractRefused(errors, more) from None
    if errors:
        raise ExtractRefused(errors, bad - len(errors))
    if not read:
        raise ExtractRefused(
            [(number, "no member after the header: an empty population is refused")]
        )


# A member as a piece of a split extract holds it (``ingest.extract_parts``): identifiers,
# codes, dates, amounts and keyed hashes, in this order; never a personal value.
_PIECE_FIELDS = ("subscriber_id", "member_id", "subscriber_indicator", "relationship", "plan",
                 "benefit_begin", "benefit_end", "total_premium", "aptc", "insurer_member_id",
                 "insurer_policy_id", "name", "birth_date", "gender", "ssn", "line")  # fmt: skip


def piece_row(member: PopulationMember) -> list[Any]:
    """``member`` as one JSON-ready row of a piece (``from_piece_row`` reads it back)."""
    return [*(getattr(member, name) for name in _PIECE_FIELDS), member.hashes,
            sorted(member.absent)]  # fmt: skip


def from_piece_row(row: list[Any]) -> PopulationMember:
    """A member read back from a piece: equal to the one written, hashes and absent columns
    alike."""
    *values, hashes, absent = row
    if len(values) != len(_PIECE_FIELDS) or not isinstance(hashes, dict):
        raise ValueError("not a member row of an extract's piece")
    return PopulationMember(**dict(zip(_PIECE_FIELDS, values, strict=True)), hashes=hashes,
                            absent=frozenset(absent))  # fmt: skip


def _member(row: dict[str, str], key: Keyring, found: int, expected: int,
            absent: frozenset[str]) -> tuple[PopulationMember | None, str | None]:  # fmt: skip
    if found != expected:
        return None, f"{found} fields where the header names {expected}"
    if not row["subscriber_id"]:
        return None, "subscriber_id is empty"
    for name in ("subscriber_id", "member_id", "insurer_member_id", "insurer_policy_id"):
        if len(row.get(name, "")) > ID:
            return None, f"{name} is longer than {ID} characters"
    for name in ("relationship", "plan_id"):
        if len(row.get(name, "")) > LONG:
            return None, f"{name} is longer than {LONG} characters"
    if row["subscriber_indicator"].upper() not in ("Y", "N"):
        return None, "subscriber_indicator must be Y or N"
    dates = {}
    for name in ("benefit_begin", "benefit_end", "birth_date"):
        text = row.get(name, "")
        if text:
            value = _date(text)
            if value is None:
                return (
                    None,
                    f"{name} is not a date (YYYYMMDD or YYYY-MM-DD)",
                )  # the value is not repeated
            dates[name] = value
    if "benefit_begin" not in dates:
        return None, "benefit_begin is empty"
    amounts = {}
    for name in ("total_premium", "aptc"):
        text = row.get(name, "")
        if text:
            value = _amount(text)
            if value is None:
                return None, f"{name} is not an amount"  # the value is not repeated
            amounts[name] = value
    name = " ".join(p for p in (row.get("last_name", ""), row.get("first_name", "")) if p)
    family = row["subscriber_id"]
    values = {"name": name, "birth_date": dates.get("birth_date"), "gender": row.get("gender"),
              "ssn": row.get("ssn")}  # fmt: skip
    hashes = values_hashes(values, family, key)
    _, current = in_version(hashes, key.versions)
    return PopulationMember(
        subscriber_id=row["subscriber_id"],
        member_id=row["member_id"] or None,
        subscriber_indicator=row["subscriber_indicator"].upper(),
        relationship=row["relationship"],
        plan=row["plan_id"] or None,
        benefit_begin=dates["benefit_begin"],
        benefit_end=dates.get("benefit_end"),
        total_premium=amounts.get("total_premium"),
        aptc=amounts.get("aptc"),
        insurer_member_id=row.get("insurer_member_id") or None,
        insurer_policy_id=row.get("insurer_policy_id") or None,
        name=current.get("name"),
        birth_date=current.get("birth_date"),
        gender=current.get("gender"),
        ssn=current.get("ssn"),
        hashes=hashes,
        absent=absent,
    ), None


# -- an insurer's audit 834 (BGN08 4: verify, RX: replace): its whole population ------------

AUDIT_ACTIONS = frozenset({"4", "RX"})
_PREMIUM = ("PRE AMT TOT", "TOT RES AMT", "PRE AMT 1")
_APTC = ("APTC AMT",)


def is_audit(action: str) -> bool:
    """BGN08 of a full-population 834: ``4`` (verify) or ``RX`` (replace)."""
    return action.strip().upper() in AUDIT_ACTIONS


def _first(categories: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = _amount(categories.get(name, "")) if categories.get(name) else None
        if value is not None:
            return value
    return None


def premium_amounts(categories: dict[str, str]) -> tuple[str | None, str | None]:
    """Total premium and APTC from 2750 reporting categories (None where absent)."""
    return _first(categories, _PREMIUM), _first(categories, _APTC)


def population_member(
    member: MemberTransaction, key: Keyring, line: str = "HLT"
) -> PopulationMember:
    """One member of an insurer's audit 834 as compared: the coverage of ``line`` (else the
    first), its amounts, the insurer's ids, and keyed hashes of name, birth date, gender and
    SSN (NM109 when NM108 is 34). The personal values are not kept."""
    coverage = next((c for c in member.coverages if c.insurance_line == line),
                    member.coverages[0] if member.coverages else None)  # fmt: skip
    hashes = member_hashes(member, key)
    _, current = in_version(hashes, key.versions)
    premium, aptc = premium_amounts(member.reporting_categories)
    return PopulationMember(
        subscriber_id=member.subscriber_id or "",
        member_id=member.member_supplemental_id,
        subscriber_indicator=member.subscriber_indicator,
        relationship=member.relationship,
        plan=coverage.plan if coverage else None,
        benefit_begin=coverage.benefit_begin if coverage else None,
        benefit_end=coverage.benefit_end if coverage else None,
        total_premium=premium,
        aptc=aptc,
        insurer_member_id=member.carrier_member_id,
        insurer_policy_id=coverage.internal_control if coverage else None,
        name=current.get("name"),
        birth_date=current.get("birth_date"),
        gender=current.get("gender"),
        ssn=current.get("ssn"),
        line=coverage.insurance_line if coverage else None,
        hashes=hashes,
    )
