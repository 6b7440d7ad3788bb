"""One real public 834 written every way partners write it: each reads with the original's counts.

The base file is pyx12's 5010 example (``corpus/azoner__pyx12/834_deident_family.txt``):
its segments are laid out again with other line ends, whitespace, padding, a BOM,
several interchanges, and ISA11 values senders really use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from acktrack.x12 import Finding, read_x12
from acktrack.x12.delimiters import parse_isa
from tests.conformance.counting import Counts, acktrack_counts, pyx12_counts
from tests.support import of_type, records

BASE = Path(__file__).parent / "corpus" / "azoner__pyx12" / "834_deident_family.txt"


def _segments(data: bytes) -> tuple[list[bytes], bytes]:
    """The base file's segments (terminator kept) and its terminator."""
    text = data.decode("latin-1").lstrip()
    _, delimiters, _ = parse_isa(text[:200])
    terminator = delimiters.segment.encode("latin-1")
    pieces = [piece.strip(b" \t\r\n") for piece in data.split(terminator)]
    return [piece + terminator for piece in pieces if piece], terminator


SEGMENTS, TERMINATOR = _segments(BASE.read_bytes())


def joined(between: bytes = b"", before: Callable[[bytes], bytes] = lambda s: b"") -> bytes:
    return b"".join(before(segment) + segment + between for segment in SEGMENTS)


def padded(width: int = 80) -> bytes:
    return b"".join(segment.ljust(width) + b"\r\n" for segment in SEGMENTS)


def wrapped(width: int = 80) -> bytes:
    stream = joined()
    lines = [stream[at : at + width] for at in range(0, len(stream), width)]
    return b"\n".join(line.ljust(width) for line in lines) + b"\n"


def indented() -> bytes:
    depth = {b"ISA": 0, b"IEA": 0, b"GS": 2, b"GE": 2, b"ST": 4, b"SE": 4}

    def indent(segment: bytes) -> bytes:
        tag = segment.split(b"*", 1)[0]
        return b" " * depth.get(tag, 6)

    return joined(b"\n", indent)


def second_interchange(data: bytes) -> bytes:
    """The same interchange under another ISA13/IEA02."""
    control = SEGMENTS[0][90:99]
    other = b"%09d" % ((int(control) + 1) % 10**9)
    return data.replace(b"*" + control + TERMINATOR, b"*" + other + TERMINATOR).replace(
        b"*" + control + b"*", b"*" + other + b"*"
    )


def with_isa(version: bytes, isa11: bytes) -> bytes:
    isa = SEGMENTS[0]
    isa = isa[:82] + isa11 + isa[83:84] + version + isa[89:]
    return b"\n".join([isa, *SEGMENTS[1:]]) + b"\n"


LINE_ENDS = {
    "lf": lambda: joined(b"\n"),
    "crlf": lambda: joined(b"\r\n"),
    "cr-only": lambda: joined(b"\r"),
    "one-line": joined,
    "bom": lambda: b"\xef\xbb\xbf" + joined(b"\r\n"),
    "trailing-spaces": lambda: joined(b"   \n"),
    "tabs": lambda: joined(b"\t\r\n"),
    "indented": indented,
    "padded-80-byte-records": padded,
    "wrapped-80-byte-records": wrapped,
    "blank-lines": lambda: joined(b"\n\n"),
    "ctrl-z-after-iea": lambda: joined(b"\r\n") + b"\x1a",
}
ISA11 = {
    "00401-isa11-U": (b"00401", b"U"),
    "00401-isa11-space": (b"00401", b" "),
    "00501-isa11-U": (b"00501", b"U"),
    "00501-isa11-space": (b"00501", b" "),
    "00501-isa11-caret": (b"00501", b"^"),
}


def original() -> Counts:
    return acktrack_counts(BASE.read_bytes())


def errors(data: bytes) -> list[tuple[str, str]]:
    """Findings that say something is wrong (not how the file was laid out)."""
    return sorted(
        (f.scheme, f.code) for f in of_type(records(data), Finding) if f.severity != "notice"
    )


def test_the_base_file_is_a_real_834_with_members() -> None:
    counts = original()
    assert counts.sets == {"834": 1} and counts.members >= 3
    assert pyx12_counts(BASE.read_bytes()) == counts


@pytest.mark.parametrize("layout", sorted(LINE_ENDS))
def test_every_layout_reads_as_the_original(layout: str) -> None:
    data = LINE_ENDS[layout]()
    assert acktrack_counts(data) == original()
    assert errors(data) == errors(BASE.read_bytes())


@pytest.mark.parametrize("layout", sorted(LINE_ENDS))
def test_pyx12_agrees_wherever_it_reads(layout: str) -> None:
    data = LINE_ENDS[layout]()
    peer = pyx12_counts(data)
    if peer is not None:
        assert acktrack_counts(data) == peer


@pytest.mark.parametrize("between", [b"", b"\r\n"], ids=["no-newline", "newline"])
def test_two_interchanges_in_one_file(between: bytes) -> None:
    first = joined(between)
    data = first + second_interchange(first)
    counts = original()
    doubled = Counts(
        interchanges=2 * counts.interchanges,
        groups=2 * counts.groups,
        sets=counts.sets + counts.sets,
        members=2 * counts.members,
        ta1s=0,
    )
    assert acktrack_counts(data) == doubled
    assert errors(data) == sorted(errors(BASE.read_bytes()) * 2)


@pytest.mark.parametrize("case", sorted(ISA11))
def test_isa11_as_senders_write_it(case: str) -> None:
    version, isa11 = ISA11[case]
    data = with_isa(version, isa11)
    assert acktrack_counts(data) == original()
    (header,) = [
        r
        for r in read_x12(__import__("io").BytesIO(data))
        if type(r).__name__ == "InterchangeHeader"
    ]
    usable = version == b"00501" and isa11 == b"^"
    assert header.delimiters.repetition == ("^" if usable else None)
    warned = ("ACK", "repetition_separator") in errors(data)
    assert warned == (version == b"00501" and not usable)
