"""Delimiters from the ISA, line endings, chunk boundaries, several interchanges, unreadable input."""

from __future__ import annotations

import io

import pytest

from acktrack.x12 import (
    Delimiters,
    Finding,
    InterchangeEnd,
    InterchangeHeader,
    MemberTransaction,
    SegmentReader,
    UnreadableX12,
    iter_segments,
    read_x12,
)
from tests.support import SAMPLES, generate, members, of_type, records


def segment_ids(data: bytes, chunk_size: int = 1 << 20) -> list[str]:
    return [segment.id for segment in iter_segments(io.BytesIO(data), chunk_size)]


def test_segments_of_a_sample() -> None:
    data = (SAMPLES / "834_5members.834").read_bytes()
    ids = segment_ids(data)
    assert len(ids) == 108
    assert ids[:4] == ["ISA", "GS", "ST", "BGN"] and ids[-3:] == ["SE", "GE", "IEA"]


@pytest.mark.parametrize("chunk_size", [4096, 4097, 5000, 65536])
def test_chunk_boundaries_do_not_change_the_segments(chunk_size: int) -> None:
    data, _ = generate(members=300, seed=3)
    assert segment_ids(data, chunk_size) == segment_ids(data)
    small = [
        m.subscriber_id for m in of_type(records(data, chunk_size=chunk_size), MemberTransaction)
    ]
    assert small == [m.subscriber_id for m in members(data)]


@pytest.mark.parametrize(
    ("delimiters", "line_ending"),
    [
        (Delimiters("*", "^", ":", "~"), "\r\n"),
        (Delimiters("|", "^", ">", "~"), ""),
        (Delimiters("*", "^", ":", "\n"), ""),  # a bare newline as the terminator
        (Delimiters("*", "^", ":", "\n"), "\r"),  # ... preceded by CR (CRLF files)
        (Delimiters("\x1d", "\x1f", "\x1e", "\x1c"), ""),  # control characters
        (Delimiters("!", "{", "}", "'"), "\n"),
    ],
)
def test_delimiters_come_from_the_isa(delimiters: Delimiters, line_ending: str) -> None:
    data, generated = generate(members=25, seed=4, delimiters=delimiters, line_ending=line_ending)
    found = records(data)
    (header,) = of_type(found, InterchangeHeader)
    assert header.delimiters == delimiters
    got = of_type(found, MemberTransaction)
    assert [m.subscriber_id for m in got] == [m.subscriber_id for _, m in generated.all_members()]
    assert [m.last_name for m in got] == [m.person.last_name for _, m in generated.all_members()]


def test_several_interchanges_with_different_delimiters_in_one_file() -> None:
    first, _ = generate(members=3, seed=1, interchange_control=11)
    second, _ = generate(
        members=4,
        seed=2,
        interchange_control=12,
        delimiters=Delimiters("|", "^", ">", "!"),
        line_ending="",
    )
    third, _ = generate(members=2, seed=3, interchange_control=13, line_ending="\r\n")
    found = records(first + b"\n" + second + third)
    headers = of_type(found, InterchangeHeader)
    assert [h.control for h in headers] == ["000000011", "000000012", "000000013"]
    assert [h.delimiters.element for h in headers] == ["*", "|", "*"]
    assert len(of_type(found, MemberTransaction)) == 9
    assert [f for f in found if type(f).__name__ == "Finding"] == []


def test_byte_order_mark_and_leading_blank_lines_are_skipped() -> None:
    data = (SAMPLES / "834_5members.834").read_bytes()
    assert len(members(b"\xef\xbb\xbf\r\n\n" + data)) == 5


def test_interchange_digest_ignores_line_breaks() -> None:
    lf, _ = generate(members=5, seed=9, line_ending="\n")
    crlf, _ = generate(members=5, seed=9, line_ending="\r\n")
    none, _ = generate(members=5, seed=9, line_ending="")
    digests = {
        of_type(records(data, digest=True), InterchangeEnd)[0].digest for data in (lf, crlf, none)
    }
    assert len(digests) == 1 and len(next(iter(digests))) == 64
    other, _ = generate(members=5, seed=10)
    assert of_type(records(other, digest=True), InterchangeEnd)[0].digest not in digests
    assert of_type(records(other), InterchangeEnd)[0].digest == ""  # only when asked for


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"  \r\n\t ", "the file is empty"),
        (b"\x00\x01\x02binary\xff\xfe" * 20, "the file is binary, not X12 text"),
        (b"PK\x03\x04zipzipzip", "the file is a ZIP archive, not X12"),
        (b"\x1f\x8b\x08\x00gzip", "the file is gzip-compressed data, not X12"),
        (b"UNB+UNOA:1+SENDER", "the file is an EDIFACT interchange, not X12"),
        (b"hello world, this is not X12", "the file does not start with an ISA segment"),
        (b"ISA*00*", "the ISA segment is incomplete (fewer than 16 elements)"),
        (b"ISA*00*A*00*B*ZZ*S*ZZ*R*240101*1200*^*00501*1*0*T*:", "the ISA segment is incomplete (no segment terminator)"),
        (b"ISA*00*A*00*B*ZZ*S*ZZ*R*240101*1200*^*00501*1*0*T*:*", "the ISA declares the same character for two delimiters"),
        (b"ISA*00*A*00*B*ZZ*S*ZZ*R*240101*1200*^*00501*1*0*T*:A", "the ISA declares a letter, digit, space or non-ASCII character as a delimiter"),
    ],
)  # fmt: skip
def test_unreadable_input_raises_one_typed_error_with_a_specific_reason(
    data: bytes, reason: str
) -> None:
    with pytest.raises(UnreadableX12) as raised:
        records(data)
    assert raised.value.reason == reason


def test_reader_closes_its_stream_as_a_context_manager() -> None:
    stream = io.BytesIO((SAMPLES / "834_5members.834").read_bytes())
    with SegmentReader(stream) as reader:
        assert sum(1 for _ in reader) == 108
    assert stream.closed


class _Endless(io.RawIOBase):
    """``head``, then ``size`` bytes of ``filler`` made on the fly, then ``tail``."""

    def __init__(self, head: bytes, filler: bytes, size: int, tail: bytes = b"") -> None:
        self._parts = [head, *([filler] * (size // len(filler))), tail]

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._parts.pop(0) if self._parts else b""


HOSTILE_ISA = (
    b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    b"*240115*1200*^*00501*000000001*0*T*:~"
)


@pytest.mark.parametrize("shape", ["no terminator at all", "one 64 MB segment"])
def test_overlong_segments_are_skipped_in_bounded_memory(shape: str) -> None:
    import tracemalloc

    body = b"GS*BE*S*R*20240115*1200*1*X*005010X220A1~ST*834*0001*005010X220A1~NM1*IL*1*"
    tail = b"" if shape.startswith("no") else b"~SE*3*0001~GE*1*1~IEA*1*000000001~"
    stream = _Endless(HOSTILE_ISA + body, b"X" * (1 << 20), 64 << 20, tail)
    tracemalloc.start()
    try:
        found = list(read_x12(stream))  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20  # without the bound: several times the 64 MB
    (skipped,) = [f for f in of_type(found, Finding) if f.code == "segment_too_long"]
    assert (skipped.severity, skipped.transaction_control) == ("fatal", "0001")
    if tail:
        assert of_type(found, InterchangeEnd)[0].declared_groups == "1"
