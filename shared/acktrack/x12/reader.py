"""The envelope walker: one pass over a stream, typed records and findings out.

ISA/IEA, GS/GE and ST/SE are checked here (control numbers agree, counts match,
control numbers unique where they must be). Transaction bodies go to the 834 or
999 readers. A TA1 is accepted anywhere at interchange level.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Generator, Iterator
from typing import Any, BinaryIO, Protocol

from acktrack.x12 import codes
from acktrack.x12.acknowledgment import AcknowledgmentReader
from acktrack.x12.delimiters import Delimiters, widths_ok
from acktrack.x12.enrollment import EnrollmentReader
from acktrack.x12.findings import Finding, Scheme, Severity
from acktrack.x12.ranges import ResumePoint
from acktrack.x12.records import (
    GroupAcknowledgment,
    GroupEnd,
    GroupHeader,
    InterchangeAcknowledgment,
    InterchangeEnd,
    InterchangeHeader,
    MemberTransaction,
    TransactionEnd,
    TransactionHeader,
    parse_datetime,
)
from acktrack.x12.tokenizer import (
    DEFAULT_CHUNK_SIZE,
    MAX_SEGMENT_BYTES,
    Batch,
    SegmentReader,
)

Record = (
    InterchangeHeader
    | GroupHeader
    | TransactionHeader
    | MemberTransaction
    | GroupAcknowledgment
    | InterchangeAcknowledgment
    | TransactionEnd
    | GroupEnd
    | InterchangeEnd
    | Finding
)

# GS01 expected for each ST01 we read.
_FUNCTIONAL_IDS = {"834": "BE", "999": "FA", "997": "FA"}
_IMPLEMENTATIONS = {"834": ("005010X220A1", "005010X220"), "999": ("005010X231A1", "005010X231")}
_STRAY_FINDINGS = 5  # findings for segments outside sets before they are only counted
_ID_QUALIFIERS = frozenset(
    {"01", "02", "03", "04", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17",
     "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32",
     "33", "34", "35", "36", "37", "38", "AM", "NR", "SA", "SN", "ZZ"}
)  # fmt: skip


class _BodyReader(Protocol):
    position: int
    members: int

    def feed(
        self, text: str, start: int, end: int
    ) -> Generator[MemberTransaction | GroupAcknowledgment | Finding, None, None]: ...

    def flush(self) -> Generator[MemberTransaction | GroupAcknowledgment | Finding, None, None]: ...


class _SkipReader:
    """Counts the segments of a set type acktrack does not read."""

    def __init__(self, delimiters: Delimiters) -> None:
        self.position = 1
        self.members = 0
        self._terminator = delimiters.segment

    def feed(self, text: str, start: int, end: int) -> Generator[Finding, None, None]:
        self.position += text.count(self._terminator, start, end)
        return
        yield  # pragma: no cover - makes this a generator

    def flush(self) -> Generator[Finding, None, None]:
        return
        yield  # pragma: no cover


def _new_digest() -> Any:
    """Content identity of an interchange: BLAKE2b-256 (several times cheaper than SHA-256 here)."""
    return hashlib.blake2b(digest_size=32)


def _is_digits(value: str, low: int, high: int) -> bool:
    return low <= len(value) <= high and (value.isascii() and value.isdigit())


def _valid_time(value: str) -> bool:
    if len(value) < 4 or not (value.isascii() and value.isdigit()):
        return False
    return int(value[:2]) < 24 and int(value[2:4]) < 60


class X12Reader:
    """Walk a binary stream of X12 and yield ``Record``s in stream order.

    ``members=False`` counts INS loops without building member records (a fast
    index pass); ``digest=True`` fills ``InterchangeEnd.digest`` with a content hash
    that ignores line breaks. Raises ``UnreadableX12`` only when the stream has no readable ISA
    at its start; everything else is reported as a ``Finding``.
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
    ) -> None:
        """``resume``: ``stream`` starts on a member inside an 834 set (see ``ranges``).
        ``partial``: ``stream`` stops where another range starts, so what is still open
        at its end continues there and is not a missing trailer."""
        self._tokens = SegmentReader(
            stream,
            chunk_size,
            resume=resume.delimiters if resume else None,
            base_offset=resume.offset if resume else 0,
        )
        self._build_members = members
        self._digest = digest
        self._resume = resume
        self._partial = partial
        self.bytes_read = 0
        # Envelope state.
        self._interchange: InterchangeHeader | None = None
        self._interchange_groups = 0
        self._interchange_digest: Any = None  # a hashlib object while an interchange is open
        self._interchange_bytes = 0
        self._group_controls: set[str] = set()
        self._group: GroupHeader | None = None
        self._group_sets = 0
        self._set_controls: set[str] = set()
        self._transaction: TransactionHeader | None = None
        self._body: _BodyReader | None = None
        self._position = 0  # segments in the stream
        self._stray_segments = 0
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

    # -- helpers ----------------------------------------------------------------------

    def _finding(
        self,
        scheme: Scheme,
        code: str,
        detail: str,
        *,
        severity: Severity = "error",
        segment_id: str | None = None,
        level: str = "set",
        position: int | None = None,
        element_position: int | None = None,
        element_reference: str | None = None,
        bad_value: str | None = None,
    ) -> Finding:
        interchange = self._interchange
        group = self._group if level in ("group", "set") else None
        transaction = self._transaction if level == "set" else None
        return Finding(
            scheme=scheme,
            code=code,
            severity=severity,
            detail=detail,
            interchange_control=interchange.control if interchange else None,
            group_control=group.control if group else None,
            transaction_control=transaction.control if transaction else None,
            segment_id=segment_id,
            segment_position=position,
            element_position=element_position,
            element_reference=element_reference,
            bad_value=bad_value,
        )

    def _set_delimiters(self, delimiters: Delimiters) -> None:
        if delimiters == self._delimiters:
            return
        self._delimiters = delimiters
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
        if self._resume is not None:
            self._resume_at(self._resume)
        for batch in tokens.batches():
            yield from self._overlong_findings()  # skipped just before this batch
            self._set_delimiters(batch.delimiters)
            if batch.starts_interchange:
                self._interchange_digest = _new_digest() if self._digest else None
                self._interchange_bytes = 0
            digest = self._interchange_digest
            if digest is not None:
                digest.update(batch.raw)
            self._interchange_bytes += len(batch.raw)
            text = batch.text
            term = batch.delimiters.segment
            separator = batch.delimiters.element
            size = len(text)
            position = 0
            while position < size:
                body = self._body
                if body is not None:
                    # Hand the body everything up to the next envelope segment.
                    envelope = self._next_envelope(text, position)
                    if envelope > position:
                        self._position += text.count(term, position, envelope)
                        yield from body.feed(text, position, envelope)
                        position = envelope
                        if position >= size:
                            break
                end = text.find(term, position)
                segment = text[position:end]
                position = end + 1
                self._position += 1
                yield from self._envelope_segment(segment.split(separator), batch)
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

    def _envelope_segment(self, elements: list[str], batch: Batch) -> Iterator[Record]:
        tag = elements[0]
        if tag == "ISA":
            yield from self._isa(elements, batch)
        elif tag == "GS":
            yield from self._gs(elements)
        elif tag == "ST":
            yield from self._st(elements)
        elif tag == "SE":
            yield from self._se(elements)
        elif tag == "GE":
            yield from self._ge(elements)
        elif tag == "IEA":
            yield from self._iea(elements)
        elif tag == "TA1":
            yield from self._ta1(elements)
        elif tag in ("ISB", "ISE") and self._interchange is not None and self._group is None:
            return  # interchange-level service segments: nothing to track
        else:
            self._stray_segments += 1
            if self._stray_segments <= _STRAY_FINDINGS:
                yield self._finding(
                    "TA1",
                    "024",
                    f"segment {tag[:3]!r} outside any transaction set",
                    segment_id=tag[:3],
                    level="group" if self._group else "interchange",
                    position=self._position,
                )

    def _close_set(self, reason: str) -> Iterator[Record]:
        if self._transaction is None or self._body is None:
            return
        yield self._finding("IK5", "2", f"SE is missing ({reason})", segment_id="SE")
        yield from self._finish_set(None)

    def _close_group(self, reason: str) -> Iterator[Record]:
        yield from self._close_set(reason)
        if self._group is None:
            return
        yield self._finding("AK9", "3", f"GE is missing ({reason})", segment_id="GE", level="group")
        yield GroupEnd(self._group, self._group_sets, None)
        self._group = None

    def _close_interchange(self, reason: str, code: str) -> Iterator[Record]:
        yield from self._close_group(reason)
        if self._interchange is None:
            return
        yield self._finding(
            "TA1",
            code,
            f"IEA is missing ({reason})",
            segment_id="IEA",
            level="interchange",
            severity="fatal" if code == "023" else "error",
        )
        yield from self._stray_summary()
        yield self._interchange_end(None)

    def _stray_summary(self) -> Iterator[Record]:
        extra = self._stray_segments - _STRAY_FINDINGS
        if extra > 0:
            yield self._finding(
                "TA1",
                "024",
                f"{extra} more segments outside any transaction set",
                level="interchange",
            )
        self._stray_segments = 0

    def _interchange_end(self, declared: str | None) -> InterchangeEnd:
        assert self._interchange is not None
        digest = self._interchange_digest.hexdigest() if self._interchange_digest else ""
        end = InterchangeEnd(
            self._interchange, self._interchange_groups, declared, digest, self._interchange_bytes
        )
        self._interchange = None
        self._interchange_digest = None
        return end

    # -- envelope segments ------------------------------------------------------------

    def _interchange_header(
        self, elements: list[str], offset: int, sequence: int
    ) -> InterchangeHeader:
        assert self._delimiters is not None
        # ISA16 is the component separator itself; the split leaves it as the last element.
        values = elements + [""] * (17 - len(elements))
        return InterchangeHeader(
            sender_qualifier=values[5],
            sender_id=values[6].strip(),
            receiver_qualifier=values[7],
            receiver_id=values[8].strip(),
            date=values[9],
            time=values[10],
            control=values[13],
            version=values[12],
            acknowledgment_requested=values[14] == "1",
            usage=values[15],
            delimiters=self._delimiters,
            offset=offset,
            sequence=sequence,
        )

    @staticmethod
    def _group_header(elements: list[str], interchange: InterchangeHeader) -> GroupHeader:
        values = elements + [""] * (9 - len(elements))
        return GroupHeader(
            functional_id=values[1],
            application_sender=values[2],
            application_receiver=values[3],
            date=values[4],
            time=values[5],
            control=values[6],
            version=values[8],
            interchange=interchange,
        )

    def _isa(self, elements: list[str], batch: Batch) -> Iterator[Record]:
        if self._interchange is not None:
            yield from self._close_interchange("a new ISA began", "022")
            self._interchange_digest = _new_digest() if self._digest else None
        values = elements + [""] * (17 - len(elements))
        header = self._interchange_header(elements, batch.offset, self._tokens.interchanges)
        self._interchange = header
        self._interchange_groups = 0
        self._group_controls = set()
        yield header
        isa_checks = (
            (batch.isa_fixed_width and widths_ok(elements), "024",
             "the ISA is not fixed width (106 characters)"),
            (values[5] in _ID_QUALIFIERS, "005", "ISA05 sender ID qualifier is invalid"),
            (bool(header.sender_id), "006", "ISA06 sender ID is blank"),
            (values[7] in _ID_QUALIFIERS, "007", "ISA07 receiver ID qualifier is invalid"),
            (bool(header.receiver_id), "008", "ISA08 receiver ID is blank"),
            (parse_datetime(values[9], None) is not None and len(values[9]) == 6, "014",
             "ISA09 date is invalid"),
            (_valid_time(values[10]) and len(values[10]) == 4, "015", "ISA10 time is invalid"),
            (_is_digits(values[13], 9, 9), "018", "ISA13 must be nine digits"),
            (values[14] in ("0", "1"), "019", "ISA14 must be 0 or 1"),
            (values[15] in ("P", "T", "I"), "020", "ISA15 must be P or T"),
        )  # fmt: skip
        if header.version >= "00402" and header.delimiters.repetition is None:
            yield self._finding(
                "ACK",
                codes.REPETITION_SEPARATOR,
                f"ISA11 {values[11]!r} is not a usable repetition separator in version "
                f"{header.version[:5]}; read without one",
                severity="warning",
                segment_id="ISA",
                level="interchange",
                position=self._position,
                element_position=11,
                element_reference="I65",
                bad_value=values[11][:1],
            )
        for passed, code, detail in isa_checks:
            if not passed:
                yield self._finding(
                    "TA1",
                    code,
                    detail,
                    segment_id="ISA",
                    level="interchange",
                    position=self._position,
                )

    def _gs(self, elements: list[str]) -> Iterator[Record]:
        if self._interchange is None:
            yield self._finding(
                "TA1", "024", "GS outside an interchange", segment_id="GS", level="interchange"
            )
            return
        if self._group is not None:
            yield from self._close_group("a new GS began")
        header = self._group_header(elements, self._interchange)
        self._group = header
        self._group_sets = 0
        self._set_controls = set()
        self._interchange_groups += 1
        yield header
        if not _is_digits(header.control, 1, 9):
            yield self._finding(
                "AK9", "6", "GS06 must be 1 to 9 digits", segment_id="GS", level="group"
            )
        elif header.control in self._group_controls:
            yield self._finding(
                "AK9",
                "19",
                "GS06 is used twice in this interchange",
                segment_id="GS",
                level="group",
            )
        self._group_controls.add(header.control)
        date_digits = (8,) if header.version[:3] >= "004" else (6, 8)
        if parse_datetime(header.date, None) is None or len(header.date) not in date_digits:
            yield self._finding(
                "IK4",
                "8",
                "GS04 date is invalid",
                segment_id="GS",
                level="group",
                element_position=4,
                element_reference="373",
            )

    def _st(self, elements: list[str]) -> Iterator[Record]:
        if self._interchange is None:
            yield self._finding(
                "TA1", "024", "ST outside an interchange", segment_id="ST", level="interchange"
            )
            return
        if self._transaction is not None:
            yield from self._close_set("a new ST began")
        values = elements + [""] * (4 - len(elements))
        header = TransactionHeader(
            set_id=values[1],
            control=values[2],
            implementation=values[3],
            interchange=self._interchange,
            group=self._group,
        )
        self._transaction = header
        yield header
        delimiters = self._delimiters
        assert delimiters is not None
        if header.set_id == "834":
            self._body = EnrollmentReader(header, delimiters, build_members=self._build_members)
        elif header.set_id in ("999", "997"):
            self._body = AcknowledgmentReader(header, delimiters)
        else:
            self._body = _SkipReader(delimiters)
            yield self._finding(
                "IK5",
                "1",
                f"transaction set {header.set_id[:6]!r} is not read by acktrack",
                severity="warning",
                segment_id="ST",
            )
        if self._group is None:
            yield self._finding("IK5", "18", "ST outside a functional group", segment_id="ST")
        else:
            self._group_sets += 1
            expected_group = _FUNCTIONAL_IDS.get(header.set_id)
            if expected_group and self._group.functional_id != expected_group:
                yield self._finding(
                    "IK5",
                    "6",
                    f"ST*{header.set_id} inside GS*{self._group.functional_id[:2]}",
                    segment_id="ST",
                )
            if header.control in self._set_controls:
                yield self._finding(
                    "IK5", "23", "ST02 is used twice in this functional group", segment_id="ST"
                )
        if not _is_digits(header.control, 4, 9):
            yield self._finding("IK5", "7", "ST02 must be 4 to 9 digits", segment_id="ST")
        self._set_controls.add(header.control)
        known = _IMPLEMENTATIONS.get(header.set_id)
        if known and header.implementation and header.implementation not in known:
            yield self._finding(
                "IK5",
                "19",
                f"ST03 {header.implementation[:14]!r} is not {known[0]}",
                severity="warning",
                segment_id="ST",
            )

    def _se(self, elements: list[str]) -> Iterator[Record]:
        if self._transaction is None or self._body is None:
            yield self._finding("IK5", "2", "SE without an ST", segment_id="SE", level="group")
            return
        yield from self._body.flush()
        values = elements + [""] * (3 - len(elements))
        counted = self._body.position + 1
        if values[2] != self._transaction.control:
            yield self._finding(
                "IK5", "3", "SE02 does not match ST02", segment_id="SE", position=counted
            )
        if values[1] != str(counted):
            yield self._finding(
                "IK5",
                "4",
                f"SE01 says {values[1][:9]!r} but the set has {counted} segments",
                segment_id="SE",
                position=counted,
            )
        yield from self._finish_set(values[1])

    def _finish_set(self, declared: str | None) -> Iterator[Record]:
        body = self._body
        transaction = self._transaction
        assert body is not None and transaction is not None
        if declared is None:
            yield from body.flush()  # the SE path flushed before counting
        enrollment = getattr(body, "enrollment", None)
        yield TransactionEnd(
            transaction,
            body.position + (1 if declared is not None else 0),
            declared,
            body.members,
            enrollment,
        )
        self._transaction = None
        self._body = None

    def _ge(self, elements: list[str]) -> Iterator[Record]:
        yield from self._close_set("GE came first")
        if self._group is None:
            yield self._finding("AK9", "3", "GE without a GS", segment_id="GE", level="interchange")
            return
        values = elements + [""] * (3 - len(elements))
        if values[2] != self._group.control:
            yield self._finding(
                "AK9", "4", "GE02 does not match GS06", segment_id="GE", level="group"
            )
        if values[1] != str(self._group_sets):
            yield self._finding(
                "AK9",
                "5",
                f"GE01 says {values[1][:9]!r} but the group has {self._group_sets} sets",
                segment_id="GE",
                level="group",
            )
        yield GroupEnd(self._group, self._group_sets, values[1])
        self._group = None

    def _iea(self, elements: list[str]) -> Iterator[Record]:
        yield from self._close_group("IEA came first")
        if self._interchange is None:
            yield self._finding(
                "TA1", "022", "IEA without an ISA", segment_id="IEA", level="interchange"
            )
            return
        values = elements + [""] * (3 - len(elements))
        if values[2] != self._interchange.control:
            yield self._finding(
                "TA1", "001", "IEA02 does not match ISA13", segment_id="IEA", level="interchange"
            )
        if values[1] != str(self._interchange_groups):
            yield self._finding(
                "TA1",
                "021",
                f"IEA01 says {values[1][:9]!r} but the interchange has {self._interchange_groups} groups",
                segment_id="IEA",
                level="interchange",
            )
        yield from self._stray_summary()
        yield self._interchange_end(values[1])

    def _ta1(self, elements: list[str]) -> Iterator[Record]:
        if self._interchange is None:
            yield self._finding(
                "TA1", "024", "TA1 outside an interchange", segment_id="TA1", level="interchange"
            )
            return
        values = elements + [""] * (6 - len(elements))
        if self._transaction is not None:
            yield self._finding(
                "IK3", "2", "TA1 inside a transaction set", severity="warning", segment_id="TA1"
            )
        acknowledgment = InterchangeAcknowledgment(
            interchange=self._interchange,
            control=values[1],
            date=values[2],
            time=values[3],
            status=values[4],
            note=values[5],
            position=self._position,
        )
        yield acknowledgment
        if acknowledgment.status not in ("A", "E", "R"):
            yield self._finding(
                "IK4",
                "7",
                "TA104 must be A, E or R",
                segment_id="TA1",
                level="interchange",
                element_position=4,
                element_reference="I17",
                bad_value=values[4][:3],
            )

    def _overlong_findings(self) -> Iterator[Finding]:
        skipped = self._tokens.overlong
        while self._overlong_seen < len(skipped):
            offset = skipped[self._overlong_seen]
            self._overlong_seen += 1
            yield self._finding(
                "ACK",
                codes.SEGMENT_TOO_LONG,
                f"a segment of more than {MAX_SEGMENT_BYTES:,} bytes at byte {offset:,} was skipped",
                level="set" if self._transaction else "group" if self._group else "interchange",
            )

    def _resume_at(self, point: ResumePoint) -> None:
        """Recreate the envelope state at a cut, from the segments the planner kept."""
        delimiters = point.delimiters
        self._set_delimiters(delimiters)
        split = delimiters.element
        self._interchange = self._interchange_header(
            point.isa.split(split), 0, point.interchange_sequence
        )
        self._interchange_groups = point.interchange_groups
        if point.gs is not None:
            self._group = self._group_header(point.gs.split(split), self._interchange)
            self._group_sets = point.group_sets
        values = [*point.st.split(split), "", "", "", ""]
        self._transaction = TransactionHeader(
            values[1], values[2], values[3], self._interchange, self._group
        )
        body = EnrollmentReader(self._transaction, delimiters, build_members=self._build_members)
        body.resume(point.set_header, point.position, point.members)
        self._body = body

    def _end_of_stream(self) -> Iterator[Record]:
        tokens = self._tokens
        yield from self._overlong_findings()
        if self._partial() if callable(self._partial) else self._partial:
            # The rest of the set is another range's: emit the last member, nothing else.
            if self._body is not None:
                yield from self._body.flush()
            return
        if self._interchange is not None:
            yield from self._close_interchange("the file ended early", "023")
        yield from self._stray_summary()
        if tokens.trailing:
            yield Finding(
                scheme="TA1", code="024", severity="error", detail=tokens.trailing, segment_id=None
            )


def interchange_digests(stream: BinaryIO) -> list[tuple[str, int]]:
    """(``InterchangeEnd.digest``, ``byte_length``) of each interchange in ``stream``, from
    the tokenizer alone (for readers that each saw part of an interchange). A file with an
    interchange that lacks its IEA before the next ISA gives fewer than the reader's ends."""
    found: list[tuple[str, int]] = []
    digest: Any = None
    size = 0
    for batch in SegmentReader(stream).batches():
        if batch.starts_interchange:
            if digest is not None:
                found.append((digest.hexdigest(), size))
            digest, size = _new_digest(), 0
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
) -> Iterator[Record]:
    """Every record of ``stream`` in order. See ``X12Reader``."""
    return X12Reader(stream, members=members, digest=digest, chunk_size=chunk_size).records()
