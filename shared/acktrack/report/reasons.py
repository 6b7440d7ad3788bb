"""An acknowledgment entry in plain words: the report's reason column, the member timeline
and the email decode the codes a set keeps (``domain.acks.AckEntry``) with the X12 code
lists (``x12.codes``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acktrack.domain.acks import AckEntry, SegmentErrorEntry
from acktrack.domain.status import REJECTING_EVENTS, REJECTIONS, pinned_to
from acktrack.x12 import codes


def describe_ack(summary: AckEntry) -> str:
    """One acknowledgment's verdict, decoded (e.g. for the report's reason column)."""
    if summary.get("kind") == "TA1":
        status, note = summary.get("status", ""), summary.get("note", "")
        return (
            f"TA1 {status} ({codes.describe(codes.TA1_STATUS, status)}), note {note} "
            f"({codes.describe(codes.TA1_NOTE, note)})"
        )
    if summary.get("kind") == "824":
        return _describe_advice(summary)
    if summary.get("kind") == "error_report":
        pinned = summary.get("pinned") or {}
        named = " member ".join(pinned[n] for n in ("subscriber_id", "member_id") if n in pinned)
        return (f"the insurer's error report: {', '.join(summary.get('codes', []))} after the "
                f"999 accepted it ({summary.get('note') or 'no message'}); naming subscriber "
                f"{named}")  # fmt: skip
    status = summary.get("status", "")
    if summary.get("per_set"):
        text = f"999 IK5 {status} ({codes.describe(codes.ACK_STATUS, status)})"
        extra = [
            f"IK5 {code}: {codes.describe(codes.IK5_ERROR, code)}"
            for code in summary.get("codes", [])
        ]
    else:
        text = f"999 AK9 {status} ({codes.describe(codes.ACK_STATUS, status)}) for the whole group"
        extra = [
            f"AK9 {code}: {codes.describe(codes.AK9_ERROR, code)}"
            for code in summary.get("codes", [])
        ]
    if summary.get("omitted_errors"):
        extra.append(f"{summary['omitted_errors']} more segment errors in the 999, not kept")
    return "; ".join([text, *extra])


def describe_error(error: SegmentErrorEntry) -> str:
    """IK3 (and its IK4s) in plain words, with segment and element."""
    where = f"{error.get('segment')} segment at position {error.get('position')}"
    if error.get("loop"):
        where += f" (loop {error['loop']})"
    parts = [
        f"IK3 {error.get('code')}: {codes.describe(codes.IK3_ERROR, str(error.get('code')))} — {where}"
    ]
    for element in error.get("elements", []):
        reference = f" (element {element.get('reference')})" if element.get("reference") else ""
        value = f", value {element['value']!r}" if element.get("value") else ""
        parts.append(
            f"IK4 {element.get('code')}: {codes.describe(codes.IK4_ERROR, str(element.get('code')))} in "
            f"{error.get('segment')}{_two_digits(element.get('position'))}{reference}{value}"
        )
    return "; ".join(parts)


def _two_digits(position: Any) -> str:
    return f"{position:02d}" if isinstance(position, int) else ""


def _describe_advice(summary: AckEntry) -> str:
    """An 824's rejection after the 999: the verdict, each TED code and what the insurer wrote."""
    status = summary.get("status", "")
    parts = [f"824 OTI {status} ({codes.describe(codes.APPLICATION_VERDICT, status)}) after the "
             "999 accepted it: the insurer's business rules refused it"]  # fmt: skip
    parts += [f"TED {code}: {codes.describe(codes.APPLICATION_ERROR, code)}"
              for code in summary.get("codes", [])]  # fmt: skip
    if summary.get("note"):
        parts.append(f"the insurer wrote: {summary['note']}")
    pinned = summary.get("pinned") or {}
    if pinned:
        parts.append("naming subscriber " + " member ".join(
            pinned[name] for name in ("subscriber_id", "member_id") if name in pinned))  # fmt: skip
    if summary.get("omitted_errors"):
        parts.append(f"{summary['omitted_errors']} more errors in the 824, not kept")
    return "; ".join(parts)


def about_member(ack: AckEntry, ordinal: int) -> bool:
    """An error report's row is about the member transaction it was matched to only (rows
    kept before their ordinal was: about any member of the set)."""
    return ack.get("kind") != "error_report" or pinned_to(ack, ordinal) is not False


def member_reason(acks: Mapping[str, AckEntry], ordinal: int, status: str) -> str:
    """Why one member of a set is rejected (or what is known), most specific first."""
    rejecting = [
        a for a in acks.values() if a.get("event") in REJECTING_EVENTS and not a.get("revoked")
        and about_member(a, ordinal)
    ]  # fmt: skip
    if status in REJECTIONS and rejecting:
        parts: list[str] = []
        for ack in sorted(rejecting, key=lambda a: (a.get("kind") != "TA1", a.get("id", ""))):
            own = [
                e
                for e in ack.get("errors", [])
                if (e.get("member") or {}).get("ordinal") == ordinal
            ]
            others = [
                e
                for e in ack.get("errors", [])
                if (e.get("member") or {}).get("ordinal") != ordinal
            ]
            text = describe_ack(ack)
            if own:
                text += "; " + "; ".join(describe_error(error) for error in own)
            elif others and ack.get("kind") == "999":
                text += f"; set rejected for errors in {len(others)} other segment(s) of the set"
            parts.append(text)
        return " | ".join(parts)
    received = [
        a for a in acks.values() if a.get("event") == "ta1_accepted" and not a.get("revoked")
    ]
    if received:
        return "TA1 accepted the interchange; no 999 for this set yet"
    return "no acknowledgment received"
