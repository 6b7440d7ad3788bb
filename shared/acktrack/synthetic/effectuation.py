"""A simulated insurer's effectuation 834: coverage in force for the members it received.

Built from the 834 that was sent (read with acktrack's reader): the insurer adds its own
member id (REF*23) and policy id (REF*X9). Knobs leave members out, move dates, change
plans, cancel, terminate, or add members that were never sent.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from acktrack.synthetic.writer import SegmentWriter, isa_elements
from acktrack.x12 import MemberTransaction, read_x12


@dataclass
class EffectuationSpec:
    insurer_control: int = 5001
    sent_at: datetime = datetime(2024, 2, 2, 9, 0)
    skip: Collection[int] = ()  # member numbers (1-based, file order) the insurer leaves out
    shift_dates: Collection[int] = ()  # benefit begin moved a month later
    change_plan: Collection[int] = ()
    cancel: Collection[int] = ()  # INS03 024, benefit end = begin
    terminate: Collection[int] = ()  # INS03 024, benefit end later than begin
    never_sent: int = 0  # members the insurer has that were never sent
    extra: dict[str, str] = field(default_factory=dict)


def _later_month(day: str | None) -> str | None:
    if not day:
        return day
    year, month = int(day[:4]), int(day[4:6])
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return f"{year:04d}{month:02d}{day[6:]}"


def write_effectuation(sent: bytes, out: BinaryIO, spec: EffectuationSpec) -> int:
    """Write the insurer's effectuation 834 for the 834 ``sent``; return members written."""
    members = [r for r in read_x12(io.BytesIO(sent)) if isinstance(r, MemberTransaction)]
    if not members:
        return 0
    first = members[0]
    insurer, us = first.receiver_id, first.sender_id
    writer = SegmentWriter(out)
    control = str(spec.insurer_control).rjust(9, "0")
    writer.isa(isa_elements(sender_id=insurer, receiver_id=us, control=control, when=spec.sent_at))
    day, clock = spec.sent_at.strftime("%Y%m%d"), spec.sent_at.strftime("%H%M")
    writer.segment(
        "GS", "BE", insurer, us, day, clock, str(spec.insurer_control), "X", "005010X220A1"
    )
    writer.set_segments = 0
    writer.segment("ST", "834", "0001", "005010X220A1")
    writer.segment(
        "BGN", "00", f"EFF{control}", day, clock, "", "", "", "2"
    )  # BGN08 2: a change; 4 or RX is a whole population
    writer.segment("N1", "P5", first.enrollment.sponsor_name, "FI", first.enrollment.sponsor_id)
    writer.segment("N1", "IN", first.enrollment.payer_name, "FI", first.enrollment.payer_id)
    written = 0
    for number, member in enumerate(members, start=1):
        if number in spec.skip:
            continue
        _member(writer, member, number, spec)
        written += 1
    for extra in range(spec.never_sent):
        _never_sent(writer, extra, members[-1])
        written += 1
    writer.segment("SE", str(writer.set_segments + 1), "0001")
    writer.segment("GE", "1", str(spec.insurer_control))
    writer.segment("IEA", "1", control)
    writer.flush()
    return written


def _member(
    writer: SegmentWriter, member: MemberTransaction, number: int, spec: EffectuationSpec
) -> None:
    ending = number in spec.cancel or number in spec.terminate
    maintenance = "024" if ending else "021"
    writer.segment("INS", member.subscriber_indicator, member.relationship, maintenance,
                   "07" if ending else "28", "A")  # fmt: skip
    writer.segment("REF", "0F", member.subscriber_id or "")
    if member.member_supplemental_id:
        writer.segment("REF", "17", member.member_supplemental_id)
    writer.segment("REF", "23", f"C{number:08d}")
    writer.segment("NM1", "IL", "1", "EFFECTUATED", "MEMBER")
    for coverage in member.coverages:
        begin = (
            _later_month(coverage.benefit_begin)
            if number in spec.shift_dates
            else coverage.benefit_begin
        )
        plan = coverage.plan[:-2] + "99" if number in spec.change_plan else coverage.plan
        writer.segment(
            "HD", maintenance, "", coverage.insurance_line, plan, coverage.coverage_level
        )
        if begin:
            writer.segment("DTP", "348", "D8", begin)
        if number in spec.cancel and begin:
            writer.segment("DTP", "349", "D8", begin)
        elif number in spec.terminate and begin:
            writer.segment("DTP", "349", "D8", _later_month(_later_month(begin)) or begin)
        writer.segment("REF", "X9", f"POL{number:07d}")


def _never_sent(writer: SegmentWriter, extra: int, template: MemberTransaction) -> None:
    writer.segment("INS", "Y", "18", "021", "28", "A")
    writer.segment("REF", "0F", f"7{extra:08d}")
    writer.segment("REF", "17", f"X{extra:07d}")
    writer.segment("REF", "23", f"CX{extra:07d}")
    writer.segment("NM1", "IL", "1", "UNKNOWN", "MEMBER")
    for coverage in template.coverages[:1]:
        writer.segment("HD", "021", "", coverage.insurance_line, coverage.plan, "IND")
        writer.segment("DTP", "348", "D8", coverage.benefit_begin or "20240201")
