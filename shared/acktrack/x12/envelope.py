"""Envelope checks: ISA/IEA, GS/GE and ST/SE against each other, TA1 at interchange level.

Control numbers agree, counts match, control numbers are unique where they must be,
and what a stream leaves open is closed with a finding. ST opens the body reader
``transaction_sets`` picks for the set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from acktrack.x12 import codes
from acktrack.x12.delimiters import Delimiters, widths_ok
from acktrack.x12.enrollment import EnrollmentReader
from acktrack.x12.findings import Finding, Scheme, Severity
from acktrack.x12.limits import Budget, Limits, kept_value
from acktrack.x12.ranges import ResumePoint
from acktrack.x12.records import (
    GroupEnd,
    GroupHeader,
    InterchangeAcknowledgment,
    InterchangeEnd,
    InterchangeHeader,
    Record,
    TransactionEnd,
    TransactionHeader,
    parse_datetime,
)
from acktrack.x12.tokenizer import Batch, SegmentReader
from acktrack.x12.transaction_sets import (
    FUNCTIONAL_IDS,
    IMPLEMENTATIONS,
    BodyReader,
    SkipReader,
    body_reader,
)

_STRAY_FINDINGS = 5  # findings for segments outside sets before they are only counted
_ID_QUALIFIERS = frozenset(
    {"01", "02", "03", "04", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17",
     "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32",
     "33", "34", "35", "36", "37", "38", "AM", "NR", "SA", "SN", "ZZ"}
)  # fmt: skip


def new_digest() -> Any:
    """Content identity of an interchange: BLAKE2b-256 (several times cheaper than SHA-256 here)."""
    return hashlib.blake2b(digest_size=32)


def _is_digits(value: str, low: int, high: int) -> bool:
    return low <= len(value) <= high and (value.isascii() and value.isdigit())


def _valid_time(value: str) -> bool:
    if len(value) < 4 or not (value.isascii() and value.isdigit()):
        return False
    return int(value[:2]) < 24 and int(value[2:4]) < 60


def group_header(
    elements: list[str], interchange: InterchangeHeader, value_chars: int = 99
) -> GroupHeader:
    """A GS segment's elements as a ``GroupHeader`` (values kept at ``value_chars``)."""
    values = [kept_value(value, value_chars) for value in elements[:9]]
    values += [""] * (9 - len(values))
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


class Envelopes:
    """The interchange, group and set open at this point of a stream, and their checks.

    ``X12Reader`` drives it: it keeps ``delimiters`` current, counts segments into
    ``position``, hands each batch to ``add_bytes``, set bodies to ``body`` and every
    envelope segment to ``segment``. What it keeps for the whole file (headers, control
    numbers, findings) is counted in ``budget``, each value kept at ``limits.value_chars``.
    """

    def __init__(
        self,
        tokens: SegmentReader,
        *,
        members: bool,
        digest: bool,
        limits: Limits,
        budget: Budget,
    ) -> None:
        self._tokens = tokens  # numbers each ISA
        self._build_members = members
        self._digest = digest
        self.limits = limits
        self.budget = budget
        self.delimiters: Delimiters | None = None
        self.position = 0  # segments in the stream
        self.interchange: InterchangeHeader | None = None
        self._interchange_groups = 0
        self._interchange_digest: Any = None  # a hashlib object while an interchange is open
        self._interchange_bytes = 0
        self._group_controls: set[str] = set()
        self.group: GroupHeader | None = None
        self._group_sets = 0
        self._set_controls: set[str] = set()
        self.transaction: TransactionHeader | None = None
        self.body: BodyReader | None = None
        self._stray_segments = 0

    def finding(
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
        """A finding placed in the envelope open at ``level`` (interchange, group or set)."""
        self.budget.take()
        interchange = self.interchange
        group = self.group if level in ("group", "set") else None
        transaction = self.transaction if level == "set" else None
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

    def add_bytes(self, batch: Batch) -> None:
        """Count (and with ``digest=True`` hash) a batch into the interchange it belongs to."""
        if batch.starts_interchange:
            self._interchange_digest = new_digest() if self._digest else None
            self._interchange_bytes = 0
        digest = self._interchange_digest
        if digest is not None:
            digest.update(batch.raw)
        self._interchange_bytes += len(batch.raw)

    def segment(self, elements: list[str], batch: Batch) -> Iterator[Record]:
        """Check one envelope segment (or a stray one) against what is open."""
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
        elif tag in ("ISB", "ISE") and self.interchange is not None and self.group is None:
            return  # interchange-level service segments: nothing to track
        else:
            self._stray_segments += 1
            self.budget.take()  # counted (not kept): millions of them are refused, not read
            if self._stray_segments <= _STRAY_FINDINGS:
                yield self.finding(
                    "TA1",
                    "024",
                    f"segment {tag[:3]!r} outside any transaction set",
                    segment_id=tag[:3],
                    level="group" if self.group else "interchange",
                    position=self.position,
                )

    def resume(self, point: ResumePoint) -> None:
        """Recreate the envelope state at a cut, from the segments the planner kept."""
        delimiters = point.delimiters
        self.delimiters = delimiters
        split = delimiters.element
        self.interchange = self._interchange_header(
            point.isa.split(split), 0, point.interchange_sequence
        )
        self._interchange_groups = point.interchange_groups
        if point.gs is not None:
            self.group = group_header(
                point.gs.split(split), self.interchange, self.limits.value_chars
            )
            self._group_sets = point.group_sets
        values = [*self._kept(point.st.split(split)[:4]), "", "", "", ""]
        self.transaction = TransactionHeader(
            values[1], values[2], values[3], self.interchange, self.group
        )
        body = EnrollmentReader(
            self.transaction,
            delimiters,
            build_members=self._build_members,
            limits=self.limits,
            budget=self.budget,
        )
        body.resume(point.set_header, point.position, point.members)
        self.body = body

    # -- closing what was left open ---------------------------------------------------

    def _close_set(self, reason: str) -> Iterator[Record]:
        if self.transaction is None or self.body is None:
            return
        yield self.finding("IK5", "2", f"SE is missing ({reason})", segment_id="SE")
        yield from self._finish_set(None)

    def _close_group(self, reason: str) -> Iterator[Record]:
        yield from self._close_set(reason)
        if self.group is None:
            return
        yield self.finding("AK9", "3", f"GE is missing ({reason})", segment_id="GE", level="group")
        yield GroupEnd(self.group, self._group_sets, None)
        self.group = None

    def close_interchange(self, reason: str, code: str) -> Iterator[Record]:
        """End the open interchange (and its group and set) without their trailers."""
        yield from self._close_group(reason)
        if self.interchange is None:
            return
        yield self.finding(
            "TA1",
            code,
            f"IEA is missing ({reason})",
            segment_id="IEA",
            level="interchange",
            severity="fatal" if code == "023" else "error",
        )
        yield from self.stray_summary()
        yield self._interchange_end(None)

    def stray_summary(self) -> Iterator[Record]:
        """One finding for the stray segments beyond those already reported."""
        extra = self._stray_segments - _STRAY_FINDINGS
        if extra > 0:
            yield self.finding(
                "TA1",
                "024",
                f"{extra} more segments outside any transaction set",
                level="interchange",
            )
        self._stray_segments = 0

    def _interchange_end(self, declared: str | None) -> InterchangeEnd:
        assert self.interchange is not None
        digest = self._interchange_digest.hexdigest() if self._interchange_digest else ""
        end = InterchangeEnd(
            self.interchange, self._interchange_groups, declared, digest, self._interchange_bytes
        )
        self.interchange = None
        self._interchange_digest = None
        return end

    # -- envelope segments ------------------------------------------------------------

    def _kept(self, values: list[str]) -> list[str]:
        """Values as kept for the whole file (a long one: a prefix and a hash)."""
        size = self.limits.value_chars
        return [kept_value(value, size) for value in values]

    def _interchange_header(
        self, elements: list[str], offset: int, sequence: int
    ) -> InterchangeHeader:
        assert self.delimiters is not None
        # ISA16 is the component separator itself; the split leaves it as the last element.
        values = self._kept(elements[:17])
        values += [""] * (17 - len(values))
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
            delimiters=self.delimiters,
            offset=offset,
            sequence=sequence,
        )

    def _isa(self, elements: list[str], batch: Batch) -> Iterator[Record]:
        if self.interchange is not None:
            yield from self.close_interchange("a new ISA began", "022")
            self._interchange_digest = new_digest() if self._digest else None
        self.budget.take()
        values = elements + [""] * (17 - len(elements))
        header = self._interchange_header(elements, batch.offset, self._tokens.interchanges)
        self.interchange = header
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
            yield self.finding(
                "ACK",
                codes.REPETITION_SEPARATOR,
                f"ISA11 {values[11]!r} is not a usable repetition separator in version "
                f"{header.version[:5]}; read without one",
                severity="warning",
                segment_id="ISA",
                level="interchange",
                position=self.position,
                element_position=11,
                element_reference="I65",
                bad_value=values[11][:1],
            )
        for passed, code, detail in isa_checks:
            if not passed:
                yield self.finding(
                    "TA1",
                    code,
                    detail,
                    segment_id="ISA",
                    level="interchange",
                    position=self.position,
                )

    def _gs(self, elements: list[str]) -> Iterator[Record]:
        if self.interchange is None:
            yield self.finding(
                "TA1", "024", "GS outside an interchange", segment_id="GS", level="interchange"
            )
            return
        if self.group is not None:
            yield from self._close_group("a new GS began")
        self.budget.take()
        header = group_header(elements, self.interchange, self.limits.value_chars)
        self.group = header
        self._group_sets = 0
        self._set_controls = set()
        self._interchange_groups += 1
        yield header
        if not _is_digits(header.control, 1, 9):
            yield self.finding(
                "AK9", "6", "GS06 must be 1 to 9 digits", segment_id="GS", level="group"
            )
        elif header.control in self._group_controls:
            yield self.finding(
                "AK9",
                "19",
                "GS06 is used twice in this interchange",
                segment_id="GS",
                level="group",
            )
        self._group_controls.add(header.control)
        date_digits = (8,) if header.version[:3] >= "004" else (6, 8)
        if parse_datetime(header.date, None) is None or len(header.date) not in date_digits:
            yield self.finding(
                "IK4",
                "8",
                "GS04 date is invalid",
                segment_id="GS",
                level="group",
                element_position=4,
                element_reference="373",
            )

    def _st(self, elements: list[str]) -> Iterator[Record]:
        if self.interchange is None:
            yield self.finding(
                "TA1", "024", "ST outside an interchange", segment_id="ST", level="interchange"
            )
            return
        if self.transaction is not None:
            yield from self._close_set("a new ST began")
        self.budget.take()
        values = self._kept(elements[:4])
        values += [""] * (4 - len(values))
        header = TransactionHeader(
            set_id=values[1],
            control=values[2],
            implementation=values[3],
            interchange=self.interchange,
            group=self.group,
        )
        self.transaction = header
        yield header
        delimiters = self.delimiters
        assert delimiters is not None
        self.body = body_reader(
            header,
            delimiters,
            build_members=self._build_members,
            limits=self.limits,
            budget=self.budget,
        )
        if isinstance(self.body, SkipReader):
            yield self.finding(
                "IK5",
                "1",
                f"transaction set {header.set_id[:6]!r} is not read by acktrack",
                severity="warning",
                segment_id="ST",
            )
        if self.group is None:
            yield self.finding("IK5", "18", "ST outside a functional group", segment_id="ST")
        else:
            self._group_sets += 1
            expected_group = FUNCTIONAL_IDS.get(header.set_id)
            if expected_group and self.group.functional_id != expected_group:
                yield self.finding(
                    "IK5",
                    "6",
                    f"ST*{header.set_id} inside GS*{self.group.functional_id[:2]}",
                    segment_id="ST",
                )
            if header.control in self._set_controls:
                yield self.finding(
                    "IK5", "23", "ST02 is used twice in this functional group", segment_id="ST"
                )
        if not _is_digits(header.control, 4, 9):
            yield self.finding("IK5", "7", "ST02 must be 4 to 9 digits", segment_id="ST")
        self._set_controls.add(header.control)
        known = IMPLEMENTATIONS.get(header.set_id)
        if known and header.implementation and header.implementation not in known:
            yield self.finding(
                "IK5",
                "19",
                f"ST03 {header.implementation[:14]!r} is not {known[0]}",
                severity="warning",
                segment_id="ST",
            )

    def _se(self, elements: list[str]) -> Iterator[Record]:
        if self.transaction is None or self.body is None:
            yield self.finding("IK5", "2", "SE without an ST", segment_id="SE", level="group")
            return
        yield from self.body.flush()
        values = self._kept(elements[:3])
        values += [""] * (3 - len(values))
        counted = self.body.position + 1
        if values[2] != self.transaction.control:
            yield self.finding(
                "IK5", "3", "SE02 does not match ST02", segment_id="SE", position=counted
            )
        if values[1] != str(counted):
            yield self.finding(
                "IK5",
                "4",
                f"SE01 says {values[1][:9]!r} but the set has {counted} segments",
                segment_id="SE",
                position=counted,
            )
        yield from self._finish_set(values[1])

    def _finish_set(self, declared: str | None) -> Iterator[Record]:
        body = self.body
        transaction = self.transaction
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
        self.transaction = None
        self.body = None

    def _ge(self, elements: list[str]) -> Iterator[Record]:
        yield from self._close_set("GE came first")
        if self.group is None:
            yield self.finding("AK9", "3", "GE without a GS", segment_id="GE", level="interchange")
            return
        values = self._kept(elements[:3])
        values += [""] * (3 - len(values))
        if values[2] != self.group.control:
            yield self.finding(
                "AK9", "4", "GE02 does not match GS06", segment_id="GE", level="group"
            )
        if values[1] != str(self._group_sets):
            yield self.finding(
                "AK9",
                "5",
                f"GE01 says {values[1][:9]!r} but the group has {self._group_sets} sets",
                segment_id="GE",
                level="group",
            )
        yield GroupEnd(self.group, self._group_sets, values[1])
        self.group = None

    def _iea(self, elements: list[str]) -> Iterator[Record]:
        yield from self._close_group("IEA came first")
        if self.interchange is None:
            yield self.finding(
                "TA1", "022", "IEA without an ISA", segment_id="IEA", level="interchange"
            )
            return
        values = self._kept(elements[:3])
        values += [""] * (3 - len(values))
        if values[2] != self.interchange.control:
            yield self.finding(
                "TA1", "001", "IEA02 does not match ISA13", segment_id="IEA", level="interchange"
            )
        if values[1] != str(self._interchange_groups):
            yield self.finding(
                "TA1",
                "021",
                f"IEA01 says {values[1][:9]!r} but the interchange has {self._interchange_groups} groups",
                segment_id="IEA",
                level="interchange",
            )
        yield from self.stray_summary()
        yield self._interchange_end(values[1])

    def _ta1(self, elements: list[str]) -> Iterator[Record]:
        if self.interchange is None:
            yield self.finding(
                "TA1", "024", "TA1 outside an interchange", segment_id="TA1", level="interchange"
            )
            return
        self.budget.take()
        values = self._kept(elements[:6])
        values += [""] * (6 - len(values))
        if self.transaction is not None:
            yield self.finding(
                "IK3", "2", "TA1 inside a transaction set", severity="warning", segment_id="TA1"
            )
        acknowledgment = InterchangeAcknowledgment(
            interchange=self.interchange,
            control=values[1],
            date=values[2],
            time=values[3],
            status=values[4],
            note=values[5],
            position=self.position,
        )
        yield acknowledgment
        if acknowledgment.status not in ("A", "E", "R"):
            yield self.finding(
                "IK4",
                "7",
                "TA104 must be A, E or R",
                segment_id="TA1",
                level="interchange",
                element_position=4,
                element_reference="I17",
                bad_value=values[4][:3],
            )
