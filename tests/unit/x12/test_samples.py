"""Every file in the shared samples, with exact expectations."""

from __future__ import annotations

from acktrack.x12 import (
    Finding,
    GroupAcknowledgment,
    GroupHeader,
    InterchangeAcknowledgment,
    InterchangeEnd,
    InterchangeHeader,
    MemberTransaction,
    TransactionEnd,
)
from tests.support import SAMPLES, of_type, records


def test_five_members_834() -> None:
    found = records(SAMPLES / "834_5members.834")
    assert of_type(found, Finding) == []
    (interchange,) = of_type(found, InterchangeHeader)
    assert (interchange.sender_id, interchange.receiver_id) == ("FAKESENDER", "FAKERECEIVER")
    assert interchange.control == "000001001"
    assert interchange.delimiters == ("*", "^", ":", "~")
    assert interchange.acknowledgment_requested is False
    (group,) = of_type(found, GroupHeader)
    assert (group.functional_id, group.control, group.version) == ("BE", "1", "005010X220A1")
    (end,) = of_type(found, TransactionEnd)
    assert (end.header.control, end.segments, end.declared_segments, end.members) == (
        "0001",
        104,
        "104",
        5,
    )
    assert end.enrollment is not None
    assert end.enrollment.sponsor_name == "ACME FICTITIOUS EMPLOYER GROUP"
    assert end.enrollment.payer_name == "EXAMPLE HEALTH PLAN OF NOWHERE"

    members = of_type(found, MemberTransaction)
    assert [(m.ordinal, m.first_position, m.last_position) for m in members] == [
        (1, 7, 28), (2, 29, 49), (3, 50, 65), (4, 66, 81), (5, 82, 103),
    ]  # fmt: skip
    assert [m.subscriber_id for m in members] == [
        "100000001",
        "100000002",
        "100000002",
        "100000002",
        "100000003",
    ]
    assert [m.subscriber_indicator for m in members] == ["Y", "Y", "N", "N", "Y"]
    assert [m.relationship for m in members] == ["18", "18", "19", "19", "18"]
    first = members[0]
    assert first.maintenance_type == "021" and first.maintenance_reason == "28"
    assert first.benefit_status == "A"
    assert first.member_supplemental_id == "E2342168"
    assert first.group_policy_number == "GRP00285"
    assert first.eligibility_begin == "20240301"
    assert (first.last_name, first.first_name) == ("KESSHAM", "CAROL")
    assert (first.member_identifier_qualifier, first.member_identifier) == ("34", "939913470")
    assert (first.birth_date, first.gender) == ("19800813", "F")
    (coverage,) = first.coverages
    assert (coverage.maintenance_type, coverage.insurance_line, coverage.plan, coverage.coverage_level) == (
        "021", "HLT", "45678GA0040004-03", "EMP",
    )  # fmt: skip
    assert coverage.benefit_begin == "20240301" and coverage.class_of_contract == "GOLD"
    assert first.reporting_categories == {"PRE AMT 1": "722.84", "APTC AMT": "412.59"}
    assert members[2].reporting_categories == {"PRE AMT 1": "184.77"}
    assert members[2].member_supplemental_id is None
    assert members[1].middle_name == "S" and members[1].marital_status == "M"
    assert first.sent_at is not None and first.sent_at.isoformat() == "2024-01-15T12:00:00"
    assert (first.interchange_control, first.group_control, first.transaction_control) == (
        "000001001",
        "1",
        "0001",
    )
    (closing,) = of_type(found, InterchangeEnd)
    assert closing.groups == 1 and closing.declared_groups == "1" and closing.digest == ""


def test_three_groups_twelve_sets() -> None:
    found = records(SAMPLES / "834_3groups_12sets.834")
    ends = of_type(found, TransactionEnd)
    assert [end.header.control for end in ends] == [f"{n:04d}" for n in range(1, 13)]
    assert [end.header.group_control for end in ends] == ["1"] * 4 + ["2"] * 4 + ["3"] * 4
    assert all(end.segments == int(end.declared_segments or 0) for end in ends)
    assert sum(end.members for end in ends) == 24
    assert len(of_type(found, MemberTransaction)) == 24
    assert of_type(found, Finding) == []


def test_bad_ins03_is_found_where_pyx12_put_it() -> None:
    (finding,) = of_type(records(SAMPLES / "834_bad_ins03.834"), Finding)
    # pyx12's 999 for this file: IK3*INS*50**8 / IK4*3*875*7*099
    assert (finding.scheme, finding.code) == ("IK4", "7")
    assert (finding.segment_id, finding.segment_position) == ("INS", 50)
    assert (finding.element_position, finding.element_reference, finding.bad_value) == (
        3,
        "875",
        "099",
    )
    assert finding.member_ordinal == 3
    assert finding.transaction_control == "0001"


def test_bad_iea_count_is_ta1_021() -> None:
    found = records(SAMPLES / "834_bad_iea_count.834")
    (finding,) = of_type(found, Finding)
    assert (finding.scheme, finding.code, finding.severity) == ("TA1", "021", "error")
    assert finding.interchange_control == "000001001"
    assert of_type(found, InterchangeHeader)[0].acknowledgment_requested is True
    assert len(of_type(found, MemberTransaction)) == 5


def test_999_accepting_one_set() -> None:
    found = records(SAMPLES / "834_5members.pyx12.999")
    assert of_type(found, Finding) == []
    (ack,) = of_type(found, GroupAcknowledgment)
    assert (ack.sender_id, ack.receiver_id) == ("FAKERECEIVER", "FAKESENDER")
    assert (ack.functional_id, ack.group_control, ack.version) == ("BE", "1", "005010X220A1")
    assert (ack.status, ack.included, ack.received, ack.accepted) == ("A", 1, 1, 1)
    assert [(s.control, s.status, s.error_codes) for s in ack.sets] == [("0001", "A", [])]
    assert ack.header.implementation == "005010X231"


def test_999_rejecting_bad_ins03() -> None:
    (ack,) = of_type(records(SAMPLES / "834_bad_ins03.pyx12.999"), GroupAcknowledgment)
    assert (ack.status, ack.accepted) == ("R", 0)
    (set_ack,) = ack.sets
    assert (set_ack.status, set_ack.error_codes) == ("R", ["5"])
    (segment,) = set_ack.segment_errors
    assert (segment.segment_id, segment.position, segment.loop_id, segment.code) == (
        "INS",
        50,
        "",
        "8",
    )
    (element,) = segment.element_errors
    assert (element.position, element.reference, element.code, element.bad_value) == (
        3,
        "875",
        "7",
        "099",
    )


def test_999_with_three_sets_one_per_group() -> None:
    acks = of_type(records(SAMPLES / "834_3groups_12sets.pyx12.999"), GroupAcknowledgment)
    assert [ack.group_control for ack in acks] == ["1", "2", "3"]
    assert [[s.control for s in ack.sets] for ack in acks] == [
        ["0001", "0002", "0003", "0004"], ["0005", "0006", "0007", "0008"], ["0009", "0010", "0011", "0012"],
    ]  # fmt: skip
    assert all(s.status == "A" for ack in acks for s in ack.sets)


def test_ta1_after_ge_is_read() -> None:
    found = records(SAMPLES / "834_bad_iea_count.pyx12.999")
    assert of_type(found, Finding) == []
    (ta1,) = of_type(found, InterchangeAcknowledgment)
    assert (ta1.control, ta1.date, ta1.time, ta1.status, ta1.note) == (
        "000001001",
        "240115",
        "1200",
        "R",
        "021",
    )
    assert (ta1.sender_id, ta1.receiver_id) == ("FAKERECEIVER", "FAKESENDER")
    (ack,) = of_type(found, GroupAcknowledgment)
    assert ack.status == "A"
