"""A simulated insurer: TA1s and 999s for the 834s it received.

``respond`` reads an 834 with acktrack's reader and answers like a translator would:
sets with errors are rejected with IK3/IK4 detail at the right segment positions, the
rest accepted. Tests cross-check these against pyx12's 999s for the same files.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from acktrack.synthetic.writer import SegmentWriter, isa_elements
from acktrack.x12 import Finding, GroupHeader, InterchangeHeader, TransactionEnd, read_x12
from acktrack.x12.delimiters import DEFAULT_DELIMITERS, Delimiters


@dataclass(frozen=True, slots=True)
class ElementErrorSpec:
    position: int
    reference: str
    code: str
    bad_value: str = ""


@dataclass(frozen=True, slots=True)
class SegmentErrorSpec:
    segment_id: str
    position: int
    code: str
    loop_id: str = ""
    elements: tuple[ElementErrorSpec, ...] = ()


@dataclass(slots=True)
class SetResponse:
    transaction_control: str
    status: str = "A"
    codes: list[str] = field(default_factory=list)
    errors: list[SegmentErrorSpec] = field(default_factory=list)


@dataclass(slots=True)
class GroupResponse:
    group_control: str
    sets: list[SetResponse] | None  # None: acknowledge the group only (no AK2 loops)
    status: str | None = None  # AK901; derived from the sets when None
    codes: list[str] = field(default_factory=list)
    included: int | None = None
    version: str = "005010X220A1"


@dataclass(frozen=True, slots=True)
class Received:
    """What an insurer needs from an 834 to answer it."""

    sender_id: str
    receiver_id: str
    interchange_control: str
    date: str
    time: str
    groups: list[GroupResponse]
    envelope_problem: str | None  # a TA1 note code when the envelope is wrong


def _ak9(group: GroupResponse) -> tuple[str, int, int, int]:
    if group.sets is None:
        count = group.included or 0
        status = group.status or "A"
        accepted = count if status in ("A", "E") else 0
        return status, count, count, accepted
    count = len(group.sets)
    accepted = sum(1 for item in group.sets if item.status in ("A", "E"))
    if group.status:
        status = group.status
    elif accepted == count:
        status = "E" if any(item.status == "E" for item in group.sets) else "A"
    elif accepted == 0:
        status = "R"
    else:
        status = "P"
    return status, count, count, accepted


def write_999(
    out: BinaryIO,
    *,
    sender_id: str,
    receiver_id: str,
    interchange_control: int,
    sent_at: datetime,
    groups: list[GroupResponse],
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    version: str = "005010X231A1",
    ta1: tuple[str, str, str, str, str] | None = None,
) -> None:
    """One interchange with one 999 per acknowledged group (and optionally a TA1 after GE)."""
    writer = SegmentWriter(out, delimiters)
    control = str(interchange_control).rjust(9, "0")
    writer.isa(isa_elements(sender_id=sender_id, receiver_id=receiver_id, control=control, when=sent_at,
                            delimiters=delimiters))  # fmt: skip
    gs06 = str(interchange_control % 1_000_000_000 or 1)
    writer.segment("GS", "FA", sender_id, receiver_id, sent_at.strftime("%Y%m%d"), sent_at.strftime("%H%M%S"),
                   gs06, "X", version)  # fmt: skip
    for number, group in enumerate(groups, start=1):
        writer.set_segments = 0
        st02 = f"{number:04d}"
        writer.segment("ST", "999", st02, version)
        writer.segment("AK1", "BE", group.group_control, group.version)
        for response in group.sets or []:
            writer.segment("AK2", "834", response.transaction_control, group.version)
            for error in response.errors:
                writer.segment(
                    "IK3", error.segment_id, str(error.position), error.loop_id, error.code
                )
                for element in error.elements:
                    writer.segment(
                        "IK4",
                        str(element.position),
                        element.reference,
                        element.code,
                        element.bad_value,
                    )
            writer.segment("IK5", response.status, *response.codes[:5])
        status, included, received, accepted = _ak9(group)
        writer.segment("AK9", status, str(included), str(received), str(accepted), *group.codes[:5])
        writer.segment("SE", str(writer.set_segments + 1), st02)
    writer.segment("GE", str(len(groups)), gs06)
    if ta1 is not None:
        writer.segment("TA1", *ta1)
    writer.segment("IEA", "1", control)
    writer.flush()


def write_ta1(
    out: BinaryIO,
    *,
    sender_id: str,
    receiver_id: str,
    interchange_control: int,
    sent_at: datetime,
    acknowledged_control: str,
    acknowledged_date: str,
    acknowledged_time: str,
    status: str = "A",
    note: str = "000",
    delimiters: Delimiters = DEFAULT_DELIMITERS,
) -> None:
    """A TA1 alone in its own interchange (IEA01 = 0)."""
    writer = SegmentWriter(out, delimiters)
    control = str(interchange_control).rjust(9, "0")
    writer.isa(isa_elements(sender_id=sender_id, receiver_id=receiver_id, control=control, when=sent_at,
                            delimiters=delimiters))  # fmt: skip
    writer.segment("TA1", acknowledged_control, acknowledged_date, acknowledged_time, status, note)
    writer.segment("IEA", "0", control)
    writer.flush()


def receive(data: bytes) -> list[Received]:
    """Read an 834 as an insurer's translator would: per set, accept or reject with detail."""
    received: list[Received] = []
    interchange: InterchangeHeader | None = None
    groups: dict[str, GroupResponse] = {}
    set_errors: dict[str, list[Finding]] = {}
    envelope_problem: str | None = None
    for record in read_x12(io.BytesIO(data)):
        if isinstance(record, InterchangeHeader):
            interchange, groups, envelope_problem = record, {}, None
        elif isinstance(record, GroupHeader):
            groups[record.control] = GroupResponse(
                record.control, [], version=record.version or "005010X220A1"
            )
        elif isinstance(record, Finding) and record.severity in ("error", "fatal"):
            if record.scheme == "TA1" and envelope_problem is None:
                envelope_problem = record.code
            elif record.scheme == "AK9" and record.group_control in groups:
                groups[record.group_control].codes.append(record.code)
            elif record.transaction_control is not None:
                key = f"{record.group_control}/{record.transaction_control}"
                set_errors.setdefault(key, []).append(record)
        elif isinstance(record, TransactionEnd) and record.header.group_control in groups:
            key = f"{record.header.group_control}/{record.header.control}"
            group = groups[record.header.group_control]
            assert group.sets is not None
            group.sets.append(_set_response(record.header.control, set_errors.pop(key, [])))
        elif type(record).__name__ == "InterchangeEnd" and interchange is not None:
            for group in groups.values():
                if group.codes:
                    group.status = "R"
            received.append(
                Received(
                    interchange.sender_id,
                    interchange.receiver_id,
                    interchange.control,
                    interchange.date,
                    interchange.time,
                    list(groups.values()),
                    envelope_problem,
                )
            )
            interchange = None
    return received


def _set_response(control: str, errors: list[Finding]) -> SetResponse:
    if not errors:
        return SetResponse(control, "A")
    set_codes = sorted({f.code for f in errors if f.scheme == "IK5"})
    segment_errors: list[SegmentErrorSpec] = []
    for finding in errors:
        if finding.scheme == "IK4" and finding.segment_id and finding.segment_position:
            element = ElementErrorSpec(finding.element_position or 1, finding.element_reference or "", finding.code,
                                       finding.bad_value or "")  # fmt: skip
            segment_errors.append(SegmentErrorSpec(finding.segment_id, finding.segment_position, "8", "",
                                                   (element,)))  # fmt: skip
        elif finding.scheme == "IK3" and finding.segment_id and finding.segment_position:
            segment_errors.append(
                SegmentErrorSpec(finding.segment_id, finding.segment_position, finding.code)
            )
    if segment_errors and "5" not in set_codes:
        set_codes.append("5")
    return SetResponse(control, "R", set_codes or ["5"], segment_errors)


def respond(
    data: bytes, *, insurer_control: int, sent_at: datetime, with_ta1: bool = True
) -> bytes:
    """The 999 (and a TA1 after GE) an insurer would send back for the 834 ``data``."""
    out = io.BytesIO()
    for item in receive(data):
        ta1 = None
        if with_ta1:
            note = item.envelope_problem or "000"
            ta1 = (
                item.interchange_control,
                item.date,
                item.time,
                "R" if item.envelope_problem else "A",
                note,
            )
        write_999(
            out, sender_id=item.receiver_id, receiver_id=item.sender_id, interchange_control=insurer_control,
            sent_at=sent_at, groups=item.groups, ta1=ta1,
        )  # fmt: skip
        insurer_control += 1
    return out.getvalue()
