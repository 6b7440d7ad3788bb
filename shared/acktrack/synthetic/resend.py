"""Send some sets of an invented 834 again, corrected, in a new interchange: what an
operations team does after a 999 rejects a family's set."""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from acktrack.synthetic.writer import SegmentWriter, isa_elements
from acktrack.x12 import (
    GroupAcknowledgment,
    InterchangeAcknowledgment,
    InterchangeHeader,
    MemberTransaction,
    TransactionHeader,
    iter_segments,
    read_x12,
)
from acktrack.x12.codes import REJECTED_STATUSES
from acktrack.x12.delimiters import DEFAULT_DELIMITERS


def resend_sets(
    data: bytes,
    transaction_controls: Collection[str],
    *,
    interchange_control: int,
    group_control: int,
    sent_at: datetime,
    corrections: Mapping[tuple[str, int, str], str] | None = None,
) -> bytes:
    """The sets of ``data`` whose ST02 is in ``transaction_controls``, in a new interchange
    and group dated ``sent_at``. ``corrections`` maps (segment id, element number, old
    value) to the corrected value, e.g. ``{("INS", 3, "099"): "021"}``. The generator's
    default delimiters are assumed (what ``write_834`` writes)."""
    delimiters = DEFAULT_DELIMITERS
    text = data.decode("utf-8")
    segments = [s.strip() for s in text.split(delimiters.segment) if s.strip()]
    isa = segments[0].split(delimiters.element)
    gs = next(s for s in segments if s.startswith("GS" + delimiters.element)).split(
        delimiters.element
    )
    out = io.BytesIO()
    writer = SegmentWriter(out, delimiters)
    control = str(interchange_control).rjust(9, "0")
    writer.isa(isa_elements(sender_id=isa[6].strip(), receiver_id=isa[8].strip(), control=control,
                            when=sent_at, delimiters=delimiters))  # fmt: skip
    writer.segment("GS", gs[1], gs[2], gs[3], sent_at.strftime("%Y%m%d"), sent_at.strftime("%H%M"),
                   str(group_control), gs[7], gs[8])  # fmt: skip
    wanted = set(transaction_controls)
    keeping, sets = False, 0
    for segment in segments:
        elements = segment.split(delimiters.element)
        if elements[0] == "ST":
            keeping = elements[2] in wanted
            sets += keeping
            writer.set_segments = 0
        if not keeping:
            continue
        writer.segment(*corrected(elements, corrections))
        if elements[0] == "SE":
            keeping = False
    if not sets:
        raise ValueError(f"no set with ST02 in {sorted(wanted)}")
    writer.segment("GE", str(sets), str(group_control))
    writer.segment("IEA", "1", control)
    writer.flush()
    return out.getvalue()


def corrected(
    elements: list[str], corrections: Mapping[tuple[str, int, str], str] | None
) -> list[str]:
    """A segment's elements (its id first) with ``corrections`` applied: (segment id,
    element number, old value) -> the corrected value."""
    if not corrections:
        return elements
    fixed = list(elements)
    for number in range(1, len(fixed)):
        new = corrections.get((fixed[0], number, fixed[number]))
        if new is not None:
            fixed[number] = new
    return fixed


@dataclass
class Resent:
    """What ``resend_families`` wrote: its envelope and what it carries."""

    data: bytes
    sender_id: str
    receiver_id: str
    interchange_control: str
    group_control: str
    transaction_controls: list[str] = field(default_factory=list)
    members: int = 0
    families: set[str] = field(default_factory=set)


def resend_families(
    data: bytes,
    *,
    subscriber_ids: Collection[str] = (),
    transaction_sets: Collection[tuple[str, str, str]] = (),
    interchange_control: int,
    group_control: int,
    first_transaction_control: int,
    sent_at: datetime,
    corrections: Mapping[tuple[str, int, str], str] | None = None,
) -> Resent:
    """The chosen families of the 834 ``data`` sent again in a new interchange and group
    (ISA13 ``interchange_control``, GS06 ``group_control``, dated ``sent_at``), to the same
    insurer: every INS loop whose REF*0F is in ``subscriber_ids``, and every member of the
    sets named in ``transaction_sets`` ((ISA13, GS06, ST02), say the sets a 999 rejected).
    Each set that carries one keeps its header (BGN, N1 loops) and gets a new ST02, counted
    from ``first_transaction_control``; the source's delimiters are kept."""
    families, whole_sets = set(subscriber_ids), set(transaction_sets)
    kept: dict[tuple[str, str, str], list[tuple[int, int]]] = {}
    first_member: dict[tuple[str, str, str], int] = {}
    envelope: InterchangeHeader | None = None
    found: set[str] = set()
    members = 0
    for record in read_x12(io.BytesIO(data)):
        if isinstance(record, MemberTransaction):
            header = record.enrollment.header
            key = (header.interchange.control, header.group_control or "", header.control)
            first_member.setdefault(key, record.first_position)
            if key in whole_sets or record.subscriber_id in families:
                if envelope is None:
                    envelope = header.interchange
                elif (envelope.sender_id, envelope.receiver_id) != (
                    header.interchange.sender_id, header.interchange.receiver_id,
                ):  # fmt: skip
                    raise ValueError(
                        "the chosen families were sent to more than one insurer "
                        f"({envelope.receiver_id}, {header.interchange.receiver_id}): "
                        "resend them one insurer at a time"
                    )
                kept.setdefault(key, []).append((record.first_position, record.last_position))
                found.add(record.subscriber_id or "")
                members += 1
    missing = sorted(families - found)
    if missing:
        raise ValueError(f"no member with subscriber id (REF*0F) {', '.join(missing)} in the file")
    if envelope is None:
        raise ValueError("nothing to resend: no member of the chosen sets or families")
    delimiters = envelope.delimiters
    out = io.BytesIO()
    writer = SegmentWriter(out, delimiters)
    control = str(interchange_control).rjust(9, "0")
    writer.isa(isa_elements(sender_id=envelope.sender_id, receiver_id=envelope.receiver_id,
                            control=control, when=sent_at, delimiters=delimiters,
                            sender_qualifier=envelope.sender_qualifier,
                            receiver_qualifier=envelope.receiver_qualifier, usage=envelope.usage))  # fmt: skip
    result = Resent(b"", envelope.sender_id, envelope.receiver_id, control, str(group_control))
    result.members, result.families = members, found
    number = first_transaction_control
    interchange = group = ""
    body: list[list[str]] = []  # the set being copied: ST, its header, the kept members
    ranges: list[tuple[int, int]] = []
    key, start = ("", "", ""), 0
    for segment in iter_segments(io.BytesIO(data)):
        elements = segment.elements
        if segment.id == "ISA":
            interchange = elements[13] if len(elements) > 13 else ""
        elif segment.id == "GS":
            group = elements[6] if len(elements) > 6 else ""
            if not result.transaction_controls:
                writer.segment("GS", *elements[1:4], sent_at.strftime("%Y%m%d"),
                               sent_at.strftime("%H%M"), str(group_control), *elements[7:])  # fmt: skip
        elif segment.id == "ST":
            start, body = segment.position, []
            key = (interchange, group, elements[2] if len(elements) > 2 else "")
            ranges = kept.get(key, [])
        elif segment.id == "SE" and body:
            st02 = f"{number:04d}"
            number += 1
            result.transaction_controls.append(st02)
            writer.set_segments = 0
            writer.segment(*[body[0][0], body[0][1], st02, *body[0][3:]])
            for kept_elements in body[1:]:
                writer.segment(*corrected(kept_elements, corrections))
            writer.segment("SE", str(writer.set_segments + 1), st02)
            body = []
            continue
        if segment.id in ("ISA", "GS", "GE", "IEA", "SE") or not ranges:
            continue
        position = segment.position - start + 1
        if position < first_member.get(key, 0) or any(a <= position <= b for a, b in ranges):
            body.append(elements)
    if not result.transaction_controls:
        raise ValueError("nothing to resend: the chosen sets have no complete SE")
    writer.segment("GE", str(len(result.transaction_controls)), str(group_control))
    writer.segment("IEA", "1", control)
    writer.flush()
    result.data = out.getvalue()
    return result


def rejected_sets(sent: bytes, acknowledgments: bytes) -> set[tuple[str, str, str]]:
    """The sets of the 834 ``sent`` (ISA13, GS06, ST02) that the 999s and TA1s in
    ``acknowledgments`` reject: IK5 R/M/W/X, an AK9 rejection without AK2 loops, or a TA1 R
    (the whole interchange); only answers from the insurer the 834 went to count."""
    sets: list[tuple[str, str, str, str]] = []  # (insurer, ISA13, GS06, ST02)
    for record in read_x12(io.BytesIO(sent), members=False):
        if isinstance(record, TransactionHeader):
            sets.append((record.interchange.receiver_id, record.interchange.control,
                         record.group_control or "", record.control))  # fmt: skip
    rejected: set[tuple[str, str, str, str]] = set()  # (insurer, ISA13, GS06, ST02), or ""
    for record in read_x12(io.BytesIO(acknowledgments)):
        if isinstance(record, InterchangeAcknowledgment) and record.status in REJECTED_STATUSES:
            insurer = record.interchange.sender_id
            rejected.add((insurer, record.control.rjust(9, "0"), "", ""))
        elif isinstance(record, GroupAcknowledgment):
            insurer = record.header.interchange.sender_id
            if not record.sets and record.status in REJECTED_STATUSES:
                rejected.add((insurer, "", record.group_control, ""))
            for one in record.sets:
                if one.status in REJECTED_STATUSES:
                    rejected.add((insurer, "", record.group_control, one.control))
    return {
        (control, group, st02)
        for insurer, control, group, st02 in sets
        if {(insurer, control, "", ""), (insurer, "", group, ""), (insurer, "", group, st02)}
        & rejected
    }
