"""Invented families written as 834s member by member, for the shapes the random generator
does not make on purpose: children without a member id (REF*17 is situational), a family
sent in pieces, the same people sent again. Names and dates are invented, never real."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from acktrack.synthetic.writer import isa_elements

INSURANCE_LINE = "HLT"
PLAN = "45678GA0040004-03"


@dataclass(frozen=True, slots=True)
class Person:
    """One INS loop: who (invented), and the ids the file carries for them."""

    first_name: str
    last_name: str
    born: date
    subscriber: bool = False
    relationship: str = "19"  # INS02: 18 self, 01 spouse, 19 child
    member_id: str | None = None  # REF*17; None: the file carries none
    maintenance_type: str = "021"
    gender: str = "F"


@dataclass(frozen=True, slots=True)
class Family:
    subscriber_id: str  # REF*0F
    people: Sequence[Person]
    transaction_control: str = "0001"  # ST02 of the set that carries this family


@dataclass(frozen=True, slots=True)
class FamilyFile:
    interchange_control: int
    group_control: int
    sent_at: datetime
    families: Sequence[Family]
    sender_id: str = "ACKTRACKEXCH"
    receiver_id: str = "HEALTHPLAN01"
    usage: str = "P"
    coverage_begin: date = field(default=date(2024, 2, 1))


def family_834(spec: FamilyFile) -> bytes:
    """One interchange, one group, one set per family."""
    interchange = str(spec.interchange_control).rjust(9, "0")
    isa = isa_elements(sender_id=spec.sender_id, receiver_id=spec.receiver_id,
                       control=interchange, when=spec.sent_at, usage=spec.usage)  # fmt: skip
    day, clock = spec.sent_at.strftime("%Y%m%d"), spec.sent_at.strftime("%H%M")
    begin = spec.coverage_begin.strftime("%Y%m%d")
    group = str(spec.group_control)
    segments = ["*".join(["ISA", *isa, ":"]),
                f"GS*BE*{spec.sender_id}*{spec.receiver_id}*{day}*{clock}*{group}*X*005010X220A1"]  # fmt: skip
    for family in spec.families:
        body = [f"BGN*00*REF{day}{family.transaction_control}*{day}*{clock}****2",
                "N1*P5*ACME FICTITIOUS EMPLOYER GROUP*FI*990000001",
                "N1*IN*EXAMPLE HEALTH PLAN OF NOWHERE*FI*990000002"]  # fmt: skip
        for person in family.people:
            indicator = "Y" if person.subscriber else "N"
            relationship = "18" if person.subscriber else person.relationship
            body += [f"INS*{indicator}*{relationship}*{person.maintenance_type}*28*A***FT",
                     f"REF*0F*{family.subscriber_id}"]  # fmt: skip
            if person.member_id:
                body.append(f"REF*17*{person.member_id}")
            body += [f"NM1*IL*1*{person.last_name}*{person.first_name}",
                     f"DMG*D8*{person.born.strftime('%Y%m%d')}*{person.gender}",
                     f"HD*{person.maintenance_type}**{INSURANCE_LINE}*{PLAN}*FAM",
                     f"DTP*348*D8*{begin}"]  # fmt: skip
        control = family.transaction_control
        segments += [f"ST*834*{control}*005010X220A1", *body, f"SE*{len(body) + 2}*{control}"]
    segments += [f"GE*{len(spec.families)}*{group}", f"IEA*1*{interchange}"]
    return ("~\n".join(segments) + "~\n").encode()
