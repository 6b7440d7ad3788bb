"""Expected enrollment actions: what the exchange's own system says it did, so that an
action for which no 834 ever went to the insurer is seen (``never_sent``).

The system drops a daily CSV under ``expected/`` in the outbound bucket, with exactly the
columns ``EXPECTED_COLUMNS`` (ids, codes and times only: a file carrying another column is
refused whole, with the reason, so no name or birth date ever comes in this way). Each row
is one action. It is sent when a member transaction to that insurer, for that subscriber
and member (the subscriber's own, when the member id is empty) and of that maintenance
type, was sent no earlier than the action was created (less ``CLOCK_SKEW``); it is never
sent when none was by ``expected_by`` (``created_at`` plus ``ExpectedSendHours``). An
action sent late closes itself then.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from acktrack.domain.identifiers import ID, SHORT

EXPECTED_COLUMNS = ("insurer_id", "subscriber_id", "member_id", "maintenance_type",
                    "effective_date", "action_id", "created_at")  # fmt: skip
# INS03: addition, change, cancellation or termination, reinstatement, audit, and the rest.
MAINTENANCE_TYPES = frozenset({"001", "021", "024", "025", "030", "032"})
CLOCK_SKEW = timedelta(hours=1)  # the exchange's clock and the envelope's may differ this much
MAX_LINE_BYTES = 4096  # a row longer than this is not an action of ids and codes


class ExpectedRefused(ValueError):
    """The file is not an extract of expected actions; nothing of it is kept."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedAction:
    partner: str  # the insurer (ISA08 of what is sent to it)
    subscriber_id: str
    member_id: str | None  # None: the subscriber's own transaction
    maintenance_type: str
    effective_date: str | None  # CCYYMMDD
    action_id: str
    created_at: str  # ISO 8601, UTC
    expected_by: str  # created_at plus ExpectedSendHours


def header_columns(line: str) -> dict[str, int]:
    """Where each column is, from the header line; refused unless it names exactly
    ``EXPECTED_COLUMNS`` (in any order)."""
    names = [cell.strip().lstrip("\ufeff").lower() for cell in _cells(line, 1)]
    unknown = [name for name in names if name not in EXPECTED_COLUMNS]
    missing = [name for name in EXPECTED_COLUMNS if name not in names]
    if unknown or missing or len(set(names)) != len(names):
        raise ExpectedRefused(
            "line 1: an extract of expected actions names exactly the columns "
            f"{','.join(EXPECTED_COLUMNS)} (in any order; ids and codes only)"
            + (f"; {len(unknown)} other column(s) (not quoted: a first line may be data)"
               if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )  # fmt: skip
    return {name: names.index(name) for name in EXPECTED_COLUMNS}


def parse_action(
    line: str, number: int, columns: dict[str, int], send_hours: float, zone: tzinfo
) -> ExpectedAction | None:
    """One row (None: a blank line); refused with the line's number when it is not one."""
    if not line.strip():
        return None
    cells = _cells(line, number)
    if len(cells) != len(columns):
        raise ExpectedRefused(f"line {number}: {len(cells)} fields, the header names "
                              f"{len(columns)}")  # fmt: skip
    value = {name: cells[at].strip() for name, at in columns.items()}
    for name in ("insurer_id", "subscriber_id", "maintenance_type", "action_id", "created_at"):
        if not value[name]:
            raise ExpectedRefused(f"line {number}: {name} is empty")
    if value["maintenance_type"] not in MAINTENANCE_TYPES:
        raise ExpectedRefused(
            f"line {number}: maintenance_type must be an INS03 code "
            f"({', '.join(sorted(MAINTENANCE_TYPES))})"
        )
    for name, size in (("insurer_id", SHORT), ("subscriber_id", ID), ("member_id", ID),
                       ("action_id", 64)):  # fmt: skip
        if len(value[name]) > size:
            raise ExpectedRefused(f"line {number}: {name} is longer than {size} characters")
    created = _moment(value["created_at"], zone)
    if created is None:
        raise ExpectedRefused(
            f"line {number}: created_at is not a date and time (ISO 8601, for example "
            "2026-01-15T09:30:00Z; without a zone it is read in EnvelopeTimezone)"
        )
    effective = _day(value["effective_date"])
    if value["effective_date"] and effective is None:
        raise ExpectedRefused(f"line {number}: effective_date is not a date (CCYYMMDD)")
    return ExpectedAction(
        partner=value["insurer_id"], subscriber_id=value["subscriber_id"],
        member_id=value["member_id"] or None, maintenance_type=value["maintenance_type"],
        effective_date=effective, action_id=value["action_id"], created_at=_iso(created),
        expected_by=_iso(created + timedelta(hours=send_hours)),
    )  # fmt: skip


def sends(
    action_member_id: str | None,
    action_type: str,
    created_at: str,
    *,
    member_id: str | None,
    subscriber_indicator: str,
    maintenance_type: str,
    sent_at: str,
) -> bool:
    """Whether this member transaction (of the action's family, to its insurer) is the
    action's 834."""
    if maintenance_type != action_type:
        return False
    if action_member_id is not None and member_id != action_member_id:
        return False
    if action_member_id is None and subscriber_indicator != "Y":
        return False
    earliest = datetime.fromisoformat(created_at.replace("Z", "+00:00")) - CLOCK_SKEW
    return datetime.fromisoformat(sent_at.replace("Z", "+00:00")) >= earliest


def _cells(line: str, number: int) -> list[str]:
    try:
        return next(csv.reader([line], strict=True), [])
    except csv.Error as error:
        raise ExpectedRefused(f"line {number}: not readable as CSV ({error})") from None


_DAY = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def _day(text: str) -> str | None:
    found = _DAY.fullmatch(text)
    if found is None:
        return None
    try:
        year, month, day = (int(part) for part in found.groups())
        return datetime(year, month, day).strftime("%Y%m%d")
    except ValueError:
        return None


def _moment(text: str, zone: tzinfo) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
