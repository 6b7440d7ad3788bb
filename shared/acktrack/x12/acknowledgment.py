"""999 (005010X231A1 and 005010X231) body reader; 997 AK3/AK4/AK5 read the same way."""

from __future__ import annotations

from collections.abc import Generator

from acktrack.x12 import codes
from acktrack.x12.delimiters import Delimiters
from acktrack.x12.findings import Finding
from acktrack.x12.limits import Budget, Limits, current, kept_value
from acktrack.x12.records import (
    ElementError,
    GroupAcknowledgment,
    SegmentError,
    SetAcknowledgment,
    TransactionHeader,
)

# 997 segments map onto their 999 successors.
_ALIASES = {"AK3": "IK3", "AK4": "IK4", "AK5": "IK5"}


def _severity(status: str) -> int:
    """How bad an IK501 verdict is: rejected > accepted with errors > accepted."""
    if status in codes.REJECTED_STATUSES:
        return 2
    return 1 if status == "E" else 0


def _contradictions(ack: GroupAcknowledgment) -> list[str]:
    """Where the IK5 verdicts disagree with AK9's status and counts."""
    found: list[str] = []
    listed = len(ack.sets)
    if not listed or not all(one.status for one in ack.sets):
        return found  # a missing IK5 is its own finding
    accepted = sum(1 for one in ack.sets if one.status in codes.ACCEPTED_STATUSES)
    rejected = sum(1 for one in ack.sets if one.status in codes.REJECTED_STATUSES)
    if ack.received is not None and listed > ack.received:
        found.append(f"{listed} AK2 loops but AK903 says {ack.received} sets were received")
    if ack.accepted is not None:
        if accepted > ack.accepted or (ack.received == listed and accepted != ack.accepted):
            found.append(f"{accepted} IK5 accept but AK904 says {ack.accepted} sets were accepted")
        if ack.received is not None and rejected > ack.received - ack.accepted:
            found.append(
                f"{rejected} IK5 reject but AK903/AK904 leave {ack.received - ack.accepted}"
            )
    if ack.status in codes.ACCEPTED_STATUSES and rejected:
        found.append(f"AK901 {ack.status} but {rejected} IK5 reject")
    if ack.status in codes.REJECTED_STATUSES and accepted:
        found.append(f"AK901 {ack.status} but {accepted} IK5 accept")
    return found


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if (value.isascii() and value.isdigit()) else None


class AcknowledgmentReader:
    """Builds one GroupAcknowledgment from the body of one 999 (or 997) set.

    Every segment but IK5 (AK2 loops, IK3, IK4 and CTX, which it keeps) and every finding
    is counted in ``budget``; once the file holds too much nothing more is kept (the
    reader then stops the file). Each value is kept at ``limits.value_chars``.
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
        self._budget = budget or Budget(limits.structures)
        self.position = 1
        self.members = 0
        self.acknowledgment = GroupAcknowledgment(header=header)
        self._separator = delimiters.element
        self._component = delimiters.component
        self._terminator = delimiters.segment
        self._set: SetAcknowledgment | None = None
        self._segment: SegmentError | None = None
        self._seen_ak1 = False
        self._seen_ak9 = False
        self._flushed = False
        self._findings: list[Finding] = []

    def _finding(self, scheme: str, code: str, detail: str, segment_id: str) -> None:
        if not self._budget.take():
            return
        header = self.acknowledgment.header
        self._findings.append(
            Finding(
                scheme=scheme,  # type: ignore[arg-type]
                code=code,
                severity="error",
                detail=detail,
                interchange_control=header.interchange.control,
                group_control=header.group_control,
                transaction_control=header.control,
                segment_id=segment_id,
                segment_position=self.position,
            )
        )

    def feed(
        self, text: str, start: int, end: int
    ) -> Generator[GroupAcknowledgment | Finding, None, None]:
        for segment in text[start : end - 1].split(self._terminator):
            self.position += 1
            self._segment_in(segment.split(self._separator))
        if self._findings:
            yield from self._findings
            self._findings = []

    def _segment_in(self, elements: list[str]) -> None:
        tag = _ALIASES.get(elements[0], elements[0])
        if tag != "IK5" and not self._budget.take():
            # Each segment but IK5 (one per AK2 loop) is counted: what it keeps, or its
            # Python work. Past the limit nothing more is kept; the reader stops the file.
            return
        size = len(elements)
        chars = self._value_chars

        def element(number: int) -> str:
            return kept_value(elements[number], chars) if size > number else ""

        ack = self.acknowledgment
        if tag == "AK1":
            if self._seen_ak1:
                self._finding("IK3", "5", "a second AK1 in one 999 set", "AK1")
            self._seen_ak1 = True
            ack.functional_id, ack.group_control, ack.version = element(1), element(2), element(3)
            if not ack.group_control:
                self._finding("IK4", "1", "AK102 group control number is missing", "AK1")
        elif tag == "AK2":
            self._close_set()
            self._set = SetAcknowledgment(element(1), element(2), element(3))
            self._segment = None
        elif tag == "IK3":
            if self._set is None:
                self._finding("IK3", "2", "IK3 outside an AK2 loop", "IK3")
                return
            self._segment = SegmentError(element(1), _int(element(2)), element(3), element(4))
            self._set.segment_errors.append(self._segment)
        elif tag == "CTX":
            if self._segment is not None:
                # Keep only the context name (CTX01-1); its value may be personal data.
                self._segment.context.append(element(1).split(self._component)[0])
        elif tag == "IK4":
            if self._segment is None:
                self._finding("IK3", "2", "IK4 outside an IK3 loop", "IK4")
                return
            where = element(1).split(self._component)
            self._segment.element_errors.append(
                ElementError(
                    position=_int(where[0]),
                    component=_int(where[1]) if len(where) > 1 else None,
                    repetition=_int(where[2]) if len(where) > 2 else None,
                    reference=element(2),
                    code=element(3),
                    bad_value=element(4) or None,
                )
            )
        elif tag == "IK5":
            if self._set is None:
                self._finding("IK3", "2", "IK5 outside an AK2 loop", "IK5")
                return
            status = element(1)
            error_codes = [kept_value(code, chars) for code in elements[2:7] if code]
            if status not in codes.ACK_STATUS or status == "P":
                self._finding("IK4", "7", "IK501 is not an acknowledgment code", "IK5")
            current = self._set
            if current.status:
                self._finding(
                    "IK3",
                    "5",
                    f"a second IK5 in the AK2 loop for ST02 {current.control[:9]}",
                    "IK5",
                )
                if _severity(status) <= _severity(current.status):
                    return  # the more severe verdict stands, never merely the later one
            current.status, current.error_codes = status, error_codes
        elif tag == "AK9":
            self._close_set()
            self._seen_ak9 = True
            ack.status = element(1)
            ack.included, ack.received, ack.accepted = (
                _int(element(2)),
                _int(element(3)),
                _int(element(4)),
            )
            ack.error_codes = [kept_value(code, chars) for code in elements[5:10] if code]
            if ack.status not in codes.ACK_STATUS:
                self._finding("IK4", "7", "AK901 is not an acknowledgment code", "AK9")
            for detail in _contradictions(ack):
                self._finding("ACK", codes.VERDICTS_DISAGREE, detail, "AK9")

    def _close_set(self) -> None:
        current = self._set
        if current is not None:
            if not current.status:
                self._finding("IK3", "3", "IK5 is missing for an AK2 loop", "IK5")
            self.acknowledgment.sets.append(current)
        self._set = None
        self._segment = None

    def flush(self) -> Generator[GroupAcknowledgment | Finding, None, None]:
        if self._flushed:
            return
        self._flushed = True
        self._close_set()
        if not self._seen_ak1:
            self._finding("IK3", "3", "AK1 is missing", "AK1")
        if not self._seen_ak9:
            self._finding("IK3", "3", "AK9 is missing", "AK9")
        if self._seen_ak1:
            yield self.acknowledgment
        if self._findings:
            yield from self._findings
            self._findings = []
