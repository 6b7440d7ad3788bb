"""Cut an 834 into byte ranges that start on a member (INS), with what a reader needs there.

A 100,000-member file is usually one transaction set, so splitting by set is not
enough: a range may start in the middle of a set. ``plan_ranges`` scans the bytes
(C-level searches and counts, no per-segment Python work) and records, for each cut,
the enclosing ISA/GS/ST segments, the set's header segments, and how many segments
and members of the set precede the cut. ``X12Reader(resume=...)`` starts there.

Used to parse on several cores (``acktrack.x12.parallel``) and to fan a large file
out over several Lambda invocations.

Memory stays flat whatever the file holds: the scan keeps at most one read beyond the
current segment. A segment longer than ``Limits.segment_bytes``, an envelope segment or a
set header longer than ``Limits.header_bytes`` (each cut copies them, and a part order
carries them) stops the cutting there; the readers refuse such a file on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, BinaryIO

from acktrack.x12.delimiters import Delimiters, parse_isa
from acktrack.x12.limits import Limits, current

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Everything needed to read members from ``offset`` without the bytes before it."""

    offset: int  # byte offset of the INS segment the range starts with
    delimiters: Delimiters
    isa: str  # the enclosing ISA segment's text (no terminator)
    gs: str | None  # the enclosing GS segment's text
    st: str  # the enclosing ST segment's text
    set_header: tuple[str, ...]  # the set's segments between ST and its first INS
    position: int  # segments of the set before ``offset`` (ST = 1)
    members: int  # INS loops of the set before ``offset``
    group_sets: int  # sets of the group so far, this one included
    interchange_groups: int  # groups of the interchange so far, this one included
    interchange_sequence: int  # 1 for the first interchange of the stream

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (a fan-out message carries it to another invocation)."""
        data = {name: getattr(self, name) for name in self.__slots__}
        data["delimiters"] = list(self.delimiters)
        data["set_header"] = list(self.set_header)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResumePoint:
        values = dict(data)
        values["delimiters"] = Delimiters(*values["delimiters"])
        values["set_header"] = tuple(values["set_header"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int | None  # where the next range starts (exclusive); None: to the end of the stream
    resume: ResumePoint | None  # None: the range starts at the top of the stream


_LAYOUT = b" \t\r\n\x0b\x0c"  # whitespace that may stand between segments
_LAYOUT_TEXT = _LAYOUT.decode("ascii")


class _TooLong(Exception):
    """A segment or set header longer than the planner holds: no cut from there on."""


class _Scan:
    """Sequential byte scan that follows the envelope and counts segments and members."""

    def __init__(
        self, stream: BinaryIO, delimiters: Delimiters, subscribers_only: bool, limits: Limits
    ) -> None:
        self.stream = stream
        self.max_segment = limits.segment_bytes
        self.max_header = limits.header_bytes
        self.max_envelopes = limits.structures
        term = delimiters.segment.encode("latin-1")
        sep = delimiters.element.encode("latin-1")
        self.delimiters = delimiters
        self.term, self.sep = term, sep
        tags = b"|".join(re.escape(tag + sep) for tag in (b"IEA", b"GS", b"GE", b"ST", b"SE"))
        # An ISA with any element separator: one that declares other delimiters stops the cuts.
        tags += rb"|ISA[^0-9A-Za-z ]"
        # Line breaks, indentation and padding may stand between segments (layout).
        space = rb"[" + re.escape(bytes(b for b in _LAYOUT if bytes((b,)) != term)) + rb"]*"
        self.envelope = re.compile(re.escape(term) + space + rb"(" + tags + rb")")
        self.member = re.compile(re.escape(term) + space + rb"INS" + re.escape(sep))
        # Where a range may start: any member, or a subscriber only (a family stays whole).
        self.cut = (
            re.compile(re.escape(term) + space + rb"INS" + re.escape(sep + b"Y" + sep))
            if subscribers_only
            else self.member
        )
        self.ins = term + b"INS" + sep
        self.data = b""
        self.base = 0  # stream offset of data[0]
        self.eof = False

    def fill(self, upto: int) -> bool:
        """Make data reach stream offset ``upto`` (or the end). False at the end."""
        while self.base + len(self.data) < upto and not self.eof:
            chunk = self.stream.read(_CHUNK)
            if not chunk:
                self.eof = True
                break
            self.data += chunk
        return self.base + len(self.data) >= upto

    def drop_before(self, offset: int) -> None:
        """Forget the bytes before ``offset`` (by the quarter chunk: copying the rest for
        each of many small envelope segments would cost more than keeping them)."""
        cut = offset - self.base
        if cut >= _CHUNK // 4:
            self.data = self.data[cut:]
            self.base = offset

    def segment_text(self, offset: int) -> str:
        """The envelope segment starting at stream ``offset``, without its terminator.
        Raises ``_TooLong`` past ``max_header`` bytes (a cut copies it)."""
        start = offset - self.base
        while True:
            end = self.data.find(self.term, start, start + self.max_header + 1)
            if end >= 0 or len(self.data) - start > self.max_header:
                break
            if not self.fill(self.base + len(self.data) + _CHUNK):
                break
        if end < 0 and len(self.data) - start > self.max_header:
            raise _TooLong
        stop = end if end >= 0 else len(self.data)
        return self.data[start:stop].decode("utf-8", "replace")

    def check_tail(self, after: int) -> None:
        """Raise ``_TooLong`` when the data after stream offset ``after`` (the last
        terminator) is one segment longer than ``max_segment``: it is not held further."""
        if len(self.data) - (after - self.base) > self.max_segment:
            raise _TooLong

    def count_between(self, start: int, end: int) -> tuple[int, int]:
        """(segment terminators, INS segments) in stream bytes [start, end)."""
        region = self.data[start - self.base : end - self.base]
        members = region.count(self.ins)
        if region.count(self.ins[1:]) != members:
            members = len(self.member.findall(region))  # layout between segments
        return region.count(self.term), members


def _skip_noise(data: bytes, at: int) -> int:
    while at < len(data) and data[at] in _LAYOUT:
        at += 1
    return at


def targets_for(size: int, parts: int, first_share: float = 0.5) -> list[int]:
    """Byte offsets to cut near: the first range takes ``first_share`` of the file."""
    share = (1 - first_share) / (parts - 1) if parts > 1 else 0
    return [int(size * (first_share + share * index)) for index in range(parts - 1)]


def plan_ranges(
    stream: BinaryIO,
    size: int,
    parts: int,
    *,
    first_share: float = 0.5,
    limits: Limits | None = None,
) -> list[ByteRange]:
    """Split ``stream`` (``size`` bytes, positioned at 0) into up to ``parts`` ranges.

    Returns a single range when the file cannot be split (too few members,
    line-break terminators, cuts outside 834 bodies).
    """
    targets = targets_for(size, parts, first_share)
    cuts = plan_cuts(stream, targets, limits=limits) if parts > 1 else []
    if not cuts:
        return [ByteRange(0, None, None)]
    unique = {cut.offset: cut for cut in cuts}  # two targets may meet at one member
    cuts = sorted(unique.values(), key=lambda cut: cut.offset)
    ranges = [ByteRange(0, cuts[0].offset, None)]
    for index, cut in enumerate(cuts):
        end = cuts[index + 1].offset if index + 1 < len(cuts) else None
        ranges.append(ByteRange(cut.offset, end, cut))
    return ranges


def member_targets(stream: BinaryIO, members_per_part: int) -> list[int]:
    """Byte offsets about ``members_per_part`` members apart, for ``plan_parts`` to cut near:
    a part's work follows its members, whatever their bytes. INS segments are counted a
    read at a time (C-level counts) and the offset interpolated within the read, so the
    parts are about, not exactly, that size; memory stays one read. ``stream`` at 0."""
    head = stream.read(512)
    stripped = head.lstrip()
    if members_per_part < 1 or not stripped.startswith(b"ISA"):
        return []
    try:
        _, delimiters, _ = parse_isa(stripped.decode("latin-1"))
    except ValueError:
        return []
    scan = _Scan(stream, delimiters, True, current())
    keep = len(scan.ins) - 1 + 64  # a needle (and some layout) across two reads
    targets: list[int] = []
    counted, wanted, base, data = 0, members_per_part, 0, head
    while True:
        chunk = stream.read(_CHUNK)
        region = data + chunk
        # Needles starting before ``split`` are counted with this read (whole: the region
        # holds ``keep`` bytes past it); the rest, from ``split`` on, go with the next.
        split = len(region) - keep if chunk else len(region)
        found = _starting_before(scan, region, max(split, 0))
        while found and counted + found >= wanted:
            targets.append(base + max(split, 0) * (wanted - counted) // found)
            wanted += members_per_part
        counted += found
        if not chunk:
            return targets
        data, base = region[max(split, 0) :], base + max(split, 0)


def _starting_before(scan: _Scan, region: bytes, split: int) -> int:
    """INS segments whose terminator-and-tag needle starts before ``split`` in ``region``."""
    found = region.count(scan.ins, 0, split + len(scan.ins) - 1)
    if region.count(scan.ins[1:], 0, split + len(scan.ins) - 2) == found:
        return found
    return sum(1 for match in scan.member.finditer(region) if match.start() < split)  # layout


def plan_parts(
    stream: BinaryIO,
    size: int,
    part_bytes: int,
    *,
    limits: Limits | None = None,
    more_targets: list[int] | None = None,
) -> list[ByteRange]:
    """Ranges of about ``part_bytes`` each (and cut near ``more_targets`` too: see
    ``member_targets``), every one starting on a subscriber, so that a family (a subscriber
    and the dependents after it) is never split between two ranges."""
    by_bytes = range(part_bytes, size, part_bytes) if part_bytes > 0 else range(0)
    targets = sorted({*by_bytes, *(t for t in more_targets or () if 0 < t < size)})
    cuts = plan_cuts(stream, targets, subscribers_only=True, limits=limits) if targets else []
    unique = sorted({cut.offset: cut for cut in cuts}.values(), key=lambda cut: cut.offset)
    if not unique:
        return [ByteRange(0, None, None)]
    ranges = [ByteRange(0, unique[0].offset, None)]
    for index, cut in enumerate(unique):
        end = unique[index + 1].offset if index + 1 < len(unique) else None
        ranges.append(ByteRange(cut.offset, end, cut))
    return ranges


def plan_cuts(
    stream: BinaryIO,
    targets: list[int],
    *,
    subscribers_only: bool = False,
    limits: Limits | None = None,
) -> list[ResumePoint]:
    """The first member (``subscribers_only``: subscriber) at or after each target offset,
    with its resume context.

    ``stream`` is positioned at 0 and read up to the last cut only. Memory stays
    flat: counts since the current ST are kept as numbers, not bytes. A target with
    no member after it in the same 834 body gives no cut; neither does a target after
    a segment or envelope segment longer than ``limits`` allow (nothing is cut from
    there on), nor one in a set whose header is longer than ``limits.header_bytes``.
    Deterministic: the same bytes and targets give the same cuts, so independent
    workers agree on them.
    """
    head = stream.read(512)
    stripped = head.lstrip()
    if not targets or not stripped.startswith(b"ISA"):
        return []
    try:
        _, delimiters, _ = parse_isa(stripped.decode("latin-1"))
    except ValueError:
        return []
    if delimiters.segment in "\r\n":
        return []
    scan = _Scan(stream, delimiters, subscribers_only, limits or current())
    scan.data = head
    targets = sorted(targets)
    cuts: list[ResumePoint] = []
    lead = len(head) - len(stripped)
    isa: str | None = head[lead : head.find(delimiters.segment.encode("latin-1"), lead)].decode(
        "latin-1"
    )
    gs: str | None = None
    st: str | None = None
    set_header: tuple[str, ...] = ()
    in_body = False  # between an 834's first INS and its SE
    group_sets = interchange_groups = 0
    interchange_sequence = 1
    cursor = lead + 1  # envelope segments before this offset are handled
    counted_from = 0  # segments and members of the set before this offset are counted
    segments = members = 0
    envelopes = 0  # envelope segments met

    def count_to(offset: int) -> None:
        nonlocal counted_from, segments, members
        if offset > counted_from:
            more_segments, more_members = scan.count_between(counted_from, offset)
            segments += more_segments
            members += more_members
            counted_from = offset

    try:
        while targets:
            scan.fill(cursor + _CHUNK)
            match = scan.envelope.search(scan.data, cursor - scan.base)
            if match is None:
                if scan.eof:
                    break
                # Stop just before the last terminator so no needle is split between reads.
                last = scan.data.rfind(scan.term)
                scan.check_tail(max(scan.base + last + 1, cursor) if last >= 0 else cursor)
                limit = scan.base + max(last, 0)
            else:
                limit = scan.base + match.start()
            # A target outside an 834 body waits for the next body's first member.
            while targets and targets[0] < limit and in_body and st is not None and isa is not None:
                found = scan.cut.search(
                    scan.data, max(targets[0], cursor) - scan.base, limit - scan.base
                )
                if found is None:
                    break
                targets.pop(0)
                # Count up to the terminator before the INS (regions always end before a
                # terminator, so every INS needle is counted once); the segment it ends is
                # the last one before the cut.
                count_to(scan.base + found.start())
                offset = scan.base + _skip_noise(scan.data, found.start() + 1)
                cuts.append(
                    ResumePoint(
                        offset=offset,
                        delimiters=delimiters,
                        isa=isa,
                        gs=gs,
                        st=st,
                        set_header=set_header,
                        position=segments + 1,
                        members=members,
                        group_sets=group_sets,
                        interchange_groups=interchange_groups,
                        interchange_sequence=interchange_sequence,
                    )
                )
            if in_body:
                count_to(limit)
            if match is None:
                cursor = counted_from = max(limit, cursor)
                scan.drop_before(cursor)
                if not scan.fill(scan.base + len(scan.data) + _CHUNK):
                    break
                continue
            envelopes += 1
            if envelopes > scan.max_envelopes:
                break  # more than a file may hold: the readers refuse it
            boundary = scan.base + _skip_noise(scan.data, match.start() + 1)
            tag = scan.data[boundary - scan.base : boundary - scan.base + 3].rstrip(scan.sep)
            cursor = boundary
            if tag == b"ISA":
                isa = scan.segment_text(boundary)
                try:
                    if parse_isa(isa + delimiters.segment)[1] != delimiters:
                        break  # new delimiters: stop cutting; the readers re-sync on their own
                except ValueError:
                    break
                interchange_sequence += 1
                interchange_groups = 0
                in_body = False
            elif tag == b"GS":
                gs = scan.segment_text(boundary)
                interchange_groups += 1
                group_sets = 0
                in_body = False
            elif tag == b"ST":
                st = scan.segment_text(boundary)
                group_sets += 1
                segments = members = 0
                counted_from = boundary
                first = None
                if st.startswith("ST" + delimiters.element + "834"):
                    scan.fill(boundary + _CHUNK)  # an 834 header is a few segments long
                    # Its first member, before the next envelope segment and within the
                    # header limit (a longer header is not copied into cuts: not cut here).
                    start = boundary - scan.base
                    window = start + 1 + scan.max_header
                    ends = scan.envelope.search(scan.data, start + 1, window)
                    stop = ends.start() + 1 if ends is not None else window
                    first = scan.member.search(scan.data, start, stop)
                in_body = first is not None
                if in_body and first is not None:
                    header = scan.data[boundary - scan.base : first.start()].decode(
                        "utf-8", "replace"
                    )
                    header = header.replace("\r", "").replace("\n", "")
                    set_header = tuple(
                        text.lstrip(_LAYOUT_TEXT) for text in header.split(delimiters.segment)[1:]
                    )
            else:
                in_body = False
            cursor = boundary + 1
            scan.drop_before(min(cursor, counted_from) if in_body else cursor)
    except _TooLong:
        pass  # no cut from here on: the readers refuse what is too long
    return cuts
