"""The stream walk: one pass over a stream, typed records and findings out.

Set bodies are handed to their reader in bulk, up to the next envelope segment;
each envelope segment goes to ``Envelopes`` for its checks. Overlong segments,
layout whitespace and the stream's end are reported here, and so is a file that holds
more than ``Limits.structures``: reading stops there (``x12.limits``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from acktrack.x12 import codes
from acktrack.x12.delimiters import Delimiters
from acktrack.x12.envelope import Envelopes, new_digest
from acktrack.x12.findings import Finding
from acktrack.x12.limits import Budget, Limits, current
from acktrack.x12.ranges import ResumePoint
from acktrack.x12.records import Record
from acktrack.x12.tokenizer import DEFAULT_CHUNK_SIZE, SegmentReader

__all__ = ["Record", "X12Reader", "interchange_digests", "read_x12"]


class X12Reader:
    """Walk a binary stream of X12 and yield ``Record``s in stream order.

    ``members=False`` counts INS loops without building member records (a fast
    index pass); ``digest=True`` fills ``InterchangeEnd.digest`` with a content hash
    that ignores line breaks. Raises ``UnreadableX12`` only when the stream has no readable ISA
    at its start; everything else is reported as a ``Finding``. ``limits`` (default
    ``x12.limits.LIMITS``) bounds what it holds whatever the stream holds; what goes over
    them is a fatal finding.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        members: bool = True,
        digest: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        resume: ResumePoint | None = None,
        partial: bool | Callable[[], bool] = False,
        limits: Limits | None = None,
    ) -> None:
        """``resume``: ``stream`` starts on a member inside an 834 set (see ``ranges``).
        ``partial``: ``stream`` stops where another range starts, so what is still open
        at its end continues there and is not a missing trailer."""
        self.limits = limits or current()
        self._tokens = SegmentReader(
            stream,
            chunk_size,
            resume=resume.delimiters if resume else None,
            base_offset=resume.offset if resume else 0,
            limits=self.limits,
        )
        self._budget = Budget(self.limits.structures)
        self._envelopes = Envelopes(
            self._tokens, members=members, digest=digest, limits=self.limits, budget=self._budget
        )
        self._resume = resume
        self._partial = partial
        self.bytes_read = 0
        self._delimiters: Delimiters | None = None
        self._envelope_starts: tuple[str, ...] = ()
        self._envelope_search: re.Pattern[str] = re.compile("(?!)")
        # Once per file: a range that resumes mid-file leaves it to the file's first range.
        self._layout_noted = resume is not None
        self._overlong_seen = 0

    def __enter__(self) -> X12Reader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._tokens.__exit__(*exc_info)

    def __iter__(self) -> Iterator[Record]:
        return self.records()

    @property
    def structures(self) -> int:
        """What the reader has counted against ``Limits.structures`` so far."""
        return self._budget.used

    # -- finding envelope segments ----------------------------------------------------

    def _set_delimiters(self, delimiters: Delimiters) -> None:
        if delimiters == self._delimiters:
            return
        self._delimiters = delimiters
        self._envelopes.delimiters = delimiters
        term, sep = delimiters.segment, delimiters.element
        tags = (
            "ISA" + sep,
            "IEA" + sep,
            "TA1" + sep,
            "GS" + sep,
            "GE" + sep,
            "ST" + sep,
            "SE" + sep,
        )
        self._envelope_starts = tags
        # One literal-prefixed alternation: the regex engine skips to each terminator.
        self._envelope_search = re.compile(
            re.escape(term) + "(?:" + "|".join(re.escape(tag) for tag in tags) + ")"
        )

    def _next_envelope(self, text: str, position: int) -> int:
        """Start of the first envelope segment at or after ``position`` (or len(text))."""
        if text.startswith(self._envelope_starts, position):
            return position
        match = self._envelope_search.search(text, position)
        return match.start() + 1 if match else len(text)

    # -- the walk ---------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        tokens = self._tokens
        envelopes = self._envelopes
        budget = self._budget
        if self._resume is not None:
            self._set_delimiters(self._resume.delimiters)
            envelopes.resume(self._resume)
        for batch in tokens.batches():
            yield from self._overlong_findings()  # skipped just before this batch
            self._set_delimiters(batch.delimiters)
            envelopes.add_bytes(batch)
            text = batch.text
            term = batch.delimiters.segment
            separator = batch.delimiters.element
            size = len(text)
            position = 0
            while position < size:
                body = envelopes.body
                if body is not None:
                    # Hand the body everything up to the next envelope segment.
                    envelope = self._next_envelope(text, position)
                    if envelope > position:
                        envelopes.position += text.count(term, position, envelope)
                        yield from body.feed(text, position, envelope)
                        position = envelope
                        if budget.spent:
                            yield from self._stop()
                            return
                        if position >= size:
                            break
                end = text.find(term, position)
                segment = text[position:end]
                position = end + 1
                envelopes.position += 1
                yield from envelopes.segment(segment.split(separator), batch)
                if budget.spent:
                    yield from self._stop()
                    return
            if batch.layout_whitespace and not self._layout_noted:
                self._layout_noted = True
                yield Finding(
                    scheme="ACK",
                    code=codes.LAYOUT_WHITESPACE,
                    severity="notice",
                    detail="indentation, spaces before line breaks or padded records were skipped",
                )  # once per file, so it names no interchange
        yield from self._end_of_stream()
        self.bytes_read = tokens.bytes_read

    def _overlong_findings(self) -> Iterator[Finding]:
        skipped = self._tokens.overlong
        envelopes = self._envelopes
        while self._overlong_seen < len(skipped):
            offset = skipped[self._overlong_seen]
            self._overlong_seen += 1
            yield envelopes.finding(
                "ACK",
                codes.SEGMENT_TOO_LONG,
                f"a segment of more than {self.limits.segment_bytes:,} bytes at byte {offset:,} "
                "was skipped",
                severity="fatal",
                level=self._level(),
            )

    def _level(self) -> str:
        envelopes = self._envelopes
        return "set" if envelopes.transaction else "group" if envelopes.group else "interchange"

    def _stop(self) -> Iterator[Record]:
        """The file holds more than the reader keeps: say so once, and read no further."""
        yield from self._overlong_findings()
        yield self._envelopes.finding(
            "ACK",
            codes.TOO_MANY_STRUCTURES,
            f"more than {self.limits.structures:,} interchanges, groups, transaction sets, "
            "acknowledgment loops and findings; the rest of the file was not read",
            severity="fatal",
            level=self._level(),
        )
        self.bytes_read = self._tokens.bytes_read

    def _end_of_stream(self) -> Iterator[Record]:
        tokens = self._tokens
        envelopes = self._envelopes
        yield from self._overlong_findings()
        if self._partial() if callable(self._partial) else self._partial:
            # The rest of the set is another range's: emit the last member, nothing else.
            if envelopes.body is not None:
                yield from envelopes.body.flush()
            return
        if envelopes.interchange is not None:
            yield from envelopes.close_interchange("the file ended early", "023")
        yield from envelopes.stray_summary()
        if tokens.trailing:
            yield Finding(
                scheme="TA1", code="024", severity="error", detail=tokens.trailing, segment_id=None
            )


def interchange_digests(stream: BinaryIO) -> list[tuple[str, int]]:
    """(``InterchangeEnd.digest``, ``byte_length``) of each interchange in ``stream``, from
    the tokenizer alone (for readers that each saw part of an interchange). A file with an
    interchange that lacks its IEA before the next ISA gives fewer than the reader's ends;
    one with more interchanges than ``Limits.structures`` gives none (the reader stops it)."""
    found: list[tuple[str, int]] = []
    digest: Any = None
    size = 0
    most = current().structures
    for batch in SegmentReader(stream).batches():
        if batch.starts_interchange:
            if len(found) >= most:
                return []
            if digest is not None:
                found.append((digest.hexdigest(), size))
            digest, size = new_digest(), 0
        if digest is not None:
            digest.update(batch.raw)
            size += len(batch.raw)
    if digest is not None:
        found.append((digest.hexdigest(), size))
    return found


def read_x12(
    stream: BinaryIO,
    *,
    members: bool = True,
    digest: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    limits: Limits | None = None,
) -> Iterator[Record]:
    """Every record of ``stream`` in order. See ``X12Reader``."""
    return X12Reader(
        stream, members=members, digest=digest, chunk_size=chunk_size, limits=limits
    ).records()
