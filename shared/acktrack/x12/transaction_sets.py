"""The transaction sets acktrack reads: the body reader for each ST01, and the GS01 and
ST03 an 834, 999, 997 or 824 is expected to carry."""

from __future__ import annotations

from collections.abc import Generator
from typing import Protocol

from acktrack.x12.acknowledgment import AcknowledgmentReader
from acktrack.x12.advice import AdviceReader
from acktrack.x12.advice_records import ApplicationAdvice
from acktrack.x12.delimiters import Delimiters
from acktrack.x12.enrollment import EnrollmentReader
from acktrack.x12.findings import Finding
from acktrack.x12.limits import Budget, Limits
from acktrack.x12.records import GroupAcknowledgment, MemberTransaction, TransactionHeader

# GS01 expected for each ST01 we read.
FUNCTIONAL_IDS = {"834": "BE", "999": "FA", "997": "FA", "824": "AG"}
IMPLEMENTATIONS = {
    "834": ("005010X220A1", "005010X220"),
    "999": ("005010X231A1", "005010X231"),
    "824": ("005010X186A1", "005010X186"),
}
# What a body reader yields besides findings.
BodyRecord = MemberTransaction | GroupAcknowledgment | ApplicationAdvice


class BodyReader(Protocol):
    """Reads the segments between ST and SE; ``position`` counts them, ST = 1."""

    position: int
    members: int

    def feed(
        self, text: str, start: int, end: int
    ) -> Generator[BodyRecord | Finding, None, None]: ...

    def flush(self) -> Generator[BodyRecord | Finding, None, None]: ...


class SkipReader:
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


def body_reader(
    header: TransactionHeader,
    delimiters: Delimiters,
    *,
    build_members: bool,
    limits: Limits | None = None,
    budget: Budget | None = None,
) -> BodyReader:
    """The reader for the body of the set ``header`` opens (a ``SkipReader`` if unread).
    ``limits`` and ``budget``: what it may hold, and what the file keeps (``x12.limits``)."""
    if header.set_id == "834":
        return EnrollmentReader(
            header, delimiters, build_members=build_members, limits=limits, budget=budget
        )
    if header.set_id in ("999", "997"):
        return AcknowledgmentReader(header, delimiters, limits=limits, budget=budget)
    if header.set_id == "824":
        return AdviceReader(header, delimiters, limits=limits, budget=budget)
    return SkipReader(delimiters)
