"""`acktrack generate 999 | ta1 | resend`: the insurer's answers and the resend a person
needs to try the ledger, read back by acktrack's own reader (pyx12's verdict on them is
tests/peer/test_pyx12.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest

from acktrack.cli import main
from acktrack.x12 import (
    Finding,
    GroupAcknowledgment,
    InterchangeAcknowledgment,
    InterchangeHeader,
    MemberTransaction,
)
from tests.support import members, of_type, records

INSURER, US = "HEALTHPLAN01", "ACKTRACKEXCH"


@pytest.fixture
def day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """An 834 of 24 invented people in 3 sets (0001..0003), in day/outbound/."""
    path = tmp_path / "day" / "outbound" / "a.834"
    argv = ["generate", "834", "--members", "24", "--sets", "3", "--seed", "5", str(path)]
    assert main(argv) == 0
    capsys.readouterr()
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _acks(path: Path) -> list[GroupAcknowledgment]:
    return of_type(records(path), GroupAcknowledgment)


def test_a_999_accepts_every_set_from_the_insurer_to_us(
    day: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(capsys, "generate", "999", str(day))
    path = day.parents[1] / "inbound" / INSURER / "a.999"
    assert status == 0 and out == f"{path}\n"
    assert "3 set(s), 3 accepted" in err
    found = records(path)
    (envelope,) = of_type(found, InterchangeHeader)
    assert (envelope.sender_id, envelope.receiver_id) == (INSURER, US)  # swapped
    assert envelope.control == "700001001"  # derived from the 834's ISA13 1001
    assert of_type(found, Finding) == []  # envelopes, counts and AK9 all consistent
    (ack,) = _acks(path)
    assert (ack.group_control, ack.status, ack.included, ack.received, ack.accepted) == (
        "1", "A", 3, 3, 3,
    )  # fmt: skip
    assert [(s.control, s.status) for s in ack.sets] == [(f"000{n}", "A") for n in (1, 2, 3)]


def test_a_999_rejects_the_chosen_sets_with_ik3_on_the_chosen_members(
    day: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = _run(capsys, "generate", "999", str(day), "--reject", "0001",
                          "--ik3", "0003:2", "--ik3", "0003:4:HD", "--ik3", "0003:4:DTP")  # fmt: skip
    assert status == 0 and "1 accepted, 2 rejected (0001, 0003)" in err
    path = day.parents[1] / "inbound" / INSURER / "a.999"
    assert of_type(records(path), Finding) == []
    (ack,) = _acks(path)
    assert (ack.status, ack.included, ack.received, ack.accepted) == ("P", 3, 3, 1)
    first, second, third = ack.sets
    assert (first.status, first.error_codes, second.status) == ("R", ["5"], "A")
    sent = {(m.enrollment.header.control, m.ordinal): m for m in members(day)}
    # A set rejected without --ik3: an IK3 on its first member's INS.
    (default,) = first.segment_errors
    assert (default.segment_id, default.position) == ("INS", sent[("0001", 1)].first_position)
    assert (third.status, third.error_codes) == ("R", ["5"])
    named = [(e.segment_id, e.position, e.loop_id, e.code) for e in third.segment_errors]
    member_2, member_4 = sent[("0003", 2)], sent[("0003", 4)]
    assert named[0] == ("INS", member_2.first_position, "2000", "8")
    assert named[1][:3] == ("HD", member_4.coverages[0].position, "2300")
    assert named[2][0] == "DTP" and member_4.first_position < named[2][1] < named[1][1]
    ins_error = third.segment_errors[0].element_errors[0]
    assert (ins_error.position, ins_error.reference, ins_error.code) == (3, "875", "7")


def test_a_999_names_no_personal_data(day: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """IK404 quotes a code (INS03, HD03), never a name, a birth date or an id."""
    argv = ["generate", "999", str(day)]
    for member in range(1, 9):
        for segment in ("REF", "NM1", "DMG"):
            argv += ["--ik3", f"0002:{member}:{segment}"]
    assert _run(capsys, *argv)[0] == 0
    answer = (day.parents[1] / "inbound" / INSURER / "a.999").read_bytes().decode()
    for member in members(day):
        for value in (member.last_name, member.first_name, member.birth_date,
                      member.member_identifier, member.subscriber_id):  # fmt: skip
            assert value and value not in answer


def test_the_999_answers_what_acktrack_reads_wrong_with_as_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "outbound" / "bad.834"
    assert main(["generate", "--members", "6", "--error", "bad_ins03:3", str(bad)]) == 0
    assert _run(capsys, "generate", "999", str(bad), "--as-read")[0] == 0
    (ack,) = _acks(tmp_path / "inbound" / INSURER / "bad.999")
    (one,) = ack.sets
    (error,) = one.segment_errors
    (member,) = [m for m in members(bad) if m.ordinal == 3]
    assert (one.status, error.segment_id, error.position) == ("R", "INS", member.first_position)
    assert error.element_errors[0].bad_value == "099"


def test_a_ta1_per_interchange_accepts_or_rejects(
    day: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = day.parents[1] / "inbound" / INSURER / "a.ta1"
    for argv, verdict in ((["--reject", "--note", "009"], ("R", "009")), ([], ("A", "000"))):
        assert _run(capsys, "generate", "ta1", str(day), *argv)[0] == 0
        found = records(path)
        (ta1,) = of_type(found, InterchangeAcknowledgment)
        assert (ta1.control, ta1.status, ta1.note) == ("000001001", *verdict)
        assert (ta1.interchange.sender_id, ta1.interchange.receiver_id) == (INSURER, US)
        assert of_type(found, Finding) == []


def test_a_resend_carries_the_chosen_families_in_new_control_numbers(
    day: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = members(day)
    families = sorted({m.subscriber_id or "" for m in sent})
    chosen = {families[1], families[-1]}  # one in the first set, one in the last
    status, out, err = _run(capsys, "generate", "resend", str(day), "--families", ",".join(chosen))
    path = day.parent / "a.resend-1002.834"
    assert status == 0 and out == f"{path}\n" and "ISA13 000001002, GS06 2" in err
    found = records(path)
    assert of_type(found, Finding) == []
    (envelope,) = of_type(found, InterchangeHeader)
    assert (envelope.sender_id, envelope.receiver_id) == (US, INSURER)  # the same insurer
    assert envelope.control == "000001002"
    again = of_type(found, MemberTransaction)
    assert {m.subscriber_id for m in again} == chosen
    expected = [m for m in sent if m.subscriber_id in chosen]
    assert [m.member_supplemental_id for m in again] == [m.member_supplemental_id for m in expected]
    assert {m.enrollment.header.control for m in again} == {"0004", "0005"}  # after 0001..0003
    assert {m.enrollment.header.group_control for m in again} == {"2"}


def test_a_resend_of_the_sets_a_999_rejected(day: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "generate", "999", str(day), "--reject", "0002")[0] == 0
    answer = day.parents[1] / "inbound" / INSURER / "a.999"
    status, _, _ = _run(capsys, "generate", "resend", str(day), "--rejected-by", str(answer),
                        "--control", "2001")  # fmt: skip
    assert status == 0
    again = members(day.parent / "a.resend-2001.834")
    assert [m.member_supplemental_id for m in again] == [
        m.member_supplemental_id for m in members(day) if m.enrollment.header.control == "0002"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["999", "{day}", "--reject", "0009"], "no set with ST02 0009 in the file (its sets: 0001, 0002, 0003)"),
        (["999", "{day}", "--ik3", "0001:40"], "set 0001 has 8 member(s): no member 40"),
        (["999", "{day}", "--ik3", "0001:two"], "write ST02:MEMBER[:SEGMENT]"),
        (["999", "{day}", "--ik3", "0001:1:PER"], "no IK3 for PER; choose one of INS, REF, DTP"),
        (["ta1", "{day}", "--note", "999"], "TA1 note '999' is not a TA105 code"),
        (["resend", "{day}", "--families", "123"], "no member with subscriber id (REF*0F) 123"),
        (["resend", "{day}", "--correct", "INS3=021", "--families", "100000001"], "write SEG:ELEMENT:OLD=NEW"),
        (["999", "{elsewhere}"], "is not in an outbound/ folder: say where with --out DIR"),
        (["999", "{missing}"], "No such file or directory"),
    ],
)  # fmt: skip
def test_what_cannot_be_generated_is_one_line(
    argv: list[str], message: str, day: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = day.parents[1] / "a.834"
    elsewhere.write_bytes(day.read_bytes())
    names = {"day": str(day), "elsewhere": str(elsewhere), "missing": str(day.parent / "no.834")}
    status, out, err = _run(capsys, "generate", *(part.format(**names) for part in argv))
    assert (status, out) == (2, "")
    assert err.startswith("acktrack: ") and err.count("\n") == 1 and message in err, err


def test_generate_without_a_kind_still_writes_an_834(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "generate", "--members", "3", str(tmp_path / "x.834"))[0] == 0
    assert len(members(tmp_path / "x.834")) == 3
