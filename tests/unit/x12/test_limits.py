"""Every reader holds a bounded amount whatever a file holds (``acktrack.x12.limits``): what
goes over a bound is a fatal finding (the functions quarantine the file), never memory.

Memory is measured with tracemalloc on files written to disk (the reader's own allocations
only); the bounds are scaled down where the code takes them, so each file stays small."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from acktrack.domain.identifiers import clip
from acktrack.domain.index import index_file
from acktrack.synthetic.hostile import CANARY, write_hostile
from acktrack.x12 import (
    Finding,
    GroupAcknowledgment,
    GroupHeader,
    MemberTransaction,
    TransactionHeader,
    read_x12,
)
from acktrack.x12 import limits as x12_limits
from acktrack.x12.limits import Limits
from acktrack.x12.ranges import plan_parts
from tests.support import of_type

ISA = (
    b"ISA*00*          *00*          *ZZ*HEALTHPLAN01   *ZZ*ACKTRACKEXCH   "
    b"*240115*1200*^*00501*000000001*0*P*:~"
)
GS = b"GS*BE*HEALTHPLAN01*ACKTRACKEXCH*20240115*1200*1*X*005010X220A1~"
ST = b"ST*834*0001*005010X220A1~BGN*00*1*20240115*1200****2~N1*IN*PLAN*FI*2~"
MEMBER = b"INS*Y*18*021*28*A~REF*0F*%09d~NM1*IL*1*DOE*JANE~DMG*D8*19800101*F~HD*021**HLT~"


def _834(
    body: bytes, members_before: int = 2, members_after: int = 2, header: bytes = b""
) -> bytes:
    """One 834 set: ``header`` segments, members, ``body`` (whole segments), members, with a
    correct SE01."""
    before = b"".join(MEMBER % number for number in range(members_before))
    after = b"".join(MEMBER % (100 + number) for number in range(members_after))
    inside = ST + header + before + body + after
    count = inside.count(b"~") + 1
    return ISA + GS + inside + b"SE*%d*0001~GE*1*1~IEA*1*000000001~" % count


def _peak(work: Callable[[], Any]) -> tuple[Any, int]:
    """What ``work`` returns, and the peak of what Python allocated meanwhile."""
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _read(path: Path, **options: Any) -> list[Any]:
    with path.open("rb") as stream:
        return list(read_x12(stream, **options))


def _fatal(found: list[Any]) -> list[str]:
    return [f.code for f in of_type(found, Finding) if f.severity == "fatal"]


@pytest.fixture
def scaled(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Scale the readers' limits down (as the functions would read them)."""

    def scale(**changes: int) -> None:
        monkeypatch.setattr(x12_limits, "LIMITS", Limits(**changes))

    yield scale


# -- one segment -------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [4096, 7000, 1 << 20])
def test_a_segment_over_the_limit_is_refused_wherever_a_read_cuts_its_blocks(
    chunk_size: int,
) -> None:
    """A 6,001-byte segment with a 6,000-byte limit, and one of exactly 6,000 bytes: the
    first is skipped with a fatal finding whatever the chunk size (a read of 1 MiB holds it
    whole inside one block), the second is read."""
    limits = Limits(segment_bytes=6000)
    too_long = b"REF*0F*" + b"9" * (6001 - 7) + b"~"  # 6,001 bytes and its terminator
    at_limit = b"REF*0F*" + b"8" * (6000 - 7) + b"~"
    ins, name = b"INS*Y*18*021*28*A~", b"NM1*IL*1*DOE*JANE~HD*021**HLT~"
    data = _834(ins + too_long + name + ins + at_limit + name)
    found = list(read_x12(io.BytesIO(data), chunk_size=chunk_size, limits=limits))
    (skipped,) = [f for f in of_type(found, Finding) if f.code == "segment_too_long"]
    assert (skipped.severity, skipped.transaction_control) == ("fatal", "0001")
    assert skipped.detail == (
        f"a segment of more than 6,000 bytes at byte {data.index(too_long):,} was skipped"
    )
    kept = [m.subscriber_id for m in of_type(found, MemberTransaction)]
    assert kept.count("8" * (6000 - 7)) == 1  # the segment at the limit is read


# -- one member ---------------------------------------------------------------------------


@pytest.mark.parametrize("members", [False, True], ids=["pass 1", "members"])
def test_a_member_too_long_to_hold_is_refused_and_counted_not_held(
    tmp_path: Path, members: bool
) -> None:
    """8 MB of 5-byte segments inside one INS loop (1 MiB allowed): held whole, the member
    took about sixteen times the file (tiny segments split into strings); counted, it takes
    a batch. The members around it are read and the SE count still agrees."""
    path = tmp_path / "tiny.834"
    path.write_bytes(_834(MEMBER % 5 + b"LX*1~" * ((8 << 20) // 5)))
    found, peak = _peak(lambda: _read(path, members=members))
    assert peak < 16 << 20  # held, it was over 100 MB
    assert _fatal(found) == ["loop_too_long"]
    (refused,) = [f for f in of_type(found, Finding) if f.code == "loop_too_long"]
    assert (refused.member_ordinal, refused.segment_position) == (3, 3 + 2 * 5 + 1)
    assert not [f for f in of_type(found, Finding) if (f.scheme, f.code) == ("IK5", "4")]
    if members:
        ordinals = [m.ordinal for m in of_type(found, MemberTransaction)]
        assert ordinals == [1, 2, 4, 5]


def test_a_set_header_too_long_to_be_one_is_refused(tmp_path: Path) -> None:
    """Millions of tiny segments before the first INS are read one by one (Python work per
    segment: minutes for a large file); past 16 KiB they are counted only."""
    path = tmp_path / "header.834"
    path.write_bytes(_834(b"", header=b"N1~" * 100_000))
    found = _read(path, members=False)
    assert _fatal(found) == ["header_too_long"]
    assert not [f for f in of_type(found, Finding) if (f.scheme, f.code) == ("IK5", "4")]


# -- what is kept for the whole file --------------------------------------------------------


def test_values_kept_for_the_whole_file_are_clipped_as_the_store_clips_them(
    tmp_path: Path,
) -> None:
    """40 IK4s with 500 KB bad values (each segment under the limit): kept whole, 20 MB of
    a 999 stayed in memory; kept at 99 characters with a hash of the whole value, two long
    values stay apart and clip further as the store clips them."""
    values = [bytes([65 + n % 26]) * 500_000 + b"%d" % n for n in range(40)]
    control = b"7" * 2000
    body = b"".join(b"IK3*NM1*4**8~IK4*3*66*6*" + value + b"~" for value in values)
    data = (
        ISA + b"GS*FA*HEALTHPLAN01*ACKTRACKEXCH*20240115*1200*" + control + b"*X*005010X231A1~"
        b"ST*999*0001*005010X231A1~AK1*BE*1*005010X220A1~AK2*834*" + control + b"~" + body
        + b"IK5*R*5~AK9*R*1*1*0~SE*9*0001~GE*1*" + control + b"~IEA*1*000000001~"
    )  # fmt: skip
    path = tmp_path / "long.999"
    path.write_bytes(data)
    found, peak = _peak(lambda: _read(path))
    assert peak < 8 << 20
    (ack,) = of_type(found, GroupAcknowledgment)
    errors = [e.bad_value for s in ack.sets[0].segment_errors for e in s.element_errors]
    whole = [value.decode() for value in values]
    assert errors == [clip(value, 99) for value in whole]
    assert len(set(errors)) == 40 and all(len(value) == 99 for value in errors)
    (group,) = of_type(found, GroupHeader)
    assert group.control == ack.sets[0].control == clip(control.decode(), 99)
    assert not [f for f in of_type(found, Finding) if (f.scheme, f.code) == ("AK9", "4")]


def _sets(count: int) -> bytes:
    sets = b"".join(b"ST*834*%04d*005010X220A1~SE*2*%04d~" % (n, n) for n in range(1, count + 1))
    return ISA + GS + sets + b"GE*%d*1~IEA*1*000000001~" % count


def _loops(count: int) -> bytes:
    loops = b"".join(b"AK2*834*%04d~IK5*A~" % n for n in range(1, count + 1))
    return (
        ISA + b"GS*FA*HEALTHPLAN01*ACKTRACKEXCH*20240115*1200*1*X*005010X231A1~"
        b"ST*999*0001*005010X231A1~AK1*BE*1*005010X220A1~" + loops
        + b"AK9*A*%d*%d*%d~SE*9*0001~GE*1*1~IEA*1*000000001~" % (count, count, count)
    )  # fmt: skip


def _stray(count: int) -> bytes:
    return ISA + GS + b"A~" * count + b"GE*0*1~IEA*1*000000001~"


@pytest.mark.parametrize("shape", [_sets, _loops, _stray], ids=["sets", "999 loops", "stray"])
def test_a_file_holding_more_than_a_reader_keeps_is_refused_there(
    scaled: Callable[..., None], shape: Callable[[int], bytes]
) -> None:
    """With 200 structures allowed: 150 sets, 999 loops or stray segments are read; 1,000
    are refused at the 200th, and nothing past it is read (the index keeps O(sets) and a
    999 its loops: millions of them took gigabytes, stray ones minutes)."""
    scaled(structures=200)
    assert _fatal(list(read_x12(io.BytesIO(shape(150))))) == []
    found = list(read_x12(io.BytesIO(shape(1000))))
    assert _fatal(found) == ["too_many_structures"]
    assert len(of_type(found, TransactionHeader)) <= 200
    assert sum(len(ack.sets) for ack in of_type(found, GroupAcknowledgment)) <= 200
    index = index_file(io.BytesIO(shape(1000)))
    assert [f.code for f in index.fatal] == ["too_many_structures"]
    assert sum(len(interchange.sets) for interchange in index.interchanges) <= 200


# -- the part planner --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["no_terminator", "one_segment", "huge_isa", "delimiters_change"])
def test_the_part_planner_holds_no_more_than_a_segment(tmp_path: Path, shape: str) -> None:
    """32 MB shaped to be held: the planner read until it found a terminator or the end,
    holding all of it (635 MB for a 300 MB segment); now it stops cutting there. An ISA
    with another element separator (delimiters that change) stops the cuts too: they were
    made with the first interchange's delimiters in the second's bytes."""
    path = tmp_path / f"{shape}.x12"
    with path.open("wb") as out:
        write_hostile(shape, out, 32 << 20)
    if shape == "huge_isa":  # a second interchange's ISA: the first one starts the file
        data = path.read_bytes()
        path.write_bytes(_834(b"") + data)

    def plan() -> int:
        with path.open("rb") as stream:
            return len(plan_parts(stream, path.stat().st_size, 4 << 20))

    ranges, peak = _peak(plan)
    assert peak < 8 << 20
    assert ranges == 1


def test_a_set_header_too_long_to_copy_is_not_cut(tmp_path: Path) -> None:
    """Each cut copies its set's header into a part order (an SQS message): a set whose
    header is over ``header_bytes`` is read in one part."""
    members = b"".join(MEMBER % number for number in range(2000))
    normal = _834(members, 0, 0)
    long = normal.replace(ST, ST + b"N1*P5*" + CANARY * 2000 + b"~")
    assert len(plan_parts(io.BytesIO(normal), len(normal), len(normal) // 4)) > 1
    assert len(plan_parts(io.BytesIO(long), len(long), len(long) // 4)) == 1
