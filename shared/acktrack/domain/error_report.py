"""An insurer's CSV error report: business rejections after the 999, as some carriers send
them instead of an 824 (under ``inbound/<insurer id>/errors/``).

Exactly the columns ``ERROR_COLUMNS``, one rejected member transaction a row: whose
(subscriber id, and member id when the row is about a dependent), which set (its ST02,
``transaction_control``), the insurer's code, and its message, which is read and not kept
(it may quote the member's name, birth date or address). A file with another column, or one bad
row, is refused whole.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from acktrack.domain.acks import AckEntry
from acktrack.domain.identifiers import ID, SHORT
from acktrack.domain.status import Event, transaction_key
from acktrack.x12.text import neutral_text

ERROR_COLUMNS = ("subscriber_id", "member_id", "transaction_control", "error_code", "message")
ERRORS_FOLDER = "errors/"  # below inbound/<insurer id>/
MESSAGE_CHARS = 120
MAX_ROWS = 3_000  # one invocation: about six requests a row, under the 20,000 bound
_DIGITS = re.compile(r"\d{4,}")


class ErrorReportRefused(ValueError):
    """The file is not an error report; nothing of it is kept."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportedError:
    line: int
    subscriber_id: str
    member_id: str | None  # None: the subscriber's own transaction
    transaction_control: str  # ST02 of the set that carried it
    error_code: str
    message: str  # as kept: clipped, neutralised, digits masked


def is_error_report(key: str) -> bool:
    """A key under ``inbound/<insurer id>/errors/``."""
    parts = key.split("/")
    return len(parts) >= 4 and parts[0] == "inbound" and bool(parts[1]) and parts[2] == "errors"


def safe_message(text: str) -> str:
    """An insurer's free text as kept and shown."""
    return _DIGITS.sub("#", neutral_text(text, MESSAGE_CHARS))


def read_error_rows(lines: list[str]) -> list[ReportedError]:
    """Every row, or ErrorReportRefused naming the first line that is not one."""
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
        names = [cell.strip().lstrip("\ufeff").lower() for cell in header or []]
        unknown = [name for name in names if name not in ERROR_COLUMNS]
        missing = [name for name in ERROR_COLUMNS if name not in names]
        if unknown or missing or len(set(names)) != len(names):
            raise ErrorReportRefused(
                f"line 1: an error report names exactly the columns {','.join(ERROR_COLUMNS)}"
                + (f"; {len(unknown)} other column(s) (not quoted: a first line may be data)"
                   if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )  # fmt: skip
        at = {name: names.index(name) for name in ERROR_COLUMNS}
        rows: list[ReportedError] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            number = reader.line_num
            if len(rows) >= MAX_ROWS:
                raise ErrorReportRefused(f"more than {MAX_ROWS:,} rows: split the report")
            if len(cells) != len(names):
                raise ErrorReportRefused(f"line {number}: {len(cells)} fields, the header names "
                                         f"{len(names)}")  # fmt: skip
            value = {name: cells[index].strip() for name, index in at.items()}
            for name in ("subscriber_id", "transaction_control", "error_code"):
                if not value[name]:
                    raise ErrorReportRefused(f"line {number}: {name} is empty")
            for name, size in (("subscriber_id", ID), ("member_id", ID),
                               ("transaction_control", SHORT), ("error_code", SHORT)):  # fmt: skip
                if len(value[name]) > size:
                    raise ErrorReportRefused(f"line {number}: {name} is longer than {size}")
            rows.append(ReportedError(
                line=number, subscriber_id=value["subscriber_id"],
                member_id=value["member_id"] or None,
                transaction_control=value["transaction_control"],
                error_code=value["error_code"], message="",  # may quote the member: not kept
            ))  # fmt: skip
    except csv.Error as error:
        raise ErrorReportRefused(f"line {reader.line_num}: not readable as CSV ({error})") from None
    if not rows:
        raise ErrorReportRefused("the file has a header and no rows")
    return rows


ERROR_REPORT = "error_report"  # the entry kind, beside "999", "TA1" and "824"


class StoredErrorRow(Protocol):
    """A row as kept in its family's partition, until (and after) it is applied."""

    @property
    def row_id(self) -> str: ...  # a hash of the file version and line: one entry a row
    @property
    def subscriber_id(self) -> str: ...
    @property
    def member_id(self) -> str | None: ...
    @property
    def transaction_control(self) -> str: ...
    @property
    def error_code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def received_at(self) -> str: ...
    @property
    def applied_to(self) -> str | None: ...


class MemberTransaction(Protocol):
    """What a row is matched against: one member transaction of the family, as sent."""

    @property
    def set_pk(self) -> str: ...
    @property
    def set_sk(self) -> str: ...
    @property
    def transaction_control(self) -> str: ...  # its set's ST02
    @property
    def sent_at(self) -> str: ...
    @property
    def ordinal(self) -> float: ...
    @property
    def subscriber_indicator(self) -> str: ...
    @property
    def member_id(self) -> str | None: ...


M = TypeVar("M", bound=MemberTransaction)


def matched_member(row: StoredErrorRow, members: Iterable[M]) -> M | None:
    """The member transaction a row names: in the ST02 it gives, by member id (or the
    subscriber's own when it gives none), the latest sent before the report came (senders
    restart ST02 in every file: whatever comes later never decides which set a row meant)."""
    sent = sorted(members, key=lambda m: m.sent_at, reverse=True)
    return next((m for m in sent if _names(row, m) and m.sent_at <= row.received_at), None)


def _names(row: StoredErrorRow, member: MemberTransaction) -> bool:
    if member.transaction_control != row.transaction_control:
        return False
    if row.member_id:
        return member.member_id == row.member_id
    return member.subscriber_indicator == "Y"


def row_entry(row: StoredErrorRow, member: MemberTransaction) -> tuple[str, AckEntry]:
    """The row as an entry on its set (its id, and the entry), pinned to the member
    transaction it was matched to (its ordinal in the set: two rows naming one person
    count one)."""
    entry_id = f"{ERROR_REPORT}-{row.row_id}"
    pinned = {"subscriber_id": row.subscriber_id, "transaction": transaction_key(member.ordinal),
              **({"member_id": row.member_id} if row.member_id else {})}  # fmt: skip
    entry: AckEntry = {
        "id": entry_id, "kind": ERROR_REPORT, "event": Event.SET_REJECTED_AFTER_ACCEPT.value,
        "status": "R", "codes": [row.error_code], "at": row.received_at,
        "note": row.message, "errors": [], "pinned": pinned,
    }  # fmt: skip
    return entry_id, entry
