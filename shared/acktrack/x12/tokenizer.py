"""Streaming X12 tokenizer: binary stream in, batches of segment strings out.

Reads fixed-size chunks from any object with ``read(n)`` (a file, an S3
StreamingBody), so memory stays flat in file size. Each interchange declares its
own delimiters in its ISA; a file may hold several interchanges with different
delimiters. CR and LF are dropped (or, when one of them is the terminator, the
other is), and so is other whitespace between a terminator and the next segment id:
that is layout (indented lines, a space before the line break, padded records).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from acktrack.x12 import limits as x12_limits
from acktrack.x12.delimiters import ISA_LENGTH, Delimiters, parse_isa
from acktrack.x12.errors import UnreadableX12

DEFAULT_CHUNK_SIZE = 1 << 20
_WHITESPACE = b" \t\r\n\x0b\x0c"
_LAYOUT = b" \t\x0b\x0c"  # what may stand between a terminator and a segment id, after CR/LF
_END_PADDING = _WHITESPACE + b"\x1a\x00"  # what some systems leave after the last IEA
_BOM = b"\xef\xbb\xbf"
_ISA_PROBE = 512  # enough bytes to read a lenient (non-fixed-width) ISA

# Leading bytes of formats people drop by mistake, for a specific error.
_KNOWN_FORMATS = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"%PDF", "a PDF document"),
    (b"UNA", "an EDIFACT interchange"),
    (b"UNB", "an EDIFACT interchange"),
    (b"<?xml", "an XML document"),
    (b"{", "a JSON document"),
)


class Batch(NamedTuple):
    """Consecutive whole segments of one interchange, all framed by ``delimiters``.

    ``text`` is decoded, has line-break noise and empty segments removed, and ends
    with the segment terminator: ``SEG~SEG~...~``.
    """

    delimiters: Delimiters
    text: str
    offset: int  # byte offset in the stream where the first segment starts
    raw: bytes  # the batch's bytes with CR/LF noise removed, for content digests
    starts_interchange: bool  # the first segment is an ISA
    isa_fixed_width: bool
    layout_whitespace: bool = False  # whitespace between segments was skipped

    @property
    def segments(self) -> list[str]:
        return self.text[:-1].split(self.delimiters.segment) if self.text else []


class Segment(NamedTuple):
    """One segment split into elements; ``elements[0]`` is the segment id."""

    id: str
    elements: list[str]
    position: int  # 1-based count of segments in the stream


def _describe_non_x12(head: bytes) -> str:
    for magic, name in _KNOWN_FORMATS:
        if head.startswith(magic):
            return f"the file is {name}, not X12"
    if b"\x00" in head or sum(1 for b in head[:64] if b < 9 or 13 < b < 32) > 2:
        return "the file is binary, not X12 text"
    return "the file does not start with an ISA segment"


def _cleaner(terminator: bytes) -> tuple[bytes, ...]:
    """The line-break bytes to drop for this terminator."""
    if terminator == b"\n":
        return (b"\r",)
    if terminator == b"\r":
        return (b"\n",)
    return (b"\r", b"\n")


class _Layout(NamedTuple):
    """Whitespace that may follow a terminator, and how to find and remove it."""

    terminator: bytes
    spaces: bytes
    pattern: re.Pattern[bytes]

    @classmethod
    def of(cls, terminator: bytes) -> _Layout:
        spaces = bytes(byte for byte in _LAYOUT if bytes((byte,)) != terminator)
        pattern = re.compile(re.escape(terminator) + b"[" + re.escape(spaces) + b"]+")
        return cls(terminator, spaces, pattern)

    def strip(self, block: bytes) -> tuple[bytes, bool]:
        """``block`` without whitespace after its terminators (or at its start)."""
        stripped = block.lstrip(self.spaces)
        if self.pattern.search(stripped) is not None:  # one pass; most files have none
            stripped = self.pattern.sub(self.terminator, stripped)
        return stripped, len(stripped) != len(block)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class SegmentReader:
    """Yield X12 segments from a binary stream without holding the whole stream.

    Use as a context manager or iterate ``batches()`` (fast path: lists of segment
    strings) or the reader itself (convenience: ``Segment`` tuples). Raises
    ``UnreadableX12`` only when the stream does not begin with a readable ISA.
    After iteration, ``truncated`` tells whether the stream ended mid-segment and
    ``trailing`` describes anything after the last IEA that is not an interchange.
    """

    def __init__(
        self,
        stream: BinaryIO,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        *,
        resume: Delimiters | None = None,
        base_offset: int = 0,
        limits: x12_limits.Limits | None = None,
    ) -> None:
        """``resume``: the stream starts inside an interchange framed by these delimiters
        (a byte range cut on a member); ``base_offset`` is where the stream starts.
        ``limits.segment_bytes``: a longer run of bytes without a terminator is skipped
        and noted in ``overlong``, so memory does not follow a hostile file's size."""
        self._stream = stream
        self.max_segment = (limits or x12_limits.current()).segment_bytes
        self._chunk_size = max(chunk_size, 4096)
        self._resume = resume
        self._buffer = b""
        self._buffer_offset = base_offset
        self._eof = False
        self.truncated = False
        self.trailing: str | None = None
        self.bytes_read = 0
        self.interchanges = 0
        self.overlong: list[int] = []  # byte offsets of segments skipped as too long

    def __enter__(self) -> SegmentReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        close = getattr(self._stream, "close", None)
        if callable(close):
            close()

    def _fill(self, minimum: int) -> None:
        while len(self._buffer) < minimum and not self._eof:
            chunk = self._stream.read(self._chunk_size)
            if not chunk:
                self._eof = True
                break
            self.bytes_read += len(chunk)
            self._buffer += chunk

    def _skip_leading_noise(self, first: bool) -> None:
        """Drop a UTF-8 byte-order mark (first interchange only) and blank space."""
        while True:
            self._fill(_ISA_PROBE)
            if first and self._buffer.startswith(_BOM):
                self._consume(len(_BOM))
                first = False
                continue
            skipped = len(self._buffer) - len(self._buffer.lstrip(_WHITESPACE))
            if skipped == 0:
                return
            self._consume(skipped)
            if self._eof and not self._buffer:
                return

    def _consume(self, count: int) -> bytes:
        taken = self._buffer[:count]
        self._buffer = self._buffer[count:]
        self._buffer_offset += count
        return taken

    def _read_isa(self, first: bool) -> tuple[Delimiters, bool] | None:
        """Position the buffer on an ISA and return its delimiters, or None at the end."""
        self._skip_leading_noise(first)
        self._fill(_ISA_PROBE)
        if not self._buffer:
            if first:
                raise UnreadableX12("the file is empty")
            return None
        if not self._buffer.startswith(b"ISA"):
            if first:
                raise UnreadableX12(_describe_non_x12(self._buffer[:64]))
            if not self._only_end_padding():
                self.trailing = "data after the last IEA is not an interchange"
            return None
        probe = self._buffer[:_ISA_PROBE].decode("latin-1")
        try:
            _, delimiters, fixed = parse_isa(probe)
        except UnreadableX12:
            if first:
                raise
            self.trailing = "an interchange after the first has an unreadable ISA"
            return None
        if not fixed and ("\r" in probe[:ISA_LENGTH] or "\n" in probe[:ISA_LENGTH]):
            # Fixed-length records can break the ISA itself across lines.
            try:
                _, unbroken, fixed = parse_isa(probe.replace("\r", "").replace("\n", ""))
            except UnreadableX12:
                fixed = False
            if fixed and unbroken.segment not in "\r\n":
                delimiters = unbroken
            else:
                fixed = False
        return delimiters, fixed

    def _only_end_padding(self) -> bool:
        """True when all that is left is end-of-file padding (Ctrl-Z, NULs, whitespace)."""
        while not self._buffer.strip(_END_PADDING):
            if self._eof:
                return True
            self._consume(len(self._buffer))
            self._fill(_ISA_PROBE)
        return False

    def batches(self) -> Iterator[Batch]:
        first = True
        if self._resume is not None:
            first = False
            self.interchanges += 1
            yield from self._interchange_batches(self._resume, True, starts=False)
            if self.truncated:
                return
        while True:
            header = self._read_isa(first)
            if header is None:
                return
            first = False
            self.interchanges += 1
            delimiters, fixed = header
            yield from self._interchange_batches(delimiters, fixed)
            if self.truncated:
                return

    def _interchange_batches(
        self, delimiters: Delimiters, fixed: bool, *, starts: bool = True
    ) -> Iterator[Batch]:
        terminator = delimiters.segment.encode("latin-1")
        separator = delimiters.element.encode("latin-1")
        noise = _cleaner(terminator)
        layout = _Layout.of(terminator)
        iea_tag = b"IEA" + separator
        while True:
            end = self._buffer.rfind(terminator)
            while end < 0 and not self._eof:
                if len(self._buffer) > self.max_segment:
                    end = self._skip_overlong(terminator)
                    if end < 0:
                        break
                    starts = False
                    continue
                self._fill(len(self._buffer) + self._chunk_size)
                end = self._buffer.rfind(terminator)
            if end < 0:
                # End of stream without a terminator: the rest is an unfinished segment.
                rest = self._buffer.strip(_WHITESPACE)
                if len(rest) > self.max_segment:
                    self.overlong.append(self._buffer_offset)
                    self._consume(len(self._buffer))
                    self.truncated = True
                    return
                if rest:
                    self.truncated = True
                    offset = self._buffer_offset
                    self._consume(len(self._buffer))
                    yield self._make_batch(
                        delimiters, rest, offset, noise, layout, starts, fixed, final=True
                    )
                elif starts:
                    self.truncated = True
                return
            block_end = end + 1
            # Stop at the IEA so the next interchange is read with its own delimiters.
            iea_at = self._find_iea(iea_tag, terminator, block_end)
            closes = False
            if iea_at >= 0:
                iea_end = self._buffer.find(terminator, iea_at)
                if 0 <= iea_end < block_end:
                    block_end = iea_end + 1
                    closes = True
            # A segment over the limit that ends inside this block: what comes before it
            # is a batch, then it is skipped (the same segments are skipped wherever a
            # read happens to start or cut its blocks).
            long = self._overlong_in(terminator, block_end)
            if long is not None:
                start, stop = long
                if start == 0:
                    self.overlong.append(self._buffer_offset)
                    self._consume(stop + 1)
                    starts = False
                    continue
                block_end, closes = start, False
            offset = self._buffer_offset
            block = self._consume(block_end)
            yield self._make_batch(
                delimiters, block, offset, noise, layout, starts, fixed, final=False
            )
            starts = False
            if closes:
                return
            if self._eof and not self._buffer.strip(_WHITESPACE):
                return
            if not self._eof:
                self._fill(len(self._buffer) + self._chunk_size)

    def _skip_overlong(self, terminator: bytes) -> int:
        """Drop a segment longer than ``max_segment`` up to and with its terminator,
        noting where it started; memory stays bounded whatever the file holds. Returns the
        next terminator's index in the buffer, or -1 at the end of the stream."""
        self.overlong.append(self._buffer_offset)
        while True:
            at = self._buffer.find(terminator)
            if at >= 0:
                self._consume(at + 1)
                self._fill(self._chunk_size)
                return self._buffer.rfind(terminator)
            self._consume(len(self._buffer))
            if self._eof:
                self.truncated = True
                return -1
            self._fill(self._chunk_size)

    def _overlong_in(self, terminator: bytes, block_end: int) -> tuple[int, int] | None:
        """The first segment of ``buffer[:block_end]`` longer than ``max_segment``, as (its
        start, its terminator's index), or None. Looks only at windows of half the limit: a
        longer segment holds one of them whole (C-level searches, a few per block)."""
        limit = self.max_segment
        if block_end <= limit:
            return None
        buffer = self._buffer
        step = max(limit // 2, 1)
        for at in range(0, block_end - step + 1, step):
            if buffer.find(terminator, at, at + step) < 0:
                start = buffer.rfind(terminator, 0, at) + 1
                stop = buffer.find(terminator, at, block_end)
                if stop - start > limit:
                    return start, stop
        return None

    def _find_iea(self, tag: bytes, terminator: bytes, limit: int) -> int:
        """Index of the first IEA segment that starts before ``limit``, or -1."""
        buffer = self._buffer
        at = buffer.find(tag, 0, limit)
        while at >= 0:
            before = at
            while (
                before > 0
                and buffer[before - 1 : before] in _WHITESPACE
                and buffer[before - 1 : before] != terminator
            ):
                before -= 1
            if before == 0 or buffer[before - 1 : before] == terminator:
                return at
            at = buffer.find(tag, at + 1, limit)
        return -1

    @staticmethod
    def _make_batch(
        delimiters: Delimiters,
        block: bytes,
        offset: int,
        noise: tuple[bytes, ...],
        layout: _Layout,
        starts: bool,
        fixed: bool,
        *,
        final: bool,
    ) -> Batch:
        for byte in noise:
            if byte in block:
                block = block.replace(byte, b"")
        # A batch starts just after a terminator, so what leads it is layout too.
        block, spaced = layout.strip(block)
        terminator = delimiters.segment
        text = _decode(block)
        if final and not text.endswith(terminator):
            text += terminator
        doubled = terminator + terminator
        while doubled in text:
            text = text.replace(doubled, terminator)
        if text.startswith(terminator):
            text = text[1:]
        return Batch(delimiters, text, offset, block, starts, fixed, spaced)

    def __iter__(self) -> Iterator[Segment]:
        position = 0
        for batch in self.batches():
            separator = batch.delimiters.element
            for text in batch.segments:
                position += 1
                elements = text.split(separator)
                yield Segment(elements[0], elements, position)


def iter_segments(stream: BinaryIO, chunk_size: int = DEFAULT_CHUNK_SIZE) -> Iterator[Segment]:
    """Convenience: every segment of ``stream`` as a ``Segment``."""
    return iter(SegmentReader(stream, chunk_size))
