"""Pass 1 over a file: its interchanges, groups and sets, digests and envelope findings.

Fast (members are counted, not built) and small (O(sets)), so the pipeline can decide
what a file is — new, a duplicate, a control-number reuse, unreadable — before it
writes anything.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO

from acktrack.x12 import (
    Finding,
    GroupAcknowledgment,
    GroupEnd,
    GroupHeader,
    InterchangeAcknowledgment,
    InterchangeEnd,
    InterchangeHeader,
    TransactionEnd,
    TransactionHeader,
    read_x12,
)


@dataclass(slots=True)
class SetIndex:
    header: TransactionHeader
    members: int = 0
    segments: int = 0
    payer_name: str = ""
    reference: str = ""  # BGN02: how an 824 that gives no ST02 names the set
    findings: list[Finding] = field(default_factory=list)

    @property
    def control(self) -> str:
        return self.header.control


@dataclass(slots=True)
class GroupIndex:
    header: GroupHeader | None  # None for sets found outside any GS
    sets: list[SetIndex] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def control(self) -> str | None:
        return self.header.control if self.header else None


@dataclass(slots=True)
class InterchangeIndex:
    header: InterchangeHeader
    digest: str = ""
    groups: list[GroupIndex] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def sets(self) -> list[SetIndex]:
        return [item for group in self.groups for item in group.sets]

    @property
    def enrollment_sets(self) -> list[SetIndex]:
        return [item for item in self.sets if item.header.set_id == "834"]

    @property
    def members(self) -> int:
        return sum(item.members for item in self.enrollment_sets)

    def all_findings(self) -> list[Finding]:
        found = list(self.findings)
        for group in self.groups:
            found += group.findings
            for item in group.sets:
                found += item.findings
        return found


@dataclass(slots=True)
class FileIndex:
    interchanges: list[InterchangeIndex] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # outside any interchange
    acknowledgments: int = 0  # 999 sets and TA1s seen
    set_types: Counter[str] = field(default_factory=Counter)

    @property
    def fatal(self) -> list[Finding]:
        found = [f for f in self.findings if f.severity == "fatal"]
        for interchange in self.interchanges:
            found += [f for f in interchange.all_findings() if f.severity == "fatal"]
        return found

    @property
    def enrollment_members(self) -> int:
        return sum(interchange.members for interchange in self.interchanges)

    def describe_content(self) -> str:
        if not self.set_types and not self.acknowledgments:
            return "no transaction sets"
        kinds = ", ".join(f"{count} x {kind}" for kind, count in sorted(self.set_types.items()))
        return kinds or "only TA1 acknowledgments"


def index_file(stream: BinaryIO) -> FileIndex:
    """Read ``stream`` once without building members. Raises UnreadableX12."""
    index = FileIndex()
    interchange: InterchangeIndex | None = None
    group: GroupIndex | None = None
    current: SetIndex | None = None
    for record in read_x12(stream, members=False, digest=True):
        kind = type(record)
        if kind is InterchangeHeader:
            assert isinstance(record, InterchangeHeader)
            interchange = InterchangeIndex(record)
            index.interchanges.append(interchange)
            group = current = None
        elif kind is GroupHeader:
            assert isinstance(record, GroupHeader) and interchange is not None
            group = GroupIndex(record)
            interchange.groups.append(group)
        elif kind is TransactionHeader:
            assert isinstance(record, TransactionHeader) and interchange is not None
            index.set_types[record.set_id] += 1
            current = SetIndex(record)
            if group is None or record.group is None:
                group = GroupIndex(None)
                interchange.groups.append(group)
            group.sets.append(current)
        elif kind is TransactionEnd:
            assert isinstance(record, TransactionEnd)
            if current is not None:
                current.members, current.segments = record.members, record.segments
                if record.enrollment is not None:
                    current.payer_name = record.enrollment.payer_name
                    current.reference = record.enrollment.reference
            current = None
        elif kind is GroupEnd:
            group = None
        elif kind is InterchangeEnd:
            assert isinstance(record, InterchangeEnd)
            if interchange is not None:
                interchange.digest = record.digest
            interchange = group = current = None
        elif kind is Finding:
            assert isinstance(record, Finding)
            if current is not None and record.transaction_control is not None:
                current.findings.append(record)
            elif group is not None and record.group_control is not None:
                group.findings.append(record)
            elif interchange is not None:
                interchange.findings.append(record)
            elif index.interchanges and record.interchange_control is not None:
                index.interchanges[-1].findings.append(record)
            else:
                index.findings.append(record)
        elif kind is GroupAcknowledgment or kind is InterchangeAcknowledgment:
            index.acknowledgments += 1
    return index
