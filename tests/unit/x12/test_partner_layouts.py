"""How trading partners really write X12: small departures from the guide that are valid."""

from __future__ import annotations

import pytest

from acktrack.x12 import (
    Finding,
    GroupHeader,
    InterchangeHeader,
    MemberTransaction,
    UnreadableX12,
)
from tests.support import SAMPLES, codes, findings, members, of_type, records

SAMPLE = (SAMPLES / "834_5members.834").read_bytes()


def isa11(data: bytes, value: bytes) -> bytes:
    return data[:82] + value + data[83:]


@pytest.mark.parametrize("hd01", ["002", "026", "032"])
def test_hd01_has_its_own_code_list(hd01: str) -> None:
    data = SAMPLE.replace(b"HD*021**HLT", b"HD*" + hd01.encode() + b"**HLT", 1)
    assert findings(data) == []
    assert members(data)[0].coverages[0].maintenance_type == hd01


def test_an_ins03_only_code_list_still_guards_hd01() -> None:
    data = SAMPLE.replace(b"HD*021**HLT", b"HD*099**HLT", 1)
    (finding,) = findings(data)
    assert (finding.segment_id, finding.element_position, finding.bad_value) == ("HD", 1, "099")


@pytest.mark.parametrize("value", [b"U", b" "])
def test_isa11_u_or_space_in_00501_reads_without_repetition(value: bytes) -> None:
    data = isa11(SAMPLE, value)
    found = records(data)
    (header,) = of_type(found, InterchangeHeader)
    assert header.delimiters.repetition is None
    assert len(of_type(found, MemberTransaction)) == 5
    (warning,) = of_type(found, Finding)
    assert (warning.scheme, warning.code, warning.severity, warning.element_position) == (
        "ACK", "repetition_separator", "warning", 11,
    )  # fmt: skip


def test_isa11_equal_to_isa16_reads_without_repetition() -> None:
    found = records(isa11(SAMPLE, b":"))
    assert of_type(found, InterchangeHeader)[0].delimiters.repetition is None
    assert codes(of_type(found, Finding)) == [("ACK", "repetition_separator")]
    assert len(of_type(found, MemberTransaction)) == 5


def test_isa11_u_in_00401_is_no_finding() -> None:
    data = isa11(SAMPLE, b"U").replace(b"*00501*", b"*00401*", 1)
    assert findings(data) == []


def test_delimiters_that_cannot_be_told_apart_are_refused() -> None:
    # Element separator = segment terminator: no reader can split that.
    data = SAMPLE.replace(b"~", b"*")
    with pytest.raises(UnreadableX12):
        records(data)


def test_isb_and_ise_are_interchange_service_segments() -> None:
    head, rest = SAMPLE.split(b"\nGS*", 1)
    data = head + b"\nISB*1~ISE*1~\nGS*" + rest
    assert findings(data) == []
    assert len(members(data)) == 5


def test_gs04_has_six_digits_in_003010_and_eight_from_004010() -> None:
    old = (
        b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *940115*1200*U*00301*000000001*0*T*:~"
        b"GS*IN*SENDER*RECEIVER*940115*1200*1*X*003010~ST*810*0001~BIG*940115*1~SE*3*0001~GE*1*1~IEA*1*000000001~"
    )
    found = records(old)
    assert [f.code for f in of_type(found, Finding) if f.severity != "warning"] == []
    assert of_type(found, GroupHeader)[0].date == "940115"
    newer = old.replace(b"*003010~", b"*004010~")
    assert ("IK4", "8") in codes(findings(newer))
