"""999 (with and without AK2 loops, X231A1 and X231), 997, and TA1 anywhere at interchange level."""

from __future__ import annotations

from acktrack.x12 import Finding, GroupAcknowledgment, InterchangeAcknowledgment
from tests.support import codes, of_type, records

ISA = "ISA*00*          *00*          *ZZ*HEALTHPLAN01   *ZZ*ACKTRACKEXCH   *240116*0800*^*00501*000000077*0*P*:~"


def ack999(body: str, version: str = "005010X231A1", count: int | None = None) -> bytes:
    segments = body.strip("~").split("~")
    se01 = count if count is not None else len(segments) + 2
    return (
        ISA
        + f"GS*FA*HEALTHPLAN01*ACKTRACKEXCH*20240116*0800*77*X*{version}~ST*999*0001*{version}~"
        + body
        + f"SE*{se01}*0001~GE*1*77~IEA*1*000000077~"
    ).encode()


def test_999_without_ak2_loops_speaks_for_the_group() -> None:
    (ack,) = of_type(records(ack999("AK1*BE*12*005010X220A1~AK9*R*3*3*0*5~")), GroupAcknowledgment)
    assert ack.sets == []
    assert (ack.group_control, ack.status, ack.included, ack.received, ack.accepted) == (
        "12",
        "R",
        3,
        3,
        0,
    )
    assert ack.error_codes == ["5"]


def test_999_partial_acceptance_with_element_detail() -> None:
    body = (
        "AK1*BE*12*005010X220A1~"
        "AK2*834*0001*005010X220A1~IK5*A~"
        "AK2*834*0002*005010X220A1~IK3*DMG*44*2100A*8~CTX*SITUATIONAL TRIGGER:XYZ*DMG*44~"
        "IK4*2:1*1251*8*19801301~IK3*HD*50*2300*8~IK4*3*1205*7*XXX~IK5*R*5*I5~"
        "AK2*834*0003*005010X220A1~IK5*E~"
        "AK9*P*3*3*2~"
    )
    found = records(ack999(body, version="005010X231"))
    assert of_type(found, Finding) == []
    (ack,) = of_type(found, GroupAcknowledgment)
    assert ack.status == "P"
    assert [(s.control, s.status, s.error_codes) for s in ack.sets] == [
        ("0001", "A", []), ("0002", "R", ["5", "I5"]), ("0003", "E", []),
    ]  # fmt: skip
    dmg, hd = ack.sets[1].segment_errors
    assert (dmg.segment_id, dmg.position, dmg.loop_id, dmg.code) == ("DMG", 44, "2100A", "8")
    assert dmg.context == ["SITUATIONAL TRIGGER"]
    (element,) = dmg.element_errors
    assert (element.position, element.component, element.reference, element.code) == (
        2,
        1,
        "1251",
        "8",
    )
    assert hd.element_errors[0].bad_value == "XXX"
    # Context values and bad values never reach the JSON form.
    text = str(ack.to_dict())
    assert "19801301" not in text and "XYZ" not in text


def test_997_reads_like_a_999() -> None:
    data = (
        ISA + "GS*FA*HEALTHPLAN01*ACKTRACKEXCH*20240116*0800*78*X*004010~ST*997*0001~"
        "AK1*BE*5~AK2*834*0001~AK3*NM1*9**8~AK4*3**7*ZZ~AK5*R*5~AK9*R*1*1*0~SE*8*0001~GE*1*78~IEA*1*000000077~"
    ).encode()
    found = records(data)
    assert of_type(found, Finding) == []
    (ack,) = of_type(found, GroupAcknowledgment)
    (set_ack,) = ack.sets
    assert (
        set_ack.status,
        set_ack.segment_errors[0].segment_id,
        set_ack.segment_errors[0].position,
    ) == ("R", "NM1", 9)


def test_malformed_999_gives_findings_not_exceptions() -> None:
    found = records(ack999("AK2*834*0001*005010X220A1~IK4*1*66*7~AK9*Q*1*1*1~"))
    assert codes(of_type(found, Finding)) == [
        ("IK3", "2"),
        ("IK3", "3"),
        ("IK3", "3"),
        ("IK4", "7"),
    ]
    assert of_type(found, GroupAcknowledgment) == []  # no AK1: nothing to match it to


def test_ta1_alone_before_gs_and_after_ge() -> None:
    alone = (ISA + "TA1*000000123*240115*1200*A*000~IEA*0*000000077~").encode()
    (ta1,) = of_type(records(alone), InterchangeAcknowledgment)
    assert (ta1.control, ta1.status, ta1.note) == ("000000123", "A", "000")
    assert of_type(records(alone), Finding) == []

    before = ack999("AK1*BE*12*005010X220A1~AK9*A*1*1*1~").replace(
        b"GS*FA", b"TA1*000000124*240115*1200*E*021~GS*FA", 1
    )
    found = records(before)
    assert [t.status for t in of_type(found, InterchangeAcknowledgment)] == ["E"]
    assert len(of_type(found, GroupAcknowledgment)) == 1


def test_ta1_with_a_bad_status_is_flagged() -> None:
    data = (ISA + "TA1*000000123*240115*1200*Q*000~IEA*0*000000077~").encode()
    assert codes(of_type(records(data), Finding)) == [("IK4", "7")]


def test_a_second_ik5_never_softens_the_first() -> None:
    body = "AK1*BE*12*005010X220A1~AK2*834*0001*005010X220A1~IK5*R*5~IK5*A~AK9*R*1*1*0~"
    found = records(ack999(body))
    (ack,) = of_type(found, GroupAcknowledgment)
    assert [(one.status, one.error_codes) for one in ack.sets] == [("R", ["5"])]
    assert ("IK3", "5") in codes(of_type(found, Finding))
    # The other order too: the more severe verdict stands, not the later one.
    body = "AK1*BE*12*005010X220A1~AK2*834*0001*005010X220A1~IK5*A~IK5*R*5~AK9*R*1*1*0~"
    (ack,) = of_type(records(ack999(body)), GroupAcknowledgment)
    assert ack.sets[0].status == "R"


def test_ik5_verdicts_are_held_against_ak9() -> None:
    agree = "AK1*BE*12*005010X220A1~AK2*834*0001~IK5*A~AK2*834*0002~IK5*R*5~AK9*P*2*2*1~"
    assert of_type(records(ack999(agree)), Finding) == []
    contradictions = {
        "AK9 accepts a rejected set": "AK2*834*0001~IK5*R*5~AK9*A*1*1*1~",
        "AK904 counts more than IK5 accept": "AK2*834*0001~IK5*A~AK2*834*0002~IK5*R~AK9*P*2*2*2~",
        "more AK2 loops than received": "AK2*834*0001~IK5*A~AK2*834*0002~IK5*A~AK9*A*1*1*1~",
        "AK9 rejects an accepted set": "AK2*834*0001~IK5*A~AK9*R*1*1*0~",
    }
    for name, tail in contradictions.items():
        found = of_type(records(ack999("AK1*BE*12*005010X220A1~" + tail)), Finding)
        assert [(f.scheme, f.code, f.severity) for f in found] == [
            ("ACK", "ik5_contradicts_ak9", "error")
        ] * len(found), name
        assert found, name
