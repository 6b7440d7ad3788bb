"""ISA/IEA, GS/GE, ST/SE integrity checks become findings with the insurer's codes."""

from __future__ import annotations

import pytest

from acktrack.x12 import Finding, GroupEnd, InterchangeEnd, MemberTransaction, TransactionEnd
from tests.support import SAMPLES, codes, findings, generate, of_type, records


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("bad_se_count", [("IK5", "4"), ("IK5", "4")]),
        ("se_control_mismatch", [("IK5", "3"), ("IK5", "3")]),
        ("bad_ge_count", [("AK9", "5")]),
        ("ge_control_mismatch", [("AK9", "4")]),
        ("bad_iea_count", [("TA1", "021")]),
        ("iea_control_mismatch", [("TA1", "001")]),
        ("duplicate_st02", [("IK5", "23")]),
        ("missing_se", [("IK5", "2")]),
    ],
)
def test_each_integrity_check(error: str, expected: list[tuple[str, str]]) -> None:
    data, generated = generate(members=8, sets_per_group=2, seed=21, errors=[error])
    found = records(data)
    assert codes(of_type(found, Finding)) == expected
    # Whatever is wrong with the envelope, every member is still read.
    assert len(of_type(found, MemberTransaction)) == generated.members == 8


def test_findings_carry_control_numbers_and_positions() -> None:
    data, _ = generate(members=4, sets_per_group=2, seed=5, errors=["bad_se_count"])
    first, second = findings(data)
    assert (first.interchange_control, first.group_control, first.transaction_control) == (
        "000001001",
        "1",
        "0001",
    )
    assert second.transaction_control == "0002"
    assert first.segment_id == "SE" and first.segment_position is not None
    assert "SE01 says" in first.detail


def test_truncated_file_is_a_fatal_premature_end() -> None:
    data, _ = generate(members=6, seed=8, errors=["truncate"])
    found = records(data)
    by_code = {(f.scheme, f.code): f for f in of_type(found, Finding)}
    assert by_code[("TA1", "023")].severity == "fatal"
    assert ("IK5", "2") in by_code and ("AK9", "3") in by_code
    # What came before the cut is still read and the envelope is closed.
    assert len(of_type(found, MemberTransaction)) == 6
    assert of_type(found, InterchangeEnd)[0].declared_groups is None
    assert of_type(found, GroupEnd)[0].declared_transactions is None
    assert of_type(found, TransactionEnd)[0].declared_segments is None


def test_isa_element_checks() -> None:
    data = (SAMPLES / "834_5members.834").read_bytes()
    broken = data.replace(
        b"*240115*1200*^*00501*000001001*0*T*", b"*241399*2599*^*00501*00000100X*7*Q*", 1
    )
    assert codes(findings(broken)) == [
        ("TA1", "001"), ("TA1", "014"), ("TA1", "015"), ("TA1", "018"), ("TA1", "019"), ("TA1", "020"),
    ]  # fmt: skip


def test_non_fixed_width_isa_is_read_leniently_and_flagged() -> None:
    data = (SAMPLES / "834_5members.834").read_bytes().replace(b"FAKESENDER     ", b"FAKESENDER", 1)
    found = records(data)
    assert ("TA1", "024") in codes(of_type(found, Finding))
    assert len(of_type(found, MemberTransaction)) == 5


def test_segments_outside_sets_and_trailing_garbage() -> None:
    data = (SAMPLES / "834_5members.834").read_bytes()
    data = data.replace(b"GS*BE", b"XYZ*1~GS*BE", 1) + b"this is not an interchange"
    found = findings(data)
    details = [f.detail for f in found]
    assert "segment 'XYZ' outside any transaction set" in details
    assert "data after the last IEA is not an interchange" in details


def test_stray_segment_findings_are_capped() -> None:
    data = (SAMPLES / "834_5members.834").read_bytes()
    data = data.replace(b"GS*BE", b"XYZ*1~" * 40 + b"GS*BE", 1)
    stray = [f for f in findings(data) if "outside any transaction set" in f.detail]
    assert len(stray) == 6
    assert stray[-1].detail == "35 more segments outside any transaction set"


def test_st_outside_group_and_wrong_functional_group() -> None:
    data = (SAMPLES / "834_5members.834").read_bytes().replace(b"GS*BE*", b"GS*HC*", 1)
    assert ("IK5", "6") in codes(findings(data))
    no_group = (SAMPLES / "834_5members.834").read_bytes()
    no_group = no_group.replace(
        b"GS*BE*FAKESENDER*FAKERECEIVER*20240115*1200*1*X*005010X220A1~\n", b""
    )
    no_group = no_group.replace(b"GE*1*1~\n", b"")
    found = codes(findings(no_group))
    assert ("IK5", "18") in found and ("TA1", "021") in found
    assert len(of_type(records(no_group), MemberTransaction)) == 5


def test_unknown_transaction_sets_are_counted_not_read() -> None:
    data = (SAMPLES / "834_5members.834").read_bytes().replace(b"ST*834*", b"ST*270*", 1)
    found = records(data)
    assert ("IK5", "1") in codes(of_type(found, Finding))
    assert of_type(found, MemberTransaction) == []
    assert of_type(found, TransactionEnd)[0].segments == 104
