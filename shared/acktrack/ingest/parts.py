"""A file too large for one invocation: cut in parts, run by the file workflow.

The outbound function reads the envelopes (pass 1) and decides what the file is, as for
any file. When the file is larger than ``PipelineConfig.part_bytes``, or holds more than
``part_members`` members, it cuts the file into byte ranges that each start on a
subscriber (``x12.ranges.plan_parts``: a family is never split) and starts the file
workflow (template.yaml's ``FileWorkflow``, Step Functions) over one order per range. A
Distributed Map runs each part in an invocation of its own: it reads only its range (a
ranged GET), writes its members, reconciles its families and records what it found.
When every part has succeeded, the workflow's Finish task finishes the file exactly as
one invocation would: the sets become visible, counters move once, stored
acknowledgments are applied, the interchanges are settled and the object's outcome is
recorded. The join is the workflow's: Finish runs once the Map is done, and refuses
(to be retried) if a part's result is missing.

Every step is safe to repeat: members are keyed, a part's first result is kept however
often the workflow runs it, and finishing is idempotent.

An order names its job and its range, nothing else: the job item in the table (encrypted
like every item) holds the bucket, key, version, size and arrival once, because an S3 key
can name a person; and it holds the file's plan once (its interchanges, up to 1,000, what
pass 1 noticed, an audit 834's population: ``pack_plan``), so an order is a few hundred
bytes. Orders that carried their plan, and before that their object, are still read
(``legacy``, ``inline``).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from acktrack.domain.identifiers import clip, short_hash
from acktrack.domain.index import index_file
from acktrack.domain.ports import (
    ObjectSource,
    OutboundStore,
    Outcome,
    PartJobs,
    PartWorkflow,
    PipelineConfig,
)
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import (
    MAX_FINDINGS_KEPT,
    MEMBER_STARTS_KEPT,
    ObjectRef,
    TrackedInterchange,
    TrackedSet,
    plan_interchange,
    plan_part_set,
)
from acktrack.ingest.families import reconcile_families
from acktrack.ingest.steps import (
    Plan,
    PlannedSets,
    finish_interchange,
    set_key,
    sets_by_control,
    write_members,
)
from acktrack.x12 import MemberTransaction, TransactionHeader
from acktrack.x12.ranges import ByteRange, ResumePoint, member_targets, plan_parts
from acktrack.x12.reader import X12Reader

MAX_INTERCHANGES = 1000  # a job holds its file's interchanges; more are ingested in one go
MAX_PLAN_BYTES = 300_000  # a plan larger than this (it never is) would not fit the job item
_FINDINGS_PER_PART = 200  # finding details a part keeps (counts are kept in full)


class BadPartOrder(ValueError):
    """A task's order is not a part order (the task fails; the execution's history keeps it)."""


class PartJobMissing(RuntimeError):
    """The job a part order names is not in the table (the task fails, to be retried)."""


class PartsMissing(RuntimeError):
    """Finish found fewer part results than parts (it fails, to be retried)."""


# What orders of earlier versions carried instead of their job's object (read, never sent).
_LEGACY = ("bucket", "key", "version_id", "size", "received_at")
OUTBOUND, POPULATION = "outbound", "population"  # the use case a part belongs to
EFFECTUATION = "effectuation"  # an insurer's effectuation 834
ACKNOWLEDGMENTS = "acknowledgments"  # 999s with more set responses than a part applies
EXPECTED = "expected"  # the exchange's extract of the enrollment actions it took
KINDS = (OUTBOUND, POPULATION, EFFECTUATION, ACKNOWLEDGMENTS, EXPECTED)


@dataclass(frozen=True, slots=True)
class PartOrder:
    """One part of a large file: its job (which holds the object and the file's plan) and
    which bytes (``resume``: where reading starts, the enclosing envelope and set header,
    bounded by ``x12.limits``). No S3 key, no identifiers: orders are the workflow's data."""

    job: str
    index: int
    parts: int
    start: int
    end: int | None
    resume: dict[str, Any] | None
    # The file's plan, read from the job (``with_job``); an order of an earlier version
    # carried it (``inline``). {sequence, our_id, partner, control, digest, completed} of
    # each interchange to ingest.
    interchanges: list[dict[str, Any]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # what pass 1 noticed, for the outcome
    # An insurer's population (an audit 834) instead of an outbound file: whose, as of when.
    population: dict[str, str] | None = None
    kind: str = OUTBOUND  # or POPULATION, EFFECTUATION, ACKNOWLEDGMENTS: the part's use case
    # Stored 999s applied in slices (read from the job): [our id, partner, GS06, ack key] each,
    # and the set responses a slice applies. Such an order's ``start`` is the 999's number,
    # its ``end`` the slice's.
    acks: list[list[str]] = field(default_factory=list)
    slice_size: int = 0
    carried: dict[str, Any] = field(default_factory=dict)  # what the cutting invocation counted
    inline: bool = False  # an order of an earlier version: it carried the plan itself
    legacy: ObjectRef | None = None  # an order of an earlier version named its object

    @property
    def is_population(self) -> bool:
        return self.kind == POPULATION or self.population is not None

    def to_message(self) -> str:
        """What the workflow's Map reads: the job, the part and its range (never the plan)."""
        data: dict[str, Any] = {"job": self.job, "index": self.index, "parts": self.parts,
                                "start": self.start, "end": self.end, "resume": self.resume}  # fmt: skip
        if self.is_population:
            data["kind"] = POPULATION
        elif self.kind != OUTBOUND:
            data["kind"] = self.kind
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_message(cls, body: str) -> PartOrder:
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise BadPartOrder("not a part order: fields missing or of the wrong type")
            for name in ("legacy", "inline"):
                data.pop(name, None)
            old = {name: data.pop(name) for name in _LEGACY if name in data}
            if data.get("kind", OUTBOUND) not in KINDS:
                raise BadPartOrder("not a part order: an unknown kind")
            order = cls(**data, inline="interchanges" in data)
            if not all(isinstance(n, int) for n in (order.index, order.parts, order.start)):
                raise BadPartOrder("not a part order: fields missing or of the wrong type")
            if not 0 <= order.index < order.parts:
                raise BadPartOrder(f"not a part order: part {order.index} of {order.parts}")
            if old:
                legacy = ObjectRef(bucket=old["bucket"], key=old["key"], size=old["size"],
                                   version_id=old["version_id"],
                                   received_at=datetime.fromisoformat(old["received_at"]))  # fmt: skip
                order = replace(order, legacy=legacy)
        except (TypeError, ValueError, KeyError) as error:
            if isinstance(error, BadPartOrder):
                raise
            raise BadPartOrder(f"not a part order: {type(error).__name__}") from None
        return order


def pack_plan(
    interchanges: list[dict[str, Any]],
    notices: list[str],
    population: dict[str, str] | None = None,
    *,
    acks: list[list[str]] | None = None,
    slice_size: int = 0,
    carried: dict[str, Any] | None = None,
) -> bytes:
    """A file's plan, once in its job item (compressed: 1,000 interchanges are well under
    400 KB, ``tests/unit/test_part_orders.py``)."""
    plan: dict[str, Any] = {"interchanges": interchanges, "notices": notices,
                            "population": population}  # fmt: skip
    if acks:
        plan.update(acks=acks, slice_size=slice_size)
    if acks or carried:
        plan["carried"] = carried or {}
    return pack(plan)


def with_job(order: PartOrder, store: PartJobs) -> tuple[PartOrder, ObjectRef]:
    """The order with what its job holds: the object it cuts and the file's plan."""
    if order.legacy is not None:  # the earliest orders carried object and plan alike
        return order, order.legacy
    record = store.job_record(order.job)
    if record is None or record.source is None:
        raise PartJobMissing(
            f"job {order.job} is not in the table (its bookkeeping expired, or it was never "
            "begun): its part cannot be read; the order is kept"
        )
    if order.inline:
        return order, record.source
    if record.plan is None:
        raise PartJobMissing(
            f"job {order.job} holds no plan: its part cannot be read; the order is kept"
        )
    plan = unpack(record.plan)
    return replace(order, interchanges=plan["interchanges"], notices=plan["notices"],
                   population=plan["population"], acks=plan.get("acks", []),
                   slice_size=int(plan.get("slice_size", 0)),
                   carried=plan.get("carried", {})), record.source  # fmt: skip


def object_job(kind: str, ref: ObjectRef) -> str:
    """The job of an inbound file cut in parts: one per object version and use case (a
    redelivered event finds it again)."""
    return short_hash(kind, ref.bucket, ref.key, ref.version_id or "-", size=24)


def job_id(ref: ObjectRef, plans: list[Plan]) -> str:
    """The same file version and interchanges give the same job (a redelivered event
    finds its job again)."""
    versions = (f"V#{plan.interchange.digest[:20]}" for plan in plans)  # as ever: ids in flight
    return short_hash(ref.bucket, ref.key, ref.version_id or "-", *versions, size=24)


def cut_ranges(
    ref: ObjectRef, source: ObjectSource, config: PipelineConfig, members: int
) -> list[ByteRange]:
    """A file's parts: about ``config.part_bytes`` each and, for a file of more than
    ``config.part_members`` members, about that many members each (one range: no cut)."""
    more: list[int] = []
    if config.part_members and members > config.part_members:
        with source.open(ref) as stream:  # a first read counts where the members are
            more = member_targets(stream, config.part_members)
    with source.open(ref) as stream:
        return plan_parts(stream, ref.size or 0, config.part_bytes, more_targets=more)


def fan_out(
    ref: ObjectRef,
    source: ObjectSource,
    store: OutboundStore,
    config: PipelineConfig,
    plans: list[Plan],
    workflow: PartWorkflow,
    outcome: Outcome,
    members: int = 0,
) -> bool:
    """Cut the file in parts and start the file workflow, one order per part: about ``config.part_bytes`` each
    and, for a file of more than ``config.part_members`` members, about that many members
    each (a part's requests follow its members, not its bytes). False: it cannot be cut
    (too few subscribers, line-break terminators, too many interchanges); ingest it in one
    go."""
    if len(plans) > MAX_INTERCHANGES or not ref.size:
        return False
    ranges = cut_ranges(ref, source, config, members)
    if len(ranges) < 2:
        return False
    job = job_id(ref, plans)
    interchanges = [
        {"sequence": plan.interchange.sequence, "our_id": plan.interchange.our_id,
         "partner": plan.interchange.partner, "control": plan.interchange.interchange_control,
         "digest": plan.interchange.digest, "completed": plan.completed,
         **_buckets(plan.interchange)}
        for plan in plans
    ]  # fmt: skip
    plan = pack_plan(interchanges, sorted(set(outcome.notices)))
    if len(plan) > MAX_PLAN_BYTES:
        return False
    store.begin_job(job, len(ranges), ref, plan)  # a redelivered event starts the same job
    orders = [
        PartOrder(job=job, index=index, parts=len(ranges), start=part.start, end=part.end,
                  resume=part.resume.to_dict() if part.resume else None).to_message()
        for index, part in enumerate(ranges)
    ]  # fmt: skip
    workflow.start(job, OUTBOUND, orders)
    outcome.outcome, outcome.parts, outcome.job = FileOutcome.FANNED_OUT, len(ranges), job
    return True


def _buckets(planned: TrackedInterchange) -> dict[str, dict[str, int]]:
    """The partitions of its groups spread over more than one, for the parts and Finish
    (decided once, when the file is cut: the same keys whatever the settings meanwhile)."""
    spread = {item.group_control: item.buckets for item in planned.sets if item.buckets > 1}
    return {"buckets": spread} if spread else {}


class PartSets(PlannedSets):
    """Sets met in one part, planned as they start (the part does not read the whole file)."""

    def __init__(self, order: PartOrder, ref: ObjectRef, config: PipelineConfig) -> None:
        super().__init__([])
        self.interchanges = {int(entry["sequence"]): entry for entry in order.interchanges}
        self.received_at = ref.received_at
        self.zone = config.envelope_zone

    def opened(self, header: TransactionHeader) -> None:
        entry = self.interchanges.get(header.interchange.sequence)
        if entry is None or header.set_id != "834":
            return
        key = set_key(header)
        if key not in self.by_key:
            tracked = plan_part_set(header, entry["our_id"], entry["partner"], entry["control"],
                                    entry["digest"], self.received_at, self.zone)  # fmt: skip
            tracked.buckets = int(entry.get("buckets", {}).get(tracked.group_control, 1))
            self.by_key[key] = tracked
            if entry["completed"]:
                self.written.add(id(tracked))

    def find(self, member: MemberTransaction) -> TrackedSet | None:
        found = super().find(member)
        if found is None:  # a part that starts inside the set
            self.opened(member.header)
            found = super().find(member)
        return found

    def result(self) -> list[list[Any]]:
        """Per set: [sequence, GS06, ST02, last position, finding count, predicted rejection,
        finding details, where its members start (up to ``MEMBER_STARTS_KEPT`` + 1)]."""
        room = _FINDINGS_PER_PART
        rows: list[list[Any]] = []
        for (sequence, group, control), item in self.by_key.items():
            details = item.findings[:room]
            room -= len(details)
            rows.append([sequence, group, control, item.last_position, item.finding_count,
                         item.predicted_rejection, details, item.member_starts])  # fmt: skip
        return rows


def ingest_part(
    order: PartOrder, source: ObjectSource, store: OutboundStore, config: PipelineConfig
) -> Outcome:
    """Write and reconcile one part, and keep its result for Finish."""
    order, ref = with_job(order, store)
    sets = PartSets(order, ref, config)
    resume = ResumePoint.from_dict(order.resume) if order.resume else None
    with source.open(ref, order.start, order.end) as stream:
        reader = X12Reader(stream, resume=resume, partial=order.end is not None)
        families = write_members(reader.records(), sets, store, ref.received_at, config.keyring)
    found = Outcome(FileOutcome.PART)
    reconcile_families(store, families, found, config.ack_sla_hours)
    result = {"sets": sets.result(), "findings": found.findings, "by_partner": found.by_partner,
              "effectuated": found.effectuated, "rostered": True}  # fmt: skip
    record_part(order, store, result, found)
    return found


def record_part(order: PartOrder, store: PartJobs, result: dict[str, Any],
                outcome: Outcome) -> None:  # fmt: skip
    """Keep a part's result (its first: a part run again changes nothing)."""
    store.record_part(order.job, order.index, pack(result))
    outcome.reason = f"part {order.index + 1} of {order.parts}"


def part_results(order: PartOrder, store: PartJobs) -> list[bytes]:
    """Every part's result, for Finish: all of them, or PartsMissing (retried)."""
    results = store.part_results(order.job)
    if len(results) < order.parts:
        raise PartsMissing(
            f"job {order.job}: {len(results)} of {order.parts} parts have a result; "
            "finishing waits for every part"
        )
    return results


def finish_order(job: str, kind: str, parts: int) -> PartOrder:
    """The order Finish works from: the job, its kind and its number of parts."""
    if kind not in KINDS or parts < 1:
        raise BadPartOrder(f"not a finish order: kind {kind!r}, {parts} parts")
    return PartOrder(job=job, index=parts - 1, parts=parts, start=0, end=None, resume=None,
                     kind=kind)  # fmt: skip


def finish(
    order: PartOrder, ref: ObjectRef, source: ObjectSource, store: OutboundStore,
    config: PipelineConfig,
) -> Outcome:  # fmt: skip
    """Every part is written (the workflow's Map is done): finish the file as one
    invocation would have."""
    with source.open(ref) as stream:
        index = index_file(stream)  # envelopes only: the sets' counts and findings
    wanted = {int(entry["sequence"]): entry for entry in order.interchanges}
    outcome = Outcome(FileOutcome.TRACKED, interchanges=len(index.interchanges), parts=order.parts)
    outcome.notices.extend(order.notices)
    plans: list[Plan] = []
    for interchange in index.interchanges:
        if interchange.enrollment_sets and interchange.header.usage != config.tracked_usage:
            outcome.set_aside(clip(interchange.header.receiver_id), interchange.header.usage,
                              interchanges=1, sets=len(interchange.enrollment_sets),
                              members=interchange.members)  # fmt: skip
        entry = wanted.get(interchange.header.sequence)
        if entry is None or not interchange.enrollment_sets:
            continue
        planned = plan_interchange(
            interchange, ref.bucket, ref.key, ref.received_at, config.envelope_zone,
            buckets=entry.get("buckets"),
        )  # fmt: skip
        plans.append(
            Plan(planned, completed=bool(entry["completed"]), sets=sets_by_control(planned))
        )
    by_key = PlannedSets(plans).by_key
    rostered = True
    for packed in part_results(order, store):
        result = unpack(packed)
        _merge(result, by_key, outcome)
        # A part run by code before the roster wrote no roster item: its file's sets are
        # put unmarked, and reconciliation walks them.
        rostered = rostered and bool(result.get("rostered"))
    for item in by_key.values():
        item.rostered = rostered
    for plan in plans:
        finish_interchange(plan, ref, store, outcome)
    # Answers that came first decide the duplicate questions the parts left waiting.
    reconcile_families(store, outcome.rejudge, outcome, config.ack_sla_hours)
    for plan in plans:
        store.settle_interchange(plan.interchange)
    if outcome.duplicates and plans and all(plan.duplicate for plan in plans):
        outcome.outcome = FileOutcome.DUPLICATE
    store.record_object(ref, outcome)
    store.finish_job(order.job)
    return outcome


def _merge(
    result: dict[str, Any], by_key: dict[tuple[int, str, str], TrackedSet], outcome: Outcome
) -> None:
    for sequence, group, control, last, count, rejected, details, *rest in result["sets"]:
        item = by_key.get((sequence, group, control))
        if item is None:
            continue
        item.last_position = max(item.last_position, int(last))
        # A set cut between parts: its members' starts from each (a result from before the
        # field has none: the set then keeps none, and its errors are read as before).
        starts = rest[0] if rest and isinstance(rest[0], list) else None
        if starts is None:
            item.member_starts = [0] * (MEMBER_STARTS_KEPT + 1)  # not known: never kept
        elif len(item.member_starts) <= MEMBER_STARTS_KEPT:
            item.member_starts = sorted({*item.member_starts, *map(int, starts)})
        item.finding_count += int(count)
        item.predicted_rejection = item.predicted_rejection or bool(rejected)
        item.findings.extend(details[: MAX_FINDINGS_KEPT - len(item.findings)])
    for kind, count in result["findings"].items():
        outcome.findings[kind] = outcome.findings.get(kind, 0) + count
    for partner, values in result["by_partner"].items():
        for name, value in values.items():
            outcome.count(partner, name, value)
    outcome.effectuated += int(result["effectuated"])


def pack(result: dict[str, Any]) -> bytes:
    """A part's result, compressed (a DynamoDB item holds 400 KB)."""
    return zlib.compress(json.dumps(result, separators=(",", ":")).encode(), 6)


def unpack(data: bytes) -> dict[str, Any]:
    return dict(json.loads(zlib.decompress(data)))
