"""824 Application Advice (005010X186A1) body reader: BGN, N1*41/N1*40, OTI loops with
their REF and TED segments. Other segments (N2-N4, PER, DTM, AMT, QTY, NM1, NTE, ...) are
counted and passed over; NM1 names are never kept."""

from __future__ import annotations

from collections.abc import Generator

from acktrack.x12 import codes
from acktrack.x12.advice_records import AdviceError, AdviceItem, ApplicationAdvice
from acktrack.x12.delimiters import Delimiters
from acktrack.x12.findings import Finding, Scheme, Severity
from acktrack.x12.limits import Budget, Limits, current, kept_value
from acktrack.x12.records import TransactionHeader
from acktrack.x12.text import neutral_text


class AdviceReader:
    """Builds one ApplicationAdvice from the body of one 824 set.

    Every segment is counted in ``budget`` (what it keeps, or its Python work) and so is
    every finding; once the file holds too much nothing more is kept (the reader then
    stops the file). Within the set, at most ``limits.advice_items`` OTI loops are kept and
    at most ``limits.advice_errors`` TEDs per loop: the rest are counted on the record
    (``items_dropped``, ``errors_dropped``) and noted once with a warning. Each value is
    kept at ``limits.value_chars``; a TED02 message at ``limits.message_chars``, made
    printable and spreadsheet-safe (``text.neutral_text``).
    """

    def __init__(
        self,
        header: TransactionHeader,
        delimiters: Delimiters,
        *,
        limits: Limits | None = None,
        budget: Budget | None = None,
    ) -> None:
        limits = limits or current()
        self._value_chars = limits.value_chars
        self._message_chars = limits.message_chars
        self._most_items = limits.advice_items
        self._most_errors = limits.advice_errors
        self._budget = budget or Budget(limits.structures)
        self.position = 1
        self.members = 0
        self.advice = ApplicationAdvice(header=header)
        self._separator = delimiters.element
        self._terminator = delimiters.segment
        self._item: AdviceItem | None = None  # the OTI loop open, when it is kept
        self._in_loop = False  # an OTI loop is open (kept or only counted)
        self._errors_dropped = 0  # TEDs past the cap, over every kept loop
        self._seen_bgn = False
        self._flushed = False
        self._findings: list[Finding] = []

    def _finding(
        self,
        scheme: Scheme,
        code: str,
        detail: str,
        segment_id: str | None,
        severity: Severity = "error",
    ) -> None:
        if not self._budget.take():
            return
        header = self.advice.header
        self._findings.append(
            Finding(
                scheme=scheme,
                code=code,
                severity=severity,
                detail=detail,
                interchange_control=header.interchange.control,
                group_control=header.group_control,
                transaction_control=header.control,
                segment_id=segment_id,
                segment_position=self.position if segment_id else None,
            )
        )

    def feed(
        self, text: str, start: int, end: int
    ) -> Generator[ApplicationAdvice | Finding, None, None]:
        for segment in text[start : end - 1].split(self._terminator):
            self.position += 1
            self._segment_in(segment.split(self._separator))
        if self._findings:
            yield from self._findings
            self._findings = []

    def _segment_in(self, elements: list[str]) -> None:
        if not self._budget.take():
            # Every segment is counted: what it keeps, or its Python work. Past the limit
            # nothing more is kept; the reader stops the file.
            return
        tag = elements[0]
        size = len(elements)
        chars = self._value_chars

        def element(number: int) -> str:
            return kept_value(elements[number], chars) if size > number else ""

        advice = self.advice
        if tag == "OTI":
            self._open_item(elements)
        elif tag == "TED":
            if not self._in_loop:
                self._finding("IK3", "2", "TED outside an OTI loop", "TED")
                return
            item = self._item
            if item is None:
                return  # a loop past the cap: counted in items_dropped, not kept
            if len(item.errors) >= self._most_errors:
                item.errors_dropped += 1
                self._errors_dropped += 1
                return
            message = neutral_text(elements[2], self._message_chars) if size > 2 else ""
            item.errors.append(AdviceError(element(1), message))
        elif tag == "REF":
            item = self._item
            if item is None:
                return  # in the header (loop 1000) or in a loop that is not kept
            qualifier = element(1)
            if qualifier == "0F" and item.subscriber_id is None:
                item.subscriber_id = element(2) or None
            elif qualifier == "17" and item.member_id is None:
                item.member_id = element(2) or None
        elif tag == "BGN":
            if self._seen_bgn:
                self._finding("IK3", "5", "a second BGN in one 824 set", "BGN")
                return
            self._seen_bgn = True
            advice.purpose, advice.reference = element(1), element(2)
            advice.date, advice.time = element(3), element(4)
        elif tag == "N1" and not self._in_loop:
            qualifier = element(1)
            if qualifier == "41":
                advice.submitter_name, advice.submitter_id = element(2), element(4)
            elif qualifier == "40":
                advice.recipient_name, advice.recipient_id = element(2), element(4)

    def _open_item(self, elements: list[str]) -> None:
        self._in_loop = True
        advice = self.advice
        if len(advice.items) >= self._most_items:
            advice.items_dropped += 1
            self._item = None
            return
        values = [kept_value(value, self._value_chars) for value in elements[1:11]]
        values += [""] * (10 - len(values))
        item = AdviceItem(
            verdict=values[0],
            reference_qualifier=values[1],
            reference=values[2],
            application_sender=values[3],
            application_receiver=values[4],
            date=values[5],
            time=values[6],
            group_control=values[7],
            transaction_control=values[8],
            set_type=values[9],
            position=self.position,
        )
        advice.items.append(item)
        self._item = item
        if item.verdict not in codes.APPLICATION_VERDICT:
            self._finding("IK4", "7", "OTI01 is not an application acknowledgment code", "OTI")

    def flush(self) -> Generator[ApplicationAdvice | Finding, None, None]:
        if self._flushed:
            return
        self._flushed = True
        advice = self.advice
        if not self._seen_bgn:
            self._finding("IK3", "3", "BGN is missing", "BGN")
        if not self._in_loop:
            self._finding("IK3", "3", "an 824 set without an OTI loop", "OTI")
        if advice.items_dropped:
            self._finding(
                "ACK",
                codes.ADVICE_TRUNCATED,
                f"{advice.items_dropped:,} OTI loops beyond the first {self._most_items:,} "
                "were counted, not kept",
                None,
                "warning",
            )
        if self._errors_dropped:
            self._finding(
                "ACK",
                codes.ADVICE_TRUNCATED,
                f"{self._errors_dropped:,} TED segments beyond {self._most_errors:,} in an "
                "OTI loop were counted, not kept",
                None,
                "warning",
            )
        if self._seen_bgn or self._in_loop:
            yield advice
        if self._findings:
            yield from self._findings
            self._findings = []
