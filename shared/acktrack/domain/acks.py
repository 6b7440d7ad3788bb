"""A set's acknowledgment entry: what one TA1 or 999 said about the set, as the set item
keeps it (a map, entry id -> entry) and as the status fold, the counters, the report and
``acktrack stats`` read it. One type, so that every reader names the same keys; the
stored form is unchanged (a plain map in the item)."""

from __future__ import annotations

from typing import Any, TypedDict


class ElementErrorEntry(TypedDict):
    """An IK4: where in the segment, which element, its code; the bad value only for
    elements whose values are codes (never personal data)."""

    position: int | None
    component: int | None
    reference: str
    code: str
    value: str | None


class SegmentErrorEntry(TypedDict):
    """An IK3 with its IK4s, and the member whose loop holds its position (ordinal, ids)."""

    segment: str
    position: int | None
    loop: str
    code: str
    elements: list[ElementErrorEntry]
    member: dict[str, Any] | None


class AckEntry(TypedDict, total=False):
    """One acknowledgment's verdict on one set. ``kind`` "999": ``status`` is IK501 (or
    AK901 when the 999 has no set detail: ``per_set`` false), ``codes`` IK502-IK506 (or
    AK905-AK909), ``errors`` its IK3s. ``kind`` "TA1": ``status`` TA104, ``note`` TA105.
    ``revoked``: an acknowledgment taken back (an operator, a corrected file); kept, not
    counted."""

    id: str
    kind: str
    event: str | None  # an ``Event``'s value; None: it mentions the set, decides nothing
    status: str
    codes: list[str]
    ak9: str
    ak9_codes: list[str]
    per_set: bool
    at: str | None  # ISO 8601
    errors: list[SegmentErrorEntry]
    note: str
    omitted_errors: int  # segment errors the 999 held beyond those kept
    pinned: dict[str, str]  # the member named (subscriber_id, member_id; an error report's row:
    # transaction, the ordinal in the set of the member transaction it was matched to)
    revoked: bool


Entries = dict[str, AckEntry]  # a set's entries: entry id -> entry
