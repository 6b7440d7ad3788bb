"""A simulated insurer's monthly population: an audit 834 (BGN08 4, INS03 030) or the same
population as a reconciliation extract (CSV or pipe-delimited), built from the 834s that
were sent (read with acktrack's reader). Knobs leave members out, change plans, move benefit
begins, change last names, or add members that were never sent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, TextIO

from acktrack.synthetic.effectuation import _later_month
from acktrack.synthetic.writer import SegmentWriter, isa_elements
from acktrack.x12 import MemberTransaction, read_x12

EXTRACT_COLUMNS = ("subscriber_id", "member_id", "insurer_member_id", "insurer_policy_id",
                   "relationship", "subscriber_indicator", "plan_id", "benefit_begin",
                   "benefit_end", "total_premium", "aptc", "last_name", "first_name",
                   "birth_date", "gender", "ssn")  # fmt: skip


@dataclass
class PopulationSpec:
    insurer_control: int = 8001
    as_of: datetime = datetime(2024, 3, 1, 6, 0)
    skip: Collection[int] = ()  # member numbers (1-based, in sending order) it does not hold
    change_plan: Collection[int] = ()
    shift_begin: Collection[int] = ()  # benefit begin a month later
    rename: Collection[int] = ()  # another last name
    insurer_only: int = 0  # members it holds that were never sent


@dataclass(frozen=True)
class HeldMember:
    """One member as the insurer holds it (synthetic, never a real person)."""

    number: int
    in_file: int  # its place in the file it was sent in (the insurer's ids follow it)
    subscriber_id: str
    member_id: str | None
    subscriber_indicator: str
    relationship: str
    plan: str
    benefit_begin: str
    last_name: str
    first_name: str
    birth_date: str
    gender: str
    ssn: str
    categories: tuple[tuple[str, str], ...]


def held_members(sent: Iterable[bytes], spec: PopulationSpec) -> list[HeldMember]:
    """The insurer's population: every member of the sent files (numbered in that order)
    except those sent as cancellations or terminations, with the spec's changes."""
    members = [(place, r) for data in sent
               for place, r in enumerate((r for r in read_x12(io.BytesIO(data))
                                          if isinstance(r, MemberTransaction)), start=1)]  # fmt: skip
    held = []
    for number, (place, member) in enumerate(members, start=1):
        if number in spec.skip or member.maintenance_type == "024":
            continue
        coverage = member.coverages[0]
        begin = coverage.benefit_begin or ""
        held.append(HeldMember(
            number=number, in_file=place, subscriber_id=member.subscriber_id or "",
            member_id=member.member_supplemental_id,
            subscriber_indicator=member.subscriber_indicator, relationship=member.relationship,
            plan=coverage.plan[:-2] + "99" if number in spec.change_plan else coverage.plan,
            benefit_begin=(_later_month(begin) or begin) if number in spec.shift_begin else begin,
            last_name=("CHANGED" if number in spec.rename else member.last_name or ""),
            first_name=member.first_name or "", birth_date=member.birth_date or "",
            gender=member.gender or "", ssn=member.member_identifier or "",
            categories=tuple(member.reporting_categories.items()),
        ))  # fmt: skip
    template = held[0] if held else None
    for extra in range(spec.insurer_only):
        if template is None:
            break
        held.append(HeldMember(
            number=len(members) + extra + 1, in_file=90_000 + extra, subscriber_id=f"7{extra:08d}",
            member_id=f"X{extra:07d}", subscriber_indicator="Y", relationship="18",
            plan=template.plan, benefit_begin=template.benefit_begin, last_name="NEVERSENT",
            first_name="PERSON", birth_date="19800101", gender="F", ssn=f"9{extra:08d}",
            categories=(),
        ))  # fmt: skip
    return held


def write_audit_834(held: Iterable[HeldMember], out: BinaryIO, spec: PopulationSpec, *,
                    insurer: str, us: str, payer_name: str = "INSURER") -> int:  # fmt: skip
    """The population as an audit 834 the insurer sends us (BGN08 4, BGN03 its date)."""
    writer = SegmentWriter(out)
    control = str(spec.insurer_control).rjust(9, "0")
    writer.isa(isa_elements(sender_id=insurer, receiver_id=us, control=control, when=spec.as_of))
    day, clock = spec.as_of.strftime("%Y%m%d"), spec.as_of.strftime("%H%M")
    writer.segment("GS", "BE", insurer, us, day, clock, str(spec.insurer_control), "X",
                   "005010X220A1")  # fmt: skip
    writer.set_segments = 0
    writer.segment("ST", "834", "0001", "005010X220A1")
    writer.segment("BGN", "00", f"AUD{control}", day, clock, "", "", "", "4")
    writer.segment("N1", "P5", "EXCHANGE", "FI", us)
    writer.segment("N1", "IN", payer_name, "FI", insurer)
    written = 0
    for member in held:
        written += 1
        writer.segment("INS", member.subscriber_indicator, member.relationship, "030", "XN", "A")
        writer.segment("REF", "0F", member.subscriber_id)
        if member.member_id:
            writer.segment("REF", "17", member.member_id)
        writer.segment("REF", "23", f"C{member.in_file:08d}")
        writer.segment("NM1", "IL", "1", member.last_name, member.first_name, "", "", "",
                       "34", member.ssn)  # fmt: skip
        writer.segment("DMG", "D8", member.birth_date, member.gender)
        writer.segment("HD", "030", "", "HLT", member.plan, "IND")
        writer.segment("DTP", "348", "D8", member.benefit_begin)
        writer.segment("REF", "X9", f"POL{member.in_file:07d}")
        if member.categories:
            writer.segment("LS", "2700")
            for number, (name, value) in enumerate(member.categories, start=1):
                writer.segment("LX", str(number))
                writer.segment("N1", "75", name)
                writer.segment("REF", "9X", value)
            writer.segment("LE", "2700")
    writer.segment("SE", str(writer.set_segments + 1), "0001")
    writer.segment("GE", "1", str(spec.insurer_control))
    writer.segment("IEA", "1", control)
    writer.flush()
    return written


def write_extract(held: list[HeldMember], out: TextIO, delimiter: str = ",") -> int:
    """The same population as a reconciliation extract (the README's columns)."""
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(EXTRACT_COLUMNS)
    for member in held:
        categories = dict(member.categories)
        premium = categories.get("PRE AMT TOT") or categories.get("PRE AMT 1") or ""
        writer.writerow([
            member.subscriber_id, member.member_id or "", f"C{member.in_file:08d}",
            f"POL{member.in_file:07d}", member.relationship, member.subscriber_indicator,
            member.plan, member.benefit_begin, "", premium, categories.get("APTC AMT", ""),
            member.last_name, member.first_name, member.birth_date, member.gender, member.ssn,
        ])  # fmt: skip
    return len(held)
