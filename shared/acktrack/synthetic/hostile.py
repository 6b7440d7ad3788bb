"""Hostile files: shapes made to exhaust a reader (one huge segment, no terminator, a huge
ISA, millions of tiny segments, sets or acknowledgment loops, huge 999 elements, binary
garbage, delimiters that change mid-way), at any size, written as they are made.

``benchmarks/hostile.py`` measures each path's memory on them at hundreds of MB; the tests
send small ones through the functions with the readers' limits scaled down. Every shape's
bulk repeats ``CANARY``, which no quarantine reason may quote.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import BinaryIO

from acktrack.x12.limits import current

MB = 1 << 20
CANARY = b"SMITHCANARY"  # in every shape's bulk: it must appear in no reason

ISA = (
    b"ISA*00*          *00*          *ZZ*HEALTHPLAN01   *ZZ*ACKTRACKEXCH   "
    b"*240115*1200*^*00501*000000001*0*P*:~"
)
GS_834 = b"GS*BE*HEALTHPLAN01*ACKTRACKEXCH*20240115*1200*1*X*005010X220A1~"
HEADER_834 = (
    GS_834 + b"ST*834*0001*005010X220A1~BGN*00*1*20240115*1200****2~N1*P5*S*FI*1~N1*IN*P*FI*2~"
)
MEMBER = (
    b"INS*Y*18*021*28*A~REF*0F*123456789~NM1*IL*1*" + CANARY + b"*JANE~DMG*D8*19800101*F~"
    b"HD*021**HLT*PLAN*IND~DTP*348*D8*20240101~"
)
TRAILER_834 = b"SE*3*0001~GE*1*1~IEA*1*000000001~"
HEADER_999 = (
    b"GS*FA*HEALTHPLAN01*ACKTRACKEXCH*20240115*1200*1*X*005010X231A1~"
    b"ST*999*0001*005010X231A1~AK1*BE*1*005010X220A1~"
)
TRAILER_999 = b"AK9*R*1*1*0~SE*9*0001~GE*1*1~IEA*1*000000001~"


def _repeat(out: BinaryIO, unit: bytes, size: int) -> None:
    """``unit`` repeated to about ``size`` bytes (at least once), a megabyte at a time."""
    block = unit * max(1, MB // len(unit))
    left = size
    while True:
        piece = block if left >= len(block) else unit * max(1, left // len(unit))
        out.write(piece)
        left -= len(piece)
        if left < len(unit):
            return


def _counted(out: BinaryIO, size: int, make: Callable[[int], bytes]) -> None:
    """Units numbered from 0 (``make`` of each, 10,000 at a time) up to about ``size`` bytes."""
    written = number = 0
    while written < size:
        units = max(1, min(10_000, (size - written) // len(make(number))))
        block = b"".join(make(number + index) for index in range(units))
        out.write(block)
        written += len(block)
        number += units


def _one_segment(out: BinaryIO, size: int) -> None:
    out.write(ISA + HEADER_834 + MEMBER * 500 + b"NM1*IL*1*")
    _repeat(out, CANARY, size)
    out.write(b"~" + MEMBER * 500 + TRAILER_834)


def _no_terminator(out: BinaryIO, size: int) -> None:
    out.write(ISA + GS_834[:-1])
    _repeat(out, b"*" + CANARY, size)


def _huge_isa(out: BinaryIO, size: int) -> None:
    out.write(b"ISA*00*")
    _repeat(out, CANARY + b" ", size)
    out.write(b"*00*          *ZZ*HEALTHPLAN01~")


def _tiny_segments(out: BinaryIO, size: int) -> None:
    out.write(ISA + HEADER_834 + MEMBER)
    _repeat(out, b"LX*1~", size)
    out.write(TRAILER_834)


def _tiny_header(out: BinaryIO, size: int) -> None:
    out.write(ISA + HEADER_834)
    _repeat(out, b"N1~", size)
    out.write(MEMBER + TRAILER_834)


def _tiny_stray(out: BinaryIO, size: int) -> None:
    out.write(ISA + GS_834)
    _repeat(out, b"A~", size)
    out.write(b"GE*0*1~IEA*1*000000001~")


def _tiny_sets(out: BinaryIO, size: int) -> None:
    out.write(ISA + GS_834)
    _counted(out, size, lambda n: b"ST*834*%09d~SE*2*%09d~" % (n, n))
    out.write(b"GE*1*1~IEA*1*000000001~")


def _huge_999_element(out: BinaryIO, size: int) -> None:
    out.write(ISA + HEADER_999 + b"AK2*834*0001~IK3*NM1*4**8~IK4*3*1035*6*")
    _repeat(out, CANARY, size)
    out.write(b"~IK5*R*5~" + TRAILER_999)


def _999_long_elements(out: BinaryIO, size: int) -> None:
    """IK4s whose bad value is just under the segment limit: read, each value clipped."""
    out.write(ISA + HEADER_999 + b"AK2*834*0001~IK3*NM1*4**8~")
    limit = current().segment_bytes
    value = (CANARY * (limit // len(CANARY) + 1))[: limit - 100]
    for _ in range(max(1, size // limit)):
        out.write(b"IK4*3*1035*6*" + value + b"~")
    out.write(b"IK5*R*5~" + TRAILER_999)


def _999_many_loops(out: BinaryIO, size: int) -> None:
    out.write(ISA + HEADER_999)
    _counted(out, size, lambda n: b"AK2*834*%09d~IK5*A~" % n)
    out.write(TRAILER_999)


def _garbage(out: BinaryIO, size: int) -> None:
    out.write(ISA + HEADER_834 + MEMBER * 10)
    rng = random.Random(2013)
    for start in range(0, max(size, 1), MB):
        out.write(rng.randbytes(min(MB, size - start) or 1))
    out.write(b"~" + TRAILER_834)


def _delimiters_change(out: BinaryIO, size: int) -> None:
    """A first interchange, then a second whose ISA declares `|` and `!` while its body
    goes on with `*` and `~`: to the second's delimiters, one segment to the end."""
    out.write(ISA + HEADER_834 + MEMBER * 100 + TRAILER_834)
    out.write(ISA.replace(b"*", b"|").replace(b"~", b"!"))
    _repeat(out, HEADER_834 + MEMBER * 1000, size)


# shape -> (what the file is, how it is written)
SHAPES: dict[str, tuple[str, Callable[[BinaryIO, int], None]]] = {
    "one_segment": ("one segment of the whole file, inside an 834", _one_segment),
    "no_terminator": ("no segment terminator after the ISA", _no_terminator),
    "huge_isa": ("an ISA whose elements run for the whole file", _huge_isa),
    "tiny_segments": ("millions of 5-byte segments in one member", _tiny_segments),
    "tiny_header": ("millions of 3-byte segments before the first INS", _tiny_header),
    "tiny_stray": ("millions of 2-byte segments outside any set", _tiny_stray),
    "tiny_sets": ("millions of empty 834 sets", _tiny_sets),
    "huge_999_element": ("a 999 whose IK404 is the whole file", _huge_999_element),
    "999_long_elements": ("a 999 of IK4s with 1 MB bad values", _999_long_elements),
    "999_many_loops": ("a 999 of millions of AK2 loops", _999_many_loops),
    "garbage": ("random bytes after an 834's first members", _garbage),
    "delimiters_change": ("delimiters that change mid-way", _delimiters_change),
}


def write_hostile(shape: str, out: BinaryIO, size: int) -> None:
    """Write ``shape`` (a key of ``SHAPES``) to ``out``, about ``size`` bytes."""
    SHAPES[shape][1](out, size)
