"""`acktrack parse`: a file's envelopes, acknowledgments, members and findings.

Output is streamed: member records are written as they are read, so a 100,000-member
file never becomes one document in memory, and findings and acknowledgments wait in a
temporary file until their place in the output comes. PHI is masked unless asked for.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO

from acktrack.x12 import codes
from acktrack.x12.advice_records import ApplicationAdvice
from acktrack.x12.findings import Finding
from acktrack.x12.reader import read_x12
from acktrack.x12.records import (
    GroupAcknowledgment,
    GroupHeader,
    InterchangeAcknowledgment,
    InterchangeEnd,
    InterchangeHeader,
    MemberTransaction,
    TransactionEnd,
    TransactionHeader,
)


@dataclass
class FileSummary:
    interchanges: int = 0
    groups: int = 0
    transactions: int = 0
    members: int = 0
    ta1: int = 0
    acknowledged_groups: int = 0
    advices: int = 0  # 824 sets (not in ``counts``: the JSON summary's keys stay as they were)
    transaction_types: Counter[str] = field(default_factory=Counter)
    maintenance_types: Counter[str] = field(default_factory=Counter)
    findings_by_severity: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, int]:
        return {
            "interchanges": self.interchanges,
            "groups": self.groups,
            "transactions": self.transactions,
            "members": self.members,
            "ta1": self.ta1,
        }

    def sets_by_type(self) -> dict[str, int]:
        return dict(sorted(self.transaction_types.items()))


def _envelope_line(record: Any) -> str | None:
    if isinstance(record, InterchangeHeader):
        sent = record.sent_at
        when = sent.strftime("%Y-%m-%d %H:%M") if sent else f"{record.date} {record.time}"
        usage = {"P": "production", "T": "test"}.get(record.usage, record.usage)
        ack = ", TA1 requested" if record.acknowledgment_requested else ""
        return (
            f"interchange ISA13 {record.control}  {record.sender_id} -> {record.receiver_id}"
            f"  {when}  {usage}{ack}"
        )
    if isinstance(record, GroupHeader):
        return f"  group GS06 {record.control}  {record.functional_id}  {record.version}"
    if isinstance(record, TransactionEnd):
        kind = record.header.set_id
        members = f"{record.members} members, " if kind == "834" else ""
        return f"    end of set ST02 {record.header.control}: {members}{record.segments} segments"
    return None


def _acknowledgment_lines(record: GroupAcknowledgment | InterchangeAcknowledgment) -> list[str]:
    if isinstance(record, InterchangeAcknowledgment):
        return [
            f"  TA1 for ISA13 {record.control}: {record.status} "
            f"({codes.describe(codes.TA1_STATUS, record.status)}), note {record.note} "
            f"({codes.describe(codes.TA1_NOTE, record.note)})"
        ]
    lines = [
        f"      acknowledges {record.functional_id} group GS06 {record.group_control}: "
        f"AK9 {record.status} ({codes.describe(codes.ACK_STATUS, record.status)}), "
        f"{record.accepted} of {record.included} sets accepted"
    ]
    for error in record.error_codes:
        lines.append(f"        AK9 error {error}: {codes.describe(codes.AK9_ERROR, error)}")
    for ack in record.sets:
        lines.append(
            f"        ST02 {ack.control}: IK5 {ack.status} ({codes.describe(codes.ACK_STATUS, ack.status)})"
        )
        for code in ack.error_codes:
            lines.append(f"          IK5 error {code}: {codes.describe(codes.IK5_ERROR, code)}")
        for segment in ack.segment_errors:
            lines.append(
                f"          IK3 {segment.segment_id} at position {segment.position}: "
                f"{codes.describe(codes.IK3_ERROR, segment.code)}"
            )
            for element in segment.element_errors:
                lines.append(
                    f"            IK4 element {element.position} (ref {element.reference}): "
                    f"{codes.describe(codes.IK4_ERROR, element.code)}"
                )
    return lines


def _advice_lines(record: ApplicationAdvice, show_phi: bool) -> list[str]:
    """An 824: its BGN, and per OTI loop the set it speaks of, the verdict and the TEDs
    (their messages may quote personal data: shown only with ``show_phi``)."""
    rejected = len(record.rejected_items)
    lines = [
        f"      application advice BGN02 {record.reference} of {record.date}: "
        f"{len(record.items) + record.items_dropped} OTI loop(s), {rejected} rejected"
    ]
    for item in record.items:
        about = " ".join(
            part
            for part in (
                f"GS06 {item.group_control}" if item.group_control else "",
                f"ST02 {item.transaction_control}" if item.transaction_control else "",
                f"{item.reference_qualifier} {item.reference}".strip(),
            )
            if part
        )
        member = "".join(
            (
                f"  subscriber {item.subscriber_id}" if item.subscriber_id else "",
                f"  member {item.member_id}" if item.member_id else "",
            )
        )
        lines.append(
            f"        {item.set_type or 'set'} {about}: OTI {item.verdict} "
            f"({codes.describe(codes.APPLICATION_VERDICT, item.verdict)}){member}"
        )
        for error in item.errors:
            message = f": {error.message}" if show_phi and error.message else ""
            lines.append(f"          TED {error.code}{message}")
        if item.errors_dropped:
            lines.append(f"          and {item.errors_dropped} more TED segment(s), not kept")
    if record.items_dropped:
        lines.append(f"        and {record.items_dropped} more OTI loop(s), not kept")
    return lines


def _member_line(member: MemberTransaction, show_phi: bool) -> str:
    kind = "subscriber" if member.is_subscriber else "dependent"
    meaning = codes.MAINTENANCE_TYPE.get(member.maintenance_type, "unknown")
    plans = ", ".join(
        f"{c.insurance_line} {c.plan} {c.coverage_level}".strip() for c in member.coverages
    )
    name = ""
    if show_phi:
        name = f"  {member.last_name or ''}, {member.first_name or ''}  born {member.birth_date or '?'}"
    return (
        f"      member {member.ordinal}  {kind}  INS03 {member.maintenance_type} ({meaning})"
        f"  subscriber {member.subscriber_id or '-'}  member {member.member_supplemental_id or '-'}"
        f"  [{plans}]  segments {member.first_position}-{member.last_position}{name}"
    )


PARALLEL_BYTES = 2 * 1024 * 1024  # below this, a second process costs more than it saves


class _Spooled:
    """Pieces of output kept in a temporary file until their place comes, so that a file
    with millions of findings does not hold them in memory."""

    def __init__(self, separator: str) -> None:
        self.count = 0
        self._separator = separator
        self._file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by write_to

    def add(self, text: str) -> None:
        if self.count:
            self._file.write(self._separator)
        self._file.write(text)
        self.count += 1

    def write(self, text: str) -> None:
        """Part of the piece being written (``add`` starts one)."""
        self._file.write(text)

    def write_to(self, out: TextIO) -> None:
        """Copy every piece to ``out`` and close."""
        with self._file:
            self._file.seek(0)
            shutil.copyfileobj(self._file, out)


def _worth_two_processes(path: Path) -> bool:
    return (os.cpu_count() or 1) > 1 and path.is_file() and path.stat().st_size >= PARALLEL_BYTES


def describe(
    stream: BinaryIO,
    out: TextIO,
    *,
    name: str,
    as_json: bool = False,
    members: bool = False,
    show_phi: bool = False,
    path: Path | None = None,
) -> FileSummary:
    """Write a description of ``stream`` to ``out``. Raises UnreadableX12 if it is not X12.

    ``path``: ``stream``'s file. A large file described as JSON without members is read
    on two processes, with the same output as one.
    """
    records: Iterable[Any]
    if as_json and not members and path is not None and _worth_two_processes(path):
        from acktrack.x12.parallel import read_envelopes_parallel

        next(read_x12(stream), None)  # the same UnreadableX12 as one process gives
        records = read_envelopes_parallel(path)
    else:
        records = read_x12(stream, digest=as_json)
    if as_json:
        return _describe_json(records, out, name=name, members=members, show_phi=show_phi)
    return _describe_text(records, out, name=name, members=members, show_phi=show_phi)


class _Interchanges:
    """The ``interchanges`` of ``parse --json``, written to a temporary file as the records
    come. An interchange (or group) stays open until the next one begins, so a group or
    set that comes late lands where it would if every interchange were held in a list."""

    def __init__(self) -> None:
        self.spool = _Spooled(", ")
        self._open = self._group_open = False
        self._groups = self._transactions = 0
        self._digest: str | None = None

    def header(self, record: InterchangeHeader) -> None:
        self.close()
        self.spool.add(json.dumps({**record.to_dict(), "groups": []})[:-2])  # up to "groups": [
        self._open, self._groups, self._digest = True, 0, None

    def group(self, record: GroupHeader) -> None:
        if not self._open:
            return
        self._close_group()
        text = json.dumps({**record.to_dict(), "transactions": []})[:-2]
        self.spool.write((", " if self._groups else "") + text)
        self._groups += 1
        self._group_open, self._transactions = True, 0

    def transaction(self, entry: dict[str, Any]) -> None:
        if self._open and self._groups:
            self.spool.write((", " if self._transactions else "") + json.dumps(entry))
            self._transactions += 1

    def end(self, digest: str) -> None:
        if self._open:
            self._digest = digest

    def _close_group(self) -> None:
        if self._group_open:
            self.spool.write("]}")
            self._group_open = False

    def close(self) -> None:
        if self._open:
            self._close_group()
            digest = "" if self._digest is None else ', "digest": ' + json.dumps(self._digest)
            self.spool.write("]" + digest + "}")
            self._open = False

    def write_to(self, out: TextIO) -> None:
        self.close()
        out.write("[")
        self.spool.write_to(out)
        out.write("]")


def _tally(summary: FileSummary, record: Any) -> None:
    if isinstance(record, InterchangeHeader):
        summary.interchanges += 1
    elif isinstance(record, GroupHeader):
        summary.groups += 1
    elif isinstance(record, TransactionHeader):
        summary.transactions += 1
        summary.transaction_types[record.set_id] += 1
    elif isinstance(record, TransactionEnd):
        summary.members += record.members
    elif isinstance(record, InterchangeAcknowledgment):
        summary.ta1 += 1
    elif isinstance(record, GroupAcknowledgment):
        summary.acknowledged_groups += 1
    elif isinstance(record, ApplicationAdvice):
        summary.advices += 1
    elif isinstance(record, Finding):
        summary.findings_by_severity[record.severity] += 1


def _describe_text(
    records: Iterable[Any], out: TextIO, *, name: str, members: bool, show_phi: bool
) -> FileSummary:
    summary = FileSummary()
    findings = _Spooled("")
    write = out.write
    for record in records:
        _tally(summary, record)
        if isinstance(record, MemberTransaction):
            summary.maintenance_types[record.maintenance_type] += 1
            if members:
                write(_member_line(record, show_phi) + "\n")
        elif isinstance(record, Finding):
            findings.add(f"  {record.summary()}\n")
        elif isinstance(record, TransactionHeader):
            write(f"    set ST02 {record.control}  {record.set_id}  {record.implementation}\n")
        elif isinstance(record, GroupAcknowledgment | InterchangeAcknowledgment):
            write("\n".join(_acknowledgment_lines(record)) + "\n")
        elif isinstance(record, ApplicationAdvice):
            write("\n".join(_advice_lines(record, show_phi)) + "\n")
        else:
            line = _envelope_line(record)
            if line is not None:
                write(line + "\n")
    counts = summary.counts()
    write(
        f"{name}: {counts['interchanges']} interchange(s), {counts['groups']} group(s), "
        f"{counts['transactions']} transaction set(s), {counts['members']} member(s), "
        f"{counts['ta1']} TA1" + (f", {summary.advices} 824" if summary.advices else "") + "\n"
    )
    if summary.maintenance_types:
        mix = ", ".join(
            f"{count} {codes.MAINTENANCE_TYPE.get(code, 'unknown code ' + code)}"
            for code, count in sorted(summary.maintenance_types.items())
        )
        write(f"maintenance: {mix}\n")
    if findings.count:
        write(f"findings ({findings.count}):\n")
    else:
        write("findings: none\n")
    findings.write_to(out)
    return summary


def _describe_json(
    records: Iterable[Any], out: TextIO, *, name: str, members: bool, show_phi: bool
) -> FileSummary:
    summary = FileSummary()
    findings = _Spooled(", ")
    envelopes = _Interchanges()
    acknowledgments = _Spooled(", ")
    out.write("{" + json.dumps("file") + ": " + json.dumps(name))
    if members:
        out.write(', "members": [')
    first_member = True
    for record in records:
        _tally(summary, record)
        if isinstance(record, MemberTransaction):
            if members:
                out.write(
                    ("" if first_member else ",")
                    + "\n  "
                    + json.dumps(record.to_dict(show_phi=show_phi))
                )
                first_member = False
        elif isinstance(record, Finding):
            findings.add(json.dumps(record.to_dict()))
        elif isinstance(record, InterchangeHeader):
            envelopes.header(record)
        elif isinstance(record, GroupHeader):
            envelopes.group(record)
        elif isinstance(record, TransactionEnd):
            entry = {
                "transaction_control": record.header.control,
                "set_id": record.header.set_id,
                "implementation": record.header.implementation,
                "segments": record.segments,
                "members": record.members,
            }
            if record.enrollment is not None:
                entry["enrollment"] = record.enrollment.to_dict()
            envelopes.transaction(entry)
        elif isinstance(record, InterchangeEnd):
            envelopes.end(record.digest)
        elif isinstance(record, GroupAcknowledgment):
            acknowledgments.add(json.dumps({"type": "999", **record.to_dict()}))
        elif isinstance(record, InterchangeAcknowledgment):
            acknowledgments.add(json.dumps({"type": "TA1", **record.to_dict()}))
        elif isinstance(record, ApplicationAdvice):
            advice = record.to_dict(show_phi=show_phi)
            acknowledgments.add(json.dumps({"type": "824", **advice}))
    if members:
        out.write("\n]")
    out.write(', "interchanges": ')
    envelopes.write_to(out)
    out.write(', "acknowledgments": [')
    acknowledgments.write_to(out)
    out.write('], "findings": [')
    findings.write_to(out)
    out.write("]")
    counts = {**summary.counts(), "sets_by_type": summary.sets_by_type()}
    out.write(', "summary": ' + json.dumps(counts) + "}\n")
    return summary
