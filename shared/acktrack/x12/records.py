"""Typed records yielded by the X12 reader, in stream order.

Envelope headers and trailers, one ``MemberTransaction`` per 834 INS loop, one
``GroupAcknowledgment`` per 999 transaction set, one ``ApplicationAdvice`` per 824
(``advice_records``), one ``InterchangeAcknowledgment`` per TA1, and ``Finding`` records
interleaved where a problem is seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from acktrack.x12.advice_records import ApplicationAdvice
from acktrack.x12.delimiters import Delimiters
from acktrack.x12.findings import Finding
from acktrack.x12.text import PHI_MASK


def parse_ccyymmdd(value: str | None) -> date | None:
    if not value or len(value) != 8 or not (value.isascii() and value.isdigit()):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


def parse_datetime(day: str | None, clock: str | None) -> datetime | None:
    """CCYYMMDD (or YYMMDD) and HHMM[SS[d..]] into a naive datetime, or None."""
    if not day:
        return None
    if len(day) == 6 and (day.isascii() and day.isdigit()):
        day = "20" + day
    parsed = parse_ccyymmdd(day)
    if parsed is None:
        return None
    hour = minute = second = 0
    if clock and (clock[:4].isascii() and clock[:4].isdigit()) and len(clock) >= 4:
        hour, minute = int(clock[:2]), int(clock[2:4])
        if len(clock) >= 6 and (clock[4:6].isascii() and clock[4:6].isdigit()):
            second = int(clock[4:6])
    try:
        return datetime(parsed.year, parsed.month, parsed.day, hour, minute, second)
    except ValueError:
        return datetime(parsed.year, parsed.month, parsed.day)


def iso_date(value: str | None) -> str | None:
    """CCYYMMDD as ISO 8601 when it is a valid date; otherwise the raw value."""
    parsed = parse_ccyymmdd(value)
    return parsed.isoformat() if parsed else value


@dataclass(frozen=True, slots=True)
class InterchangeHeader:
    sender_qualifier: str
    sender_id: str  # ISA06, trimmed
    receiver_qualifier: str
    receiver_id: str  # ISA08, trimmed
    date: str  # ISA09 YYMMDD
    time: str  # ISA10 HHMM
    control: str  # ISA13
    version: str  # ISA12
    acknowledgment_requested: bool  # ISA14 == 1
    usage: str  # ISA15: P production, T test
    delimiters: Delimiters
    offset: int  # byte offset of the ISA in the stream
    sequence: int  # 1 for the first interchange in the stream

    @property
    def sent_at(self) -> datetime | None:
        return parse_datetime(self.date, self.time)

    def to_dict(self) -> dict[str, Any]:
        sent = self.sent_at
        return {
            "sender_id": self.sender_id,
            "sender_qualifier": self.sender_qualifier,
            "receiver_id": self.receiver_id,
            "receiver_qualifier": self.receiver_qualifier,
            "interchange_control": self.control,
            "version": self.version,
            "acknowledgment_requested": self.acknowledgment_requested,
            "usage": self.usage,
            "sent_at": sent.isoformat() if sent else None,
            "delimiters": self.delimiters._asdict(),
        }


@dataclass(frozen=True, slots=True)
class GroupHeader:
    functional_id: str  # GS01: BE for 834, FA for 999
    application_sender: str  # GS02
    application_receiver: str  # GS03
    date: str  # GS04 CCYYMMDD
    time: str  # GS05 HHMM[SS[d..]]
    control: str  # GS06
    version: str  # GS08
    interchange: InterchangeHeader

    @property
    def sent_at(self) -> datetime | None:
        """GS04/GS05, falling back to ISA09/ISA10."""
        return parse_datetime(self.date, self.time) or self.interchange.sent_at

    def to_dict(self) -> dict[str, Any]:
        sent = self.sent_at
        return {
            "functional_id": self.functional_id,
            "application_sender": self.application_sender,
            "application_receiver": self.application_receiver,
            "group_control": self.control,
            "version": self.version,
            "sent_at": sent.isoformat() if sent else None,
        }


@dataclass(frozen=True, slots=True)
class TransactionHeader:
    set_id: str  # ST01
    control: str  # ST02
    implementation: str  # ST03
    interchange: InterchangeHeader
    group: GroupHeader | None  # None when an ST appears outside any GS

    @property
    def group_control(self) -> str | None:
        return self.group.control if self.group else None

    @property
    def sent_at(self) -> datetime | None:
        return self.group.sent_at if self.group else self.interchange.sent_at


@dataclass(frozen=True, slots=True)
class InterchangeEnd:
    header: InterchangeHeader
    groups: int  # functional groups actually seen
    declared_groups: str | None  # IEA01, None when the IEA is missing
    digest: str  # BLAKE2b of the interchange's bytes, line breaks removed ("" unless asked for)
    byte_length: int


@dataclass(frozen=True, slots=True)
class GroupEnd:
    header: GroupHeader
    transactions: int  # sets actually seen
    declared_transactions: str | None  # GE01, None when the GE is missing


@dataclass(frozen=True, slots=True)
class TransactionEnd:
    header: TransactionHeader
    segments: int  # ST through SE inclusive, as counted
    declared_segments: str | None  # SE01, None when the SE is missing
    members: int  # INS loops (834 only)
    enrollment: EnrollmentSet | None  # 834 set-level data, None for other sets


@dataclass(slots=True)
class EnrollmentSet:
    """834 set-level data from BGN, REF*38 and loops 1000A/1000B."""

    header: TransactionHeader
    purpose: str = ""  # BGN01
    reference: str = ""  # BGN02
    created_date: str = ""  # BGN03
    created_time: str = ""  # BGN04
    action: str = ""  # BGN08
    master_policy: str = ""  # REF*38
    sponsor_name: str = ""  # N1*P5
    sponsor_id: str = ""
    payer_name: str = ""  # N1*IN
    payer_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "reference": self.reference,
            "action": self.action,
            "master_policy": self.master_policy,
            "sponsor_name": self.sponsor_name,
            "sponsor_id": self.sponsor_id,
            "payer_name": self.payer_name,
            "payer_id": self.payer_id,
        }


class Coverage(NamedTuple):
    """Loop 2300: one HD and its dates and references."""

    maintenance_type: str  # HD01
    insurance_line: str  # HD03
    plan: str  # HD04
    coverage_level: str  # HD05
    position: int
    benefit_begin: str | None = None  # DTP*348
    benefit_end: str | None = None  # DTP*349
    class_of_contract: str | None = None  # REF*CE
    policy_number: str | None = None  # REF*1L
    internal_control: str | None = None  # REF*X9

    @property
    def is_cancellation(self) -> bool:
        """A 024 whose benefit end equals its benefit begin never took effect."""
        return (
            self.maintenance_type == "024"
            and self.benefit_begin is not None
            and self.benefit_begin == self.benefit_end
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "maintenance_type": self.maintenance_type,
            "insurance_line": self.insurance_line,
            "plan": self.plan,
            "coverage_level": self.coverage_level,
            "benefit_begin": iso_date(self.benefit_begin),
            "benefit_end": iso_date(self.benefit_end),
            "class_of_contract": self.class_of_contract,
            "policy_number": self.policy_number,
            "internal_control": self.internal_control,
        }


# Fields of MemberTransaction that are protected health information in any output.
PHI_FIELDS = frozenset(
    {
        "last_name",
        "first_name",
        "middle_name",
        "member_identifier",
        "birth_date",
        "gender",
        "marital_status",
    }
)


class MemberTransaction(NamedTuple):
    """One 834 INS loop (loop 2000 and its children): a member transaction.

    A NamedTuple: built in one C call on the hot path, read through C-level getters.
    """

    enrollment: EnrollmentSet
    ordinal: int  # 1-based INS loop number inside the set
    first_position: int  # segment positions (ST = 1) the loop occupies
    last_position: int
    subscriber_indicator: str  # INS01 Y/N
    relationship: str  # INS02
    maintenance_type: str  # INS03
    maintenance_reason: str  # INS04
    benefit_status: str  # INS05
    subscriber_id: str | None = None  # REF*0F
    group_policy_number: str | None = None  # REF*1L
    member_supplemental_id: str | None = None  # REF*17 (exchange member id)
    carrier_member_id: str | None = None  # REF*23
    eligibility_begin: str | None = None  # DTP*356
    eligibility_end: str | None = None  # DTP*357
    employment_begin: str | None = None  # DTP*336
    maintenance_effective: str | None = None  # DTP*303
    # PHI: loop 2100A name and demographics.
    last_name: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    member_identifier: str | None = None  # NM109 (SSN when NM108 = 34)
    member_identifier_qualifier: str | None = None  # NM108
    birth_date: str | None = None
    gender: str | None = None
    marital_status: str | None = None
    coverages: tuple[Coverage, ...] = ()
    reporting_categories: dict[str, str] = {}  # noqa: RUF012 - never mutated after the read

    @property
    def header(self) -> TransactionHeader:
        return self.enrollment.header

    @property
    def sender_id(self) -> str:
        return self.enrollment.header.interchange.sender_id

    @property
    def receiver_id(self) -> str:
        return self.enrollment.header.interchange.receiver_id

    @property
    def interchange_control(self) -> str:
        return self.enrollment.header.interchange.control

    @property
    def group_control(self) -> str | None:
        return self.enrollment.header.group_control

    @property
    def transaction_control(self) -> str:
        return self.enrollment.header.control

    @property
    def sent_at(self) -> datetime | None:
        return self.enrollment.header.sent_at

    @property
    def is_subscriber(self) -> bool:
        return self.subscriber_indicator == "Y"

    def to_dict(self, *, show_phi: bool = False) -> dict[str, Any]:
        sent = self.sent_at

        def phi(value: str | None) -> str | None:
            if value is None or show_phi:
                return value
            return PHI_MASK

        return {
            "sender_id": self.sender_id,
            "receiver_id": self.receiver_id,
            "interchange_control": self.interchange_control,
            "group_control": self.group_control,
            "transaction_control": self.transaction_control,
            "sent_at": sent.isoformat() if sent else None,
            "ordinal": self.ordinal,
            "segment_positions": [self.first_position, self.last_position],
            "purpose": self.enrollment.purpose,
            "action": self.enrollment.action,
            "sponsor": {"name": self.enrollment.sponsor_name, "id": self.enrollment.sponsor_id},
            "payer": {"name": self.enrollment.payer_name, "id": self.enrollment.payer_id},
            "subscriber_indicator": self.subscriber_indicator,
            "relationship": self.relationship,
            "maintenance_type": self.maintenance_type,
            "maintenance_reason": self.maintenance_reason,
            "benefit_status": self.benefit_status,
            "subscriber_id": self.subscriber_id,
            "group_policy_number": self.group_policy_number,
            "member_supplemental_id": self.member_supplemental_id,
            "carrier_member_id": self.carrier_member_id,
            "eligibility_begin": iso_date(self.eligibility_begin),
            "eligibility_end": iso_date(self.eligibility_end),
            "employment_begin": iso_date(self.employment_begin),
            "maintenance_effective": iso_date(self.maintenance_effective),
            "name": {
                "last": phi(self.last_name),
                "first": phi(self.first_name),
                "middle": phi(self.middle_name),
            },
            "member_identifier_qualifier": self.member_identifier_qualifier,
            "member_identifier": phi(self.member_identifier),
            "birth_date": phi(iso_date(self.birth_date)),
            "gender": phi(self.gender),
            "marital_status": phi(self.marital_status),
            "coverages": [coverage.to_dict() for coverage in self.coverages],
            "reporting_categories": dict(self.reporting_categories),
        }


@dataclass(frozen=True, slots=True)
class ElementError:
    """999 IK4: one data element error inside an IK3 segment error."""

    position: int | None  # IK401-1
    component: int | None  # IK401-2
    repetition: int | None  # IK401-3
    reference: str  # IK402 data element reference number
    code: str  # IK403
    bad_value: str | None  # IK404: may be personal data; keep out of logs


@dataclass(slots=True)
class SegmentError:
    """999 IK3 with its CTX and IK4 detail."""

    segment_id: str  # IK301
    position: int | None  # IK302, counted from ST = 1 in the acknowledged set
    loop_id: str  # IK303
    code: str  # IK304
    element_errors: list[ElementError] = field(default_factory=list)
    context: list[str] = field(default_factory=list)  # CTX01 context names only


@dataclass(slots=True)
class SetAcknowledgment:
    """999 AK2 ... IK5: the verdict on one transaction set."""

    set_id: str  # AK201
    control: str  # AK202 = ST02 of the acknowledged set
    implementation: str  # AK203
    status: str = ""  # IK501
    error_codes: list[str] = field(default_factory=list)  # IK502-IK506
    segment_errors: list[SegmentError] = field(default_factory=list)


@dataclass(slots=True)
class GroupAcknowledgment:
    """One 999 transaction set: AK1, optional AK2 loops, AK9."""

    header: TransactionHeader  # of the 999 itself
    functional_id: str = ""  # AK101: BE when a group of 834s is acknowledged
    group_control: str = ""  # AK102 = GS06 of the acknowledged group
    version: str = ""  # AK103
    sets: list[SetAcknowledgment] = field(default_factory=list)
    status: str = ""  # AK901
    included: int | None = None  # AK902
    received: int | None = None  # AK903
    accepted: int | None = None  # AK904
    error_codes: list[str] = field(default_factory=list)  # AK905-AK909

    @property
    def sender_id(self) -> str:
        return self.header.interchange.sender_id

    @property
    def receiver_id(self) -> str:
        return self.header.interchange.receiver_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "sender_id": self.sender_id,
            "receiver_id": self.receiver_id,
            "interchange_control": self.header.interchange.control,
            "ack_group_control": self.header.group_control,
            "ack_transaction_control": self.header.control,
            "functional_id": self.functional_id,
            "group_control": self.group_control,
            "version": self.version,
            "status": self.status,
            "included": self.included,
            "received": self.received,
            "accepted": self.accepted,
            "error_codes": list(self.error_codes),
            "sets": [
                {
                    "set_id": ack.set_id,
                    "transaction_control": ack.control,
                    "implementation": ack.implementation,
                    "status": ack.status,
                    "error_codes": list(ack.error_codes),
                    "segment_errors": [
                        {
                            "segment_id": error.segment_id,
                            "position": error.position,
                            "loop_id": error.loop_id,
                            "code": error.code,
                            "context": list(error.context),
                            "element_errors": [
                                {
                                    "position": element.position,
                                    "component": element.component,
                                    "reference": element.reference,
                                    "code": element.code,
                                }
                                for element in error.element_errors
                            ],
                        }
                        for error in ack.segment_errors
                    ],
                }
                for ack in self.sets
            ],
        }


@dataclass(frozen=True, slots=True)
class InterchangeAcknowledgment:
    """TA1: the verdict on one interchange."""

    interchange: InterchangeHeader  # the envelope the TA1 arrived in
    control: str  # TA101 = ISA13 of the acknowledged interchange
    date: str  # TA102 = ISA09 of the acknowledged interchange
    time: str  # TA103 = ISA10
    status: str  # TA104 A/E/R
    note: str  # TA105
    position: int  # segment position in the stream

    @property
    def sender_id(self) -> str:
        return self.interchange.sender_id

    @property
    def receiver_id(self) -> str:
        return self.interchange.receiver_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "sender_id": self.sender_id,
            "receiver_id": self.receiver_id,
            "interchange_control": self.interchange.control,  # the envelope it came in
            "acknowledged_interchange_control": self.control,  # TA101
            "date": self.date,
            "time": self.time,
            "status": self.status,
            "note": self.note,
        }


# Everything the reader yields, in stream order.
Record = (
    InterchangeHeader
    | GroupHeader
    | TransactionHeader
    | MemberTransaction
    | GroupAcknowledgment
    | ApplicationAdvice
    | InterchangeAcknowledgment
    | TransactionEnd
    | GroupEnd
    | InterchangeEnd
    | Finding
)
