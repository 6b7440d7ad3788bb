"""Files shaped to exhaust a reader, dropped through the functions on the stack (moto): each
ends quarantined with its reason, in bounded memory, and nothing reaches the failure queue
(an out-of-memory crash would be retried by Lambda and land there instead).

The readers' limits are scaled down (a 4 KiB segment, member and 1 KiB set header, 100
structures), so 64 KB files go over them as 2 GB files go over the real ones;
``benchmarks/hostile.py`` measures the real limits on files of hundreds of MB."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from acktrack.synthetic.hostile import CANARY, write_hostile
from acktrack.x12 import limits as x12_limits
from acktrack.x12.limits import Limits
from tests.integration.conftest import Day

AS_OF = datetime(2024, 1, 16, 12, 0, tzinfo=UTC)
# shape -> what its quarantine reason names (outbound, inbound)
REFUSED = {
    "one_segment": "ACK segment_too_long",
    "no_terminator": "ACK segment_too_long",
    "huge_isa": "not readable as X12: the ISA segment is incomplete",
    "tiny_segments": "ACK loop_too_long",
    "tiny_header": "ACK header_too_long",
    "tiny_stray": "ACK too_many_structures",
    "tiny_sets": "ACK too_many_structures",
    "huge_999_element": "ACK segment_too_long",
    "999_many_loops": "ACK too_many_structures",
    "garbage": "ACK loop_too_long",
    "delimiters_change": "ACK segment_too_long",
}


@pytest.fixture
def scaled(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = Limits(segment_bytes=4096, loop_chars=4096, header_bytes=1024, structures=100)
    monkeypatch.setattr(x12_limits, "LIMITS", limits)


def _file(shape: str) -> bytes:
    buffer = io.BytesIO()
    write_hostile(shape, buffer, 64 * 1024)
    return buffer.getvalue()


@pytest.mark.usefixtures("scaled")
def test_hostile_files_are_quarantined_with_their_reason_and_never_fail(day: Day) -> None:
    results = []
    for shape in REFUSED:
        data = _file(shape)
        results += day.drop("outbound", f"{shape}.834", data)
        results += day.drop("inbound", f"HEALTHPLAN01/{shape}.x12", data)
    assert all(result.ok for result in results)  # no retries
    assert day.stack.failures() == []
    reasons = {item["key"]: item["reason"] for item in day.report(AS_OF)["quarantined"]}
    expected = {
        key: named
        for shape, named in REFUSED.items()
        for key in (f"outbound/{shape}.834", f"inbound/HEALTHPLAN01/{shape}.x12")
    }
    assert set(reasons) == set(expected)
    for key, reason in reasons.items():
        assert expected[key] in reason, key
        assert CANARY.decode() not in reason  # no content of the file in a reason
    s3 = day.stack.client("s3")
    for bucket in (day.outbound, day.inbound):
        for listed in s3.list_objects_v2(Bucket=bucket, Prefix="quarantine/")["Contents"]:
            metadata = s3.head_object(Bucket=bucket, Key=listed["Key"])["Metadata"]
            assert CANARY.decode() not in metadata["acktrack-reason"]
    assert not [item for item in day.table() if item["sk"]["S"].startswith("M#")]
