"""What the pipeline needs from the outside world, and what it reports back."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from acktrack.domain.acks import AckEntry
from acktrack.domain.error_report import MemberTransaction, ReportedError, StoredErrorRow
from acktrack.domain.events import Notice, Published
from acktrack.domain.expected import ExpectedAction
from acktrack.domain.family import Family, SetAnswer
from acktrack.domain.hashing import Keyring
from acktrack.domain.judgment import Confirmation, FamilyRead, NewFinding
from acktrack.domain.status import Applied, FileOutcome
from acktrack.domain.stored import (
    FamilyPartition,
    ReportedResolution,
    StoredAck,
    StoredInterchange,
    StoredMember,
    StoredSet,
)
from acktrack.domain.tally import Tally
from acktrack.domain.tracked import (
    InsurerMember,
    ObjectRef,
    TrackedInterchange,
    TrackedMember,
    TrackedSet,
)


class ObjectSource(Protocol):
    """Reads and quarantines stored objects (S3 in Lambda and on the local stack)."""

    def open(
        self, ref: ObjectRef, start: int = 0, end: int | None = None
    ) -> AbstractContextManager[BinaryIO]:
        """The object's bytes [start, end) as a stream (``end`` None: to the end)."""
        ...

    def quarantine(self, ref: ObjectRef, reason: str) -> str:
        """Copy the object under the quarantine prefix with its reason; return the new key."""
        ...


class Archive(Protocol):
    """Where files acktrack makes are kept (the reports bucket in AWS)."""

    def put_lines(self, key: str, lines: Iterable[str], content_type: str) -> str:
        """Write the lines as one object under ``key``; return the key written."""
        ...


class PartWorkflow(Protocol):
    """Runs the parts of a file too large for one invocation, then finishes the file: the
    file workflow (Step Functions: a Distributed Map over the part orders, then Finish)."""

    def start(self, job: str, kind: str, orders: list[str]) -> None:
        """Start the job's workflow over its orders (JSON), or raise; starting one job twice
        is harmless (the execution is named after the job)."""
        ...


class PartPieces(Protocol):
    """A split file's pieces, one per part, in the work area (the reports bucket's
    ``work/parts/``, expired after 7 days): written once by the function that splits the
    file, read by the part. They hold identifiers, codes and keyed hashes, never a personal
    value."""

    def put_piece(self, job: str, index: int, body: bytes) -> None: ...
    def read_piece(self, job: str, index: int) -> bytes: ...


class PendingEvents(NamedTuple):
    """One outbox item: the events written with one change, not yet published."""

    key: tuple[str, str]
    notices: list[Notice]
    unreadable: int = 0  # notices this code cannot read (written by a later version): kept


class Outbox(Protocol):
    """Events waiting to be published, and what the report announced last."""

    def pending_events(self, limit: int, start: int = 0) -> Iterable[PendingEvents]:
        """Up to ``limit`` items, read as they are taken, from shard ``start`` on (rotated)."""
        ...

    def events_published(self, done: Sequence[tuple[str, str]]) -> None: ...
    def announced(self) -> dict[str, str]: ...
    def announce(self, key: str, before: str | None, fingerprint: str,
                 notice: Notice | None, at: str) -> bool: ...  # fmt: skip


class EventSink(Protocol):
    """Where events go (an EventBridge bus): returns the ids it could not take."""

    def publish(self, events: Sequence[Published]) -> list[str]: ...


class AcknowledgmentStore(Protocol):
    """What matching a TA1 or 999 to what was sent needs from the store (``correlate``):
    ``store.repository.Repository`` on DynamoDB, an in-memory store in tests/functional."""

    def ack_detail(self, item: Any) -> dict[str, Any]: ...
    def set_ack_state(self, item: Any, state: str, reason: str) -> str: ...
    def group_versions(self, our: str, partner: str, group_control: str) -> Sequence[Any]: ...
    def sets_of_group_version(self, version: Any) -> Sequence[StoredSet]: ...
    def set_controls_of_group_version(self, version: Any) -> Sequence[str]:
        """The ST02 of every set of one group version (keys only: a slice of a large 999
        reads its own sets, ``sets_of_group_version_with``)."""
        ...

    def set_references_of_group_version(self, version: Any) -> Mapping[str, Sequence[str]]:
        """BGN02 -> the ST02s of the version's sets that carried it (keys and BGN02 read)."""
        ...

    def sets_of_group_version_with(
        self, version: Any, controls: Sequence[str]
    ) -> Sequence[StoredSet]: ...
    def sets_of_group(self, our: str, partner: str, group_control: str) -> Sequence[StoredSet]: ...
    def interchange_versions(
        self, our: str, partner: str, control: str
    ) -> Sequence[StoredInterchange]: ...
    def sets_of_interchange(self, version: Any) -> Sequence[StoredSet]: ...
    def members_at(
        self, item: Any, positions: Iterable[int | None]
    ) -> Mapping[int, dict[str, Any] | None]:
        """The member each segment position of one set falls in (one read per set)."""
        ...

    def apply_to_sets(self, entries: Iterable[tuple[Any, str, AckEntry]]) -> Iterator[Applied]: ...
    def revoke_from_set(self, item: Any, ack_id: str) -> Any: ...
    def watchers(self, sets: Sequence[Any]) -> set[tuple[str, str, str]]:
        """The families (our id, partner, subscriber id) waiting on these sets' answers."""
        ...

    def acks_for_group(self, our: str, partner: str, group_control: str) -> Sequence[StoredAck]: ...
    def acks_for_interchange(self, our: str, partner: str, control: str) -> Sequence[StoredAck]: ...


class FamilyReader(Protocol):
    """A subscriber's family partition and a set's status: what the enrollment ledger reads
    (``correlate.enrollments``)."""

    def family(self, our: str, partner: str, subscriber_id: str) -> FamilyPartition: ...
    def get_set(self, pk: str, sk: str) -> StoredSet | None: ...
    def get_sets(self, wanted: Iterable[tuple[str, str]]) -> Mapping[tuple[str, str], StoredSet]:
        """Sets by key, in batches (absent ones left out)."""
        ...


class ResolutionStore(FamilyReader, Protocol):
    """What an operator's resolution needs (``ingest.resolution``): the insurers, a family's
    ledger, and the resolution recorded once."""

    def partners(self) -> Sequence[Any]: ...
    def add_resolution(
        self,
        our: str,
        partner: str,
        subscriber_id: str,
        resolution: Any,
        closed: int,
        *,
        members: Sequence[Any] | None = None,
    ) -> bool:
        """Record a resolution once (False: recorded already); ``members``: the family's
        member items as just read, which spares reading them again for its expiry."""
        ...  # fmt: skip


class PopulationStore(ResolutionStore, Protocol):
    """What monthly reconciliation reads and writes (``ingest.reconciliation``): an insurer's
    sets and their members (to find its families), resolutions, the result."""

    def sets_before_roster(self, our: str, partner: str, before: str | None) -> Iterable[StoredSet]:
        """The insurer's sets sent before ``before`` (all when None) that code before the
        roster wrote: their families may not be in it."""
        ...

    def members_of_set(self, item: Any) -> Iterable[StoredMember]: ...
    def roster(self, our: str, partner: str) -> Iterable[str]:
        """The subscriber ids of every family sent to the insurer since the roster began."""
        ...

    def roster_since(self, our: str, partner: str) -> str | None:
        """When the roster began (ISO 8601, UTC); None: not yet (every set is walked)."""
        ...

    def put_reconciliation(self, summary: Any, rows: list[dict[str, Any]],
                           rcno_key: str | None) -> None: ...  # fmt: skip
    def put_discrepancies(self, summary: Any, part: str, rows: list[dict[str, Any]]) -> int: ...


class ReportSource(FamilyReader, Protocol):
    """What the daily report reads (``report.collect``): the sparse index and counters, never
    a scan. ``Repository`` on DynamoDB; in-memory stores in tests/functional and the
    backlog benchmark."""

    def open_sets(self) -> Iterable[StoredSet]: ...
    def members_of_set(
        self, item: Any, chunks: tuple[int, int] | None = None
    ) -> Iterable[StoredMember]: ...
    def get_members(
        self, wanted: Iterable[tuple[str, str]]
    ) -> Mapping[tuple[str, str], StoredMember]: ...
    def unlist_set(self, item: Any, reopen_on: Iterable[tuple[str, str]] = ()) -> bool:
        """Out of the report's index: every member of it found closed (see the store)."""
        ...

    def partners(self) -> Sequence[Any]: ...
    def sets_since(self, our: str, partner: str, since: str) -> Iterable[StoredSet]: ...
    def counters(self, our: str, partner: str, since_day: str | None = None) -> dict[str, Any]: ...
    def unmatched_acks(self, since: str) -> Iterable[Any]:
        """The window's lists (this, ``quarantined``, ``notices``): what arrived at or after
        ``since`` (ISO 8601, UTC), read by a key condition; older items are not read."""
        ...

    def quarantined(self, since: str) -> Iterable[Any]: ...
    def notices(self, since: str) -> Iterable[Any]: ...
    def other_usage(self, since: str) -> Iterable[Any]: ...
    def quality_findings(self, since: str) -> Iterable[Any]: ...
    def awaiting_effectuation(self, sent_before: str) -> Iterable[StoredMember]: ...
    def reconciliations(self, since: str) -> Iterable[Any]: ...
    def discrepancy_rows(self, item: Any) -> Iterable[dict[str, Any]]: ...
    def control_numbers(
        self, our: str, partner: str, direction: str, level: str
    ) -> Sequence[tuple[str, str]]:
        """The newest control numbers seen with an insurer: (number, when first seen)."""
        ...

    def never_sent(self, due_by: str) -> Iterable[Any]:
        """Expected actions due before ``due_by`` (ISO 8601, UTC) that no 834 has sent."""
        ...

    def operator_resolutions(self, since: str, until: str) -> Iterable[ReportedResolution]:
        """Operators' resolutions recorded at or after ``since`` and at or before ``until``
        (ISO 8601, UTC), oldest first: the sparse index, never a scan."""
        ...


class InsightSource(ReportSource, Protocol):
    """What ``acktrack stats`` and ``acktrack member`` read (``report.insights``)."""

    def source_key(self, pk: str, sk: str) -> str: ...
    def tallies(self, our: str, partner: str, since_day: str) -> dict[str, Tally]:
        """One insurer's counters by sent day since ``since_day`` (``domain.tally``)."""
        ...


class MemberSink(Protocol):
    """Member and insurer-record items of one file, written in batches as they come
    (``store.members.MemberWriter``); leaving it without an error writes the rest."""

    def add(self, member: TrackedMember) -> None: ...
    def add_family(self, our: str, partner: str, subscriber_id: str) -> None: ...
    def add_insurer_member(self, member: InsurerMember) -> None: ...
    def __enter__(self) -> MemberSink: ...
    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None, /) -> None: ...  # fmt: skip


class JobRecord(NamedTuple):
    """What a job holds: the object it cuts (None: begun without it) and the file's plan
    (None: begun by a version whose orders carried it)."""

    source: ObjectRef | None
    plan: bytes | None


class PartJobs(Protocol):
    """A large file's job: its parts' results and keys, the first result of each part kept."""

    def begin_job(self, job: str, parts: int, source: ObjectRef, plan: bytes | None = None) -> None:
        """Create the job unless it exists, keeping the object it cuts and the file's plan
        (the workflow's orders name the job and their range only: an S3 key can name a
        person, and the plan is written once, not once per order)."""
        ...

    def job_record(self, job: str) -> JobRecord | None:
        """The object a job cuts and the file's plan, in one read; None: the job is gone
        (expired) or was never begun."""
        ...

    def record_part(self, job: str, index: int, result: bytes) -> None: ...
    def part_results(self, job: str) -> list[bytes]: ...
    def finish_job(self, job: str) -> None: ...
    def put_part_keys(self, job: str, index: int, name: str, values: list[str]) -> None: ...
    def part_keys(self, job: str, name: str) -> Iterator[str]: ...


class ReportedErrors(Protocol):
    """What applying an insurer's CSV error report needs (``ingest.error_reports``): its
    rows kept once, the families' member transactions they are matched to, and the sets."""

    def put_reported_errors(self, our: str, partner: str, source: str, received_at: datetime,
                            rows: Iterable[ReportedError]) -> int:  # fmt: skip
        """Keep each row once in its family's partition (``source``: the file version); how
        many were new."""
        ...

    def rows_to_apply(self, our: str, partner: str, source: str, received_at: datetime,
                      rows: Iterable[ReportedError]) -> Sequence[StoredErrorRow]:  # fmt: skip
        """The rows as kept, but those applied already."""
        ...

    def family_members(
        self, our: str, partner: str, subscriber_id: str
    ) -> Sequence[MemberTransaction]:
        """A family's member transactions, as rows are matched to them."""
        ...

    def get_sets(self, wanted: Iterable[tuple[str, str]]) -> Mapping[tuple[str, str], StoredSet]:
        """Sets by key, in batches (absent ones left out)."""
        ...

    def add_entries(self, changes: Iterable[tuple[Any, list[tuple[str, AckEntry]]]]) -> None:
        """Entries recorded on sets (each set written once, many a transaction)."""
        ...

    def mark_rows_applied(self, applied: Iterable[tuple[Any, tuple[str, str]]]) -> int:
        """Each row marked applied to the set of that key, once; how many now."""
        ...


# What the use cases in ``ingest`` need, port by port: each use case names the ports it
# uses (``store.repository.Repository`` is every one of them on DynamoDB; the functional
# tests' fakes are the few a use case needs).


class FileLog(Protocol):
    """What became of each file, and the report's notices: every use case."""

    def record_object(self, ref: ObjectRef, outcome: Outcome) -> None: ...
    def notice(self, kind: str, detail: str, source_keys: list[str], *identity: str,
               at: datetime | None = None) -> None: ...  # fmt: skip


class Partners(Protocol):
    """The insurers 834s went to (and the sender id each went out as)."""

    def partners(self) -> Sequence[Any]: ...
    def register_partner(self, our: str, partner: str, payer_name: str) -> None: ...


class FamilyJudge(FamilyReader, Protocol):
    """What a family's reconciliation reads and writes (``ingest.families`` decides when):
    its partition in the domain's terms, set answers, and what a judgment decided
    (``domain.judgment``): findings, watches, effectuation moves with their counts."""

    writer_threads: int

    def family_read(self, family: Any) -> FamilyRead: ...
    def set_answer(self, key: tuple[str, str]) -> SetAnswer | None: ...
    def settle_records(self, family: Any) -> None:
        """Close the expected actions its 834s sent; apply the error-report rows about it."""
        ...

    def write_watches(
        self, key: Family, family: Any, wanted: frozenset[tuple[str, str]]
    ) -> bool: ...
    def write_findings(
        self, key: Family, added: Sequence[NewFinding], dropped: Sequence[str]
    ) -> None: ...
    def write_moves(
        self, families: Sequence[tuple[Family, Any, Sequence[Confirmation]]],
        *, packed: bool = True,
    ) -> None:  # fmt: skip
        """Each move in a conditional transaction with its count (``packed``: families'
        moves share transactions per insurer)."""
        ...


class MemberWrites(Protocol):
    """Member items (ours and the insurer's records) in batches, expiring with the file."""

    def member_writer(self, arrived_at: datetime | None = None) -> MemberSink: ...


class EffectuationStore(MemberWrites, FamilyJudge, Protocol):
    """``ingest.effectuation``: the insurer's records kept, their families reconciled."""


class SentInterchanges(MemberWrites, Protocol):
    """An outbound 834 tracked: its interchange counted once, its sets and members written,
    the insurer's roster begun."""

    writer_threads: int

    def begin_interchange(self, planned: TrackedInterchange) -> None: ...
    def complete_interchange(self, planned: TrackedInterchange) -> bool: ...
    def interchange_version(self, planned: TrackedInterchange) -> StoredInterchange | None: ...
    def interchange_versions(
        self, our: str, partner: str, control: str
    ) -> Sequence[StoredInterchange]: ...
    def settle_interchange(self, planned: TrackedInterchange) -> None: ...
    def record_duplicate(self, version: Any, ref: ObjectRef) -> None: ...
    def put_sets(self, sets: list[TrackedSet]) -> None: ...
    def put_group_version(
        self, planned: TrackedInterchange, group_control: str
    ) -> list[dict[str, str]]: ...
    def begin_roster(self, our: str, partner: str, at: str) -> None:
        """Keep when the insurer's roster began (its first family; later calls change nothing)."""
        ...


class ControlNumbers(Protocol):
    def note_controls(self, our: str, partner: str, direction: str, level: str,
                      controls: Iterable[str], at: str) -> None:  # fmt: skip
        """Keep each control number seen with an insurer once (``domain.sequences``)."""
        ...


class ReceivedAcks(Protocol):
    def put_ack(self, data: dict[str, Any]) -> Any: ...


class ExpectedActions(Protocol):
    def put_expected(self, our: str, actions: Iterable[ExpectedAction]) -> int:
        """Create each expected action once (``domain.expected``); how many were new."""
        ...


class OutboundStore(
    FileLog, Partners, FamilyJudge, SentInterchanges, ControlNumbers, AcknowledgmentStore,
    PartJobs, Protocol,
):  # fmt: skip
    """``ingest.outbound`` and its parts: the file tracked, its families reconciled, the
    acknowledgments that came first applied."""


class ErrorReportStore(FileLog, Partners, FamilyJudge, ReportedErrors, Protocol):
    """``ingest.error_reports``: rows kept and applied, their families reconciled."""


class ExpectedStore(FileLog, Partners, PartJobs, FamilyJudge, ExpectedActions, Protocol):
    """``ingest.expected``: the exchange's actions kept (in parts when large), their
    families reconciled."""


class AckPartsStore(AcknowledgmentStore, FileLog, PartJobs, FamilyJudge, Protocol):
    """``ingest.ack_parts``: a large 999's set responses applied in slices."""


class EffectuationPartsStore(FileLog, PartJobs, EffectuationStore, Protocol):
    """``ingest.effectuation_parts``: a large effectuation 834 held in parts."""


class PopulationPartsStore(PopulationStore, FileLog, PartJobs, Protocol):
    """``ingest.population_parts`` and ``ingest.extract_parts``: a large population held in
    parts."""


class InboundStore(
    AcknowledgmentStore, PopulationStore, PartJobs, ReportedErrors, FileLog, Partners,
    EffectuationStore, ControlNumbers, ReceivedAcks, Protocol,
):  # fmt: skip
    """``ingest.inbound``: every kind of file an insurer sends (TA1, 999, 824, effectuation
    and audit 834s, extracts, error reports), so the ports of the use cases it routes to
    (``AckPartsStore``, ``EffectuationPartsStore``, ``PopulationPartsStore``,
    ``ErrorReportStore``) and the acknowledgments it keeps; none of our outbound files'."""


class EnrollmentStore(InboundStore, SentInterchanges, ExpectedActions, Protocol):
    """Every port the use cases in ``ingest`` use, for the handlers that wire them."""


_UTC = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    our_sender_ids: tuple[str, ...] = ()
    envelope_zone: tzinfo = _UTC
    max_object_bytes: int = 2 * 1024**3
    part_bytes: int = 0  # files larger than this are cut in parts of this size (0: never)
    part_members: int = 0  # outbound files with more members: cut in parts of this many too
    sets_per_partition: int = 10_000  # a larger group version spreads its sets (store.keys)
    expected_send_hours: float = 24.0  # an expected action not sent this long after: never sent
    max_file_members: int = 5_000_000  # an outbound file holding more is refused
    require_insurer_folders: bool = False  # refuse inbound files not under inbound/<insurer id>/
    keyring: Keyring = field(default_factory=Keyring)  # keys the demographic hashes
    tracked_usage: str = "P"  # ISA15 tracked; the other usage is kept apart, never matched
    ack_sla_hours: float = 48.0

    def size_problem(self, ref: ObjectRef) -> str:
        if ref.size is not None and ref.size > self.max_object_bytes:
            return (
                f"the file is {ref.size:,} bytes; files over {self.max_object_bytes:,} bytes are refused "
                "before reading (raise MaxObjectBytes, or split the file)"
            )
        if ref.size == 0:
            return "not readable as X12: the file is empty"
        return ""


@dataclass(slots=True)
class Outcome:
    """What happened to one object; every field is safe to log (no PHI, no raw keys)."""

    outcome: FileOutcome
    reason: str = ""
    interchanges: int = 0
    sets: int = 0
    members: int = 0
    acknowledgments: int = 0
    applied: int = 0
    unmatched: int = 0
    duplicates: int = 0
    redelivered: int = 0
    parts: int = 0  # a large file: the parts it was cut in
    effectuation_records: int = 0
    effectuated: int = 0
    population: int = 0  # members of an insurer's population file
    reconciled_discrepancies: int = 0
    confirmed_by_reconciliation: int = 0
    expected_actions: int = 0  # rows of an extract of expected actions (new or known)
    quarantine_key: str | None = None
    job: str = ""  # a file cut in parts: its job (the part orders name it), for the logs
    notices: list[str] = field(default_factory=list)
    findings: dict[str, int] = field(default_factory=dict)  # new data-quality findings by kind
    by_partner: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # partner -> metric -> value
    ack_seconds: list[tuple[str, int]] = field(
        default_factory=list
    )  # (partner, seconds from sending to the first 999)
    # Families to judge again: an answer came that a duplicate question waited on (not logged).
    rejudge: set[tuple[str, str, str]] = field(default_factory=set)
    # What came in interchanges of the usage this stack does not track (ISA15), by partner:
    # counts only ("test": 1 when that usage is T); nothing of it is tracked or matched.
    other_usage: dict[str, dict[str, int]] = field(default_factory=dict)

    def set_aside(self, partner: str, usage: str, **counts: int) -> None:
        """Count what an interchange of the other usage (ISA15) carried."""
        entry = self.other_usage.setdefault(partner, {"test": int(usage == "T")})
        for name, value in counts.items():
            entry[name] = entry.get(name, 0) + value

    def count(self, partner: str, name: str, value: float) -> None:
        if value:
            entry = self.by_partner.setdefault(partner, {})
            entry[name] = entry.get(name, 0) + value

    def to_log(self) -> dict[str, Any]:
        data: dict[str, Any] = {"outcome": self.outcome}
        for name in ("interchanges", "sets", "members", "acknowledgments", "applied", "unmatched", "duplicates",
                     "redelivered", "parts", "effectuation_records", "effectuated", "population",
                     "reconciled_discrepancies", "confirmed_by_reconciliation",
                     "expected_actions"):  # fmt: skip
            value = getattr(self, name)
            if value:
                data[name] = value
        if self.job:
            data["job"] = self.job
        if self.reason:
            data["reason"] = self.reason
        if self.notices:
            data["notices"] = sorted(set(self.notices))
        if self.findings:
            data["findings"] = dict(sorted(self.findings.items()))
        if self.other_usage:
            data["other_usage"] = {partner: dict(sorted(counts.items()))
                                   for partner, counts in sorted(self.other_usage.items())}  # fmt: skip
        return data
