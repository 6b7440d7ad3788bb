"""pyx12 as an independent peer.

The generator's clean files pass pyx12 validation; for deliberately broken files, the
999s pyx12 writes parse to the right IK5/AK9/TA1 codes, and our own findings predict
them (same codes, same segment positions).
"""

from __future__ import annotations

import pytest

from acktrack.x12 import Finding, GroupAcknowledgment, InterchangeAcknowledgment
from tests.support import generate, of_type, pyx12_validate, records


@pytest.mark.parametrize(
    "spec",
    [
        {"members": 12, "seed": 1},
        {
            "members": 40,
            "groups": 2,
            "sets_per_group": 3,
            "seed": 2,
            "maintenance": {"021": 3, "024": 1, "001": 1},
        },
        {"members": 9, "seed": 3, "line_ending": "\r\n", "marketplace": False},
    ],
)
def test_generated_files_pass_pyx12(spec: dict[str, object]) -> None:
    data, _ = generate(**spec)
    valid, acknowledgment = pyx12_validate(data)
    assert valid
    acks = of_type(records(acknowledgment), GroupAcknowledgment)
    assert acks and all(ack.status == "A" for ack in acks)
    assert of_type(records(data), Finding) == []


# error planted -> what pyx12's 999/TA1 must say, as parsed by our reader
PLANTED = [
    ("bad_ins03:3", "R", "R", ["5"], ("INS", "8", "875", "7")),
    ("bad_ins02:2", "R", "R", ["5"], ("INS", "8", "1069", "7")),
    ("bad_hd03:2", "R", "R", ["5"], ("HD", "8", "1205", "7")),
    ("bad_dtp_date:1", "R", "R", ["5"], ("DTP", "8", "1251", "8")),
    ("missing_ref_0f:2", "R", "R", ["5"], ("REF", "3", None, None)),
    ("bad_se_count", "R", "R", ["4"], None),
    ("se_control_mismatch", "R", "R", ["3"], None),
]


@pytest.mark.parametrize(("error", "ak9", "ik5", "ik5_codes", "segment"), PLANTED)
def test_pyx12_999_for_broken_files_parses_to_the_right_codes(
    error: str, ak9: str, ik5: str, ik5_codes: list[str], segment: tuple[str, ...] | None
) -> None:
    data, _ = generate(members=6, seed=31, errors=[error])
    valid, acknowledgment = pyx12_validate(data)
    assert not valid
    (ack,) = of_type(records(acknowledgment), GroupAcknowledgment)
    assert ack.status == ak9
    (set_ack,) = ack.sets
    assert (set_ack.status, set_ack.error_codes) == (ik5, ik5_codes)
    ours = of_type(records(data), Finding)
    if segment is None:
        assert {(f.scheme, f.code) for f in ours} == {("IK5", ik5_codes[0])}
        return
    (theirs,) = set_ack.segment_errors
    segment_id, ik304, reference, ik403 = segment
    assert (theirs.segment_id, theirs.code) == (segment_id, ik304)
    if reference:
        (element,) = theirs.element_errors
        assert (element.reference, element.code) == (reference, ik403)
    # Our own finding predicts the rejection: same segment, same position, same code.
    (finding,) = ours
    assert (finding.segment_id, finding.segment_position) == (theirs.segment_id, theirs.position)
    assert finding.code == (ik403 or ik304)


def test_pyx12_group_and_interchange_errors() -> None:
    data, _ = generate(members=4, seed=5, errors=["bad_ge_count"], acknowledgment_requested=True)
    _, acknowledgment = pyx12_validate(data)
    (ack,) = of_type(records(acknowledgment), GroupAcknowledgment)
    assert (ack.status, ack.error_codes) == ("R", ["5"])
    assert {(f.scheme, f.code) for f in of_type(records(data), Finding)} == {("AK9", "5")}

    data, _ = generate(
        members=4, seed=5, errors=["iea_control_mismatch"], acknowledgment_requested=True
    )
    _, acknowledgment = pyx12_validate(data)
    (ta1,) = of_type(records(acknowledgment), InterchangeAcknowledgment)
    assert (ta1.control, ta1.status, ta1.note) == ("000001001", "R", "001")
    assert {(f.scheme, f.code) for f in of_type(records(data), Finding)} == {("TA1", "001")}


def test_pyx12_duplicate_st02() -> None:
    data, _ = generate(members=4, sets_per_group=2, seed=5, errors=["duplicate_st02"])
    _, acknowledgment = pyx12_validate(data)
    (ack,) = of_type(records(acknowledgment), GroupAcknowledgment)
    assert [(s.control, s.status, s.error_codes) for s in ack.sets] == [
        ("0001", "A", []),
        ("0001", "R", ["23"]),
    ]
    assert {(f.scheme, f.code) for f in of_type(records(data), Finding)} == {("IK5", "23")}


def test_the_answers_acktrack_generate_writes_pass_pyx12() -> None:
    """`acktrack generate 999 | ta1 | resend`: what it writes is valid X12 to pyx12 too."""
    from datetime import datetime

    from acktrack.synthetic.answers import MemberError, answer_999, answer_ta1
    from acktrack.synthetic.resend import rejected_sets, resend_families

    data, _ = generate(members=20, sets_per_group=3, seed=41)
    when = datetime(2024, 1, 15, 14)
    accepted = answer_999(data, insurer_control=7001, sent_at=when)
    rejected = answer_999(data, insurer_control=7002, sent_at=when, reject={"0001"},
                          member_errors=[MemberError("0003", 2, segment) for segment in
                                         ("INS", "REF", "DTP", "NM1", "DMG", "HD")])  # fmt: skip
    resent = resend_families(data, transaction_sets=rejected_sets(data, rejected),
                             interchange_control=1002, group_control=2,
                             first_transaction_control=4, sent_at=when).data  # fmt: skip
    for name, x12 in {
        "999 accepting": accepted,
        "999 rejecting": rejected,
        "TA1 A": answer_ta1(data, insurer_control=8001, sent_at=when),
        "TA1 R": answer_ta1(data, insurer_control=8002, sent_at=when, reject=True),
        "resend": resent,
    }.items():
        valid, _ = pyx12_validate(x12)
        assert valid, name
    (ack,) = of_type(records(rejected), GroupAcknowledgment)
    assert [s.status for s in ack.sets] == ["R", "A", "R"] and ack.status == "P"
    assert len(of_type(records(resent), Finding)) == 0
