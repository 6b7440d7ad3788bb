"""What an insurer sends back for an 834 someone gives us, as that person chooses: a 999
that accepts every set or rejects the chosen ones (with IK3/IK4 on a chosen member's
segments), and a TA1 per interchange. ``acktrack generate 999`` and ``generate ta1``.

Built on the simulated insurer (acknowledgments.py): ``receive`` reads the 834's
envelopes (and, with ``as_read``, its errors); ``write_999`` and ``write_ta1`` write the
answers, from the insurer (the 834's receiver) to its sender.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from acktrack.synthetic.acknowledgments import (
    ElementErrorSpec,
    Received,
    SegmentErrorSpec,
    SetResponse,
    receive,
    write_999,
    write_ta1,
)
from acktrack.x12 import InterchangeHeader, MemberTransaction, iter_segments, read_x12
from acktrack.x12.codes import TA1_NOTE
from acktrack.x12.errors import UnreadableX12


class AnswerError(ValueError):
    """The 834 cannot be answered as asked; the message says what is wrong."""


# The segment of a member's loop an IK3 names -> its loop and the element error a
# translator would report (IK401 position, IK402 reference, IK403 code), and whether the
# value is a code that may be quoted in IK404 (never a name, a date or an id).
SEGMENT_ERRORS: dict[str, tuple[str, int, str, str, bool]] = {
    "INS": ("2000", 3, "875", "7", True),  # INS03 maintenance type: invalid code value
    "REF": ("2000", 2, "127", "6", False),  # REF02 (the subscriber id): invalid character
    "DTP": ("2000", 3, "1251", "8", False),  # DTP03 (the member's first date): invalid date
    "NM1": ("2100A", 3, "1035", "6", False),  # NM103 last name: invalid character
    "DMG": ("2100A", 2, "1251", "8", False),  # DMG02 birth date: invalid date
    "HD": ("2300", 3, "1205", "7", True),  # HD03 insurance line: invalid code value
}


@dataclass(frozen=True, slots=True)
class MemberError:
    """An IK3 (and its IK4) on member ``ordinal`` (1-based INS loop) of set ST02
    ``transaction_control``, at the first ``segment_id`` of its loop."""

    transaction_control: str
    ordinal: int
    segment_id: str = "INS"

    @classmethod
    def parse(cls, text: str) -> MemberError:
        """``ST02:MEMBER[:SEGMENT]``, e.g. ``0001:3`` or ``0002:1:DTP``."""
        parts = text.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1].isdigit() or parts[1] == "0":
            raise AnswerError(
                f"{text!r}: write ST02:MEMBER[:SEGMENT], e.g. 0001:3 or 0001:3:DTP "
                "(MEMBER counts the set's INS loops from 1, as `acktrack parse --members` does)"
            )
        segment = parts[2].upper() if len(parts) == 3 else "INS"
        if segment not in SEGMENT_ERRORS:
            raise AnswerError(
                f"{text!r}: no IK3 for {segment}; choose one of {', '.join(SEGMENT_ERRORS)}"
            )
        return cls(parts[0], int(parts[1]), segment)


def _received(data: bytes) -> list[Received]:
    try:
        received = receive(data)
    except UnreadableX12 as error:
        raise AnswerError(f"not readable as X12: {error.reason}") from None
    if not received:
        raise AnswerError("no interchange with an IEA in the file: nothing to answer")
    return received


def _set_controls(received: list[Received]) -> list[str]:
    return [item.transaction_control for r in received for g in r.groups for item in g.sets or []]


def answer_999(
    data: bytes,
    *,
    insurer_control: int,
    sent_at: datetime,
    reject: Collection[str] = (),
    member_errors: Iterable[MemberError] = (),
    as_read: bool = False,
) -> bytes:
    """One 999 interchange per interchange of the 834 ``data``, from its receiver to its
    sender (ISA13 ``insurer_control``, then the next numbers). Every set is accepted,
    unless ``as_read`` (a set with errors acktrack's reader finds is rejected, with IK3/IK4
    where they are, as a translator would) or chosen: each ST02 in ``reject`` and each set
    a ``member_errors`` entry names is rejected (IK5 R 5), with an IK3 and IK4 at each
    named member's segment, else at its first member's INS. AK9 follows the sets."""
    received = _received(data)
    wanted = list(member_errors)
    chosen = set(reject) | {error.transaction_control for error in wanted}
    unknown = sorted(chosen - set(_set_controls(received)))
    if unknown:
        raise AnswerError(
            f"no set with ST02 {', '.join(unknown)} in the file "
            f"(its sets: {', '.join(sorted(set(_set_controls(received))))})"
        )
    named_sets = {error.transaction_control for error in wanted}
    errors = _segment_errors(data, wanted, [MemberError(c, 1) for c in sorted(chosen - named_sets)])
    for item in received:
        for group in item.groups:
            if not as_read:
                group.codes, group.status = [], None
            if group.sets is None:
                continue
            where = (item.interchange_control, group.group_control)
            for index, response in enumerate(group.sets):
                control = response.transaction_control
                named = [
                    found
                    for error in wanted
                    if error.transaction_control == control
                    and (found := errors.get((*where, control, error.ordinal, error.segment_id)))
                ]  # a set with this ST02 but no members (in another group) has none
                default = errors.get((*where, control, 1, "INS"))
                if not named and default is not None:
                    named = [default]
                group.sets[index] = _verdict(response, chosen, as_read, named)
    out = io.BytesIO()
    for number, item in enumerate(received):
        write_999(out, sender_id=item.receiver_id, receiver_id=item.sender_id,
                  interchange_control=insurer_control + number, sent_at=sent_at, groups=item.groups)  # fmt: skip
    return out.getvalue()


def _verdict(
    response: SetResponse, chosen: set[str], as_read: bool, errors: list[SegmentErrorSpec]
) -> SetResponse:
    """A set's IK5: as read or accepted; rejected (IK5 R 5) when chosen, with ``errors``,
    its IK3s."""
    if not as_read:
        response = SetResponse(response.transaction_control, "A")
    if response.transaction_control not in chosen:
        return response
    if as_read:
        return SetResponse(response.transaction_control, "R", sorted({*response.codes, "5"}),
                           [*response.errors, *errors])  # fmt: skip
    return SetResponse(response.transaction_control, "R", ["5"], errors)


def _segment_errors(
    data: bytes, wanted: list[MemberError], defaults: list[MemberError]
) -> dict[tuple[str, str, str, int, str], SegmentErrorSpec]:
    """Each member's IK3/IK4, keyed by (ISA13, GS06, ST02, member, segment id): AnswerError
    when a ``wanted`` member or segment is not in the file; ``defaults`` where they are."""
    if not wanted and not defaults:
        return {}
    members: dict[tuple[str, str, str, int], MemberTransaction] = {}
    counts: dict[tuple[str, str, str], int] = {}
    names = {(error.transaction_control, error.ordinal) for error in wanted + defaults}
    for record in read_x12(io.BytesIO(data)):
        if isinstance(record, MemberTransaction):
            header = record.enrollment.header
            key = (header.interchange.control, header.group_control or "", header.control)
            counts[key] = max(counts.get(key, 0), record.ordinal)
            if (header.control, record.ordinal) in names:
                members[(*key, record.ordinal)] = record
    found: dict[tuple[str, str, str, int, str], SegmentErrorSpec] = {}
    for error in wanted:
        sets = [key for key in counts if key[2] == error.transaction_control]
        for key in sets:
            if (*key, error.ordinal) not in members:
                raise AnswerError(
                    f"set {error.transaction_control} has {counts[key]} member(s): no member "
                    f"{error.ordinal} (`acktrack parse --members FILE` lists them)"
                )
    segments = _member_segments(data, members)
    for error in wanted + defaults:
        for (control, group, st02, ordinal), member_segments in segments.items():
            if (st02, ordinal) != (error.transaction_control, error.ordinal):
                continue
            loop, element, reference, code, quoted = SEGMENT_ERRORS[error.segment_id]
            hit = next(((p, e) for p, e, in_loop in member_segments
                        if e[0] == error.segment_id and in_loop == loop), None)  # fmt: skip
            if hit is None and error in defaults:
                continue
            if hit is None:
                raise AnswerError(
                    f"member {ordinal} of set {st02} has no {error.segment_id} segment in "
                    f"loop {loop}"
                )
            position, elements = hit
            value = elements[element] if quoted and len(elements) > element else ""
            detail = ElementErrorSpec(element, reference, code, value)
            found[(control, group, st02, ordinal, error.segment_id)] = SegmentErrorSpec(
                error.segment_id, position, "8", loop[:4], (detail,)
            )  # IK303 holds 4 characters: 2100A is written 2100
    return found


def _member_segments(
    data: bytes, members: dict[tuple[str, str, str, int], MemberTransaction]
) -> dict[tuple[str, str, str, int], list[tuple[int, list[str], str]]]:
    """Each member's segments: (position in its set, elements, loop), in order."""
    ranges: dict[tuple[str, str, str], list[tuple[int, int, int]]] = {}
    for (control, group, st02, ordinal), member in members.items():
        ranges.setdefault((control, group, st02), []).append(
            (member.first_position, member.last_position, ordinal)
        )
    result: dict[tuple[str, str, str, int], list[tuple[int, list[str], str]]] = {}
    interchange = group = st02 = loop = ""
    start = 0
    current: list[tuple[int, int, int]] = []
    for segment in iter_segments(io.BytesIO(data)):
        if segment.id == "ISA":
            interchange = segment.elements[13] if len(segment.elements) > 13 else ""
        elif segment.id == "GS":
            group = segment.elements[6] if len(segment.elements) > 6 else ""
        elif segment.id == "ST":
            start = segment.position
            st02 = segment.elements[2] if len(segment.elements) > 2 else ""
            current = ranges.get((interchange, group, st02), [])
        if not current:
            continue
        position = segment.position - start + 1
        loop = _loop(segment.id, segment.elements, loop)
        for first, last, ordinal in current:
            if first <= position <= last:
                result.setdefault((interchange, group, st02, ordinal), []).append(
                    (position, segment.elements, loop)
                )
    return result


def _loop(segment_id: str, elements: list[str], current: str) -> str:
    """The 834 loop a member's segment is in, from the segments that open loops."""
    if segment_id == "INS":
        return "2000"
    if segment_id == "NM1":
        return "2100A" if len(elements) > 1 and elements[1] in ("IL", "74") else "2100B-H"
    if segment_id == "HD":
        return "2300"
    if segment_id == "LX":
        return "2700"
    return current


def answer_ta1(
    data: bytes,
    *,
    insurer_control: int,
    sent_at: datetime,
    reject: bool = False,
    note: str | None = None,
    as_read: bool = False,
) -> bytes:
    """A TA1 for each interchange of the 834 ``data``, each in its own interchange from the
    receiver to the sender: A (note 000), or R with ``note`` (default 024, invalid
    interchange content) when ``reject``; ``as_read``: R with the envelope error acktrack's
    reader finds, where it finds one."""
    if note is not None and note not in TA1_NOTE:
        raise AnswerError(f"TA1 note {note!r} is not a TA105 code (000 to 031)")
    out = io.BytesIO()
    for number, item in enumerate(_received(data)):
        found = item.envelope_problem if as_read else None
        rejected = reject or found is not None
        code = (note or found or "024") if rejected else (note or "000")
        write_ta1(out, sender_id=item.receiver_id, receiver_id=item.sender_id,
                  interchange_control=insurer_control + number, sent_at=sent_at,
                  acknowledged_control=item.interchange_control, acknowledged_date=item.date,
                  acknowledged_time=item.time, status="R" if rejected else "A", note=code)  # fmt: skip
    return out.getvalue()


def first_interchange(data: bytes) -> InterchangeHeader:
    """The 834's first envelope (its partners, control number and date)."""
    try:
        for record in read_x12(io.BytesIO(data), members=False):
            if isinstance(record, InterchangeHeader):
                return record
    except UnreadableX12 as error:
        raise AnswerError(f"not readable as X12: {error.reason}") from None
    raise AnswerError("no interchange in the file")
