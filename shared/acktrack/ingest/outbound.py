"""An outbound 834 lands: track every member transaction in it.

Pass 1 (``index_file``) reads the envelopes only and decides what the file is. Pass 2
streams the members of the interchanges that are new (or whose ingest was cut short)
into the store in batches. Then the sets become visible to acknowledgments, the
interchange is completed (counters move exactly once), and acknowledgments that
arrived before this file are applied.

An interchange is identified by (our id, partner, ISA13, content digest): the same
content under a second key is a duplicate and is not counted twice; different
content under a used ISA13 (or GS06) is tracked and flagged, because an
acknowledgment cannot tell the two apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from acktrack.store.keys import clip
from acktrack.tracking import inbound
from acktrack.tracking.family import Family
from acktrack.tracking.index import FileIndex, index_file
from acktrack.tracking.sources import ObjectSource, Outcome, PartQueue, PipelineConfig
from acktrack.tracking.tracked import (
    ObjectRef,
    TrackedInterchange,
    TrackedSet,
    plan_interchange,
    track_member,
)
from acktrack.x12 import Finding, MemberTransaction, TransactionHeader, UnreadableX12, read_x12
from acktrack.x12.reader import Record

if TYPE_CHECKING:
    from acktrack.store.repository import Repository


@dataclass(slots=True)
class Plan:
    interchange: TrackedInterchange
    completed: bool = False  # counted already; its members are written: settle it only
    duplicate: bool = False  # another key's ingest of the same interchange completed it first
    sets: dict[tuple[str, str], TrackedSet] = field(default_factory=dict)  # (gs06, st02) -> set


def ingest_outbound(
    ref: ObjectRef,
    source: ObjectSource,
    store: Repository,
    config: PipelineConfig,
    parts: PartQueue | None = None,
) -> Outcome:
    """Track one outbound object. Never raises for bad input: it quarantines instead.

    A file larger than ``config.part_bytes`` is cut in parts sent to ``parts`` (one
    invocation each, see ``fanout``) when a queue is given."""
    problem = config.size_problem(ref)
    if problem:
        return inbound.quarantine(ref, source, store, problem)
    try:
        with source.open(ref) as stream:
            index = index_file(stream)
    except UnreadableX12 as error:
        return inbound.quarantine(ref, source, store, f"not readable as X12: {error.reason}")
    problem = _unusable(index)
    if problem:
        return inbound.quarantine(ref, source, store, problem)

    outcome = Outcome("tracked", interchanges=len(index.interchanges))
    plans: list[Plan] = []
    for interchange in index.interchanges:
        if not interchange.enrollment_sets:
            continue
        planned = plan_interchange(
            interchange, ref.bucket, ref.key, ref.received_at, config.envelope_zone
        )
        if config.our_sender_ids and planned.our_id not in config.our_sender_ids:
            outcome.notices.append("sender_not_ours")
            store.notice(
                "sender_not_ours",
                f"ISA06 of interchange {planned.interchange_control} is not one of our sender ids",
                [ref.key],
                planned.our_id, planned.partner, planned.interchange_control,
            )  # fmt: skip
        plan = _decide(planned, ref, store, outcome)
        if plan is not None:
            plans.append(plan)
    if plans:
        if parts is not None and config.part_bytes and (ref.size or 0) > config.part_bytes:
            from acktrack.tracking.fanout import fan_out

            if fan_out(ref, source, store, config, plans, parts, outcome):
                return outcome  # the part counted last records the object's outcome
        with source.open(ref) as stream:
            families = write_members(read_x12(stream), PlannedSets(plans), store, ref.received_at)
        for plan in plans:
            finish_interchange(plan, ref, store, outcome)
        reconcile_families(store, families, outcome)
        for plan in plans:
            store.settle_interchange(
                plan.interchange
            )  # last: a failure before it is finished on retry
    if outcome.duplicates and all(plan.duplicate for plan in plans):
        outcome.outcome = "duplicate"
    elif not plans and outcome.redelivered:
        outcome.outcome = "redelivered"
    store.record_object(ref, outcome)
    return outcome


def _unusable(index: FileIndex) -> str:
    if index.fatal:
        first = index.fatal[0]
        return (
            f"damaged or truncated: {first.scheme} {first.code} ({first.meaning}): {first.detail}"
        )
    if not index.enrollment_members and not any(i.enrollment_sets for i in index.interchanges):
        return f"an outbound file must hold 834 transaction sets; this one holds {index.describe_content()}"
    return ""


def _decide(
    planned: TrackedInterchange, ref: ObjectRef, store: Repository, outcome: Outcome
) -> Plan | None:
    """New, resumed, or already tracked (a redelivery or the same interchange elsewhere)?"""
    versions = store.interchange_versions(
        planned.our_id, planned.partner, planned.interchange_control
    )
    same = next((v for v in versions if v.sk == planned.sk), None)
    if same is not None and same.status == "complete":
        if (same.source_bucket, same.source_key) != (ref.bucket, ref.key):
            outcome.duplicates += 1
            store.record_duplicate(same, ref)
        else:
            outcome.redelivered += 1
        if same.settled:
            return None
        # Counted, but a failure stopped what follows (partner, acknowledgments, families).
        return Plan(planned, completed=True, sets=sets_by_control(planned))
    others = [v for v in versions if v.sk != planned.sk]
    if others:
        outcome.notices.append("interchange_control_reused")
        store.notice(
            "interchange_control_reused",
            f"ISA13 {planned.interchange_control} to {planned.partner} was used by "
            f"{len(others) + 1} different interchanges; TA1s for it are matched by date and time",
            [ref.key, *(v.source_key for v in others)],
            planned.our_id, planned.partner, planned.interchange_control,
        )  # fmt: skip
    store.begin_interchange(planned)
    return Plan(planned, sets=sets_by_control(planned))


def sets_by_control(planned: TrackedInterchange) -> dict[tuple[str, str], TrackedSet]:
    return {(item.group_control, item.transaction_control): item for item in planned.sets}


def set_key(header: TransactionHeader) -> tuple[int, str, str]:
    """(ISA sequence, GS06, ST02) as the tracked set stores them (over-long values clipped)."""
    return (header.interchange.sequence, clip(header.group_control) or "-", clip(header.control))


class PlannedSets:
    """The tracked sets of the interchanges being ingested, by (ISA sequence, GS06, ST02)."""

    def __init__(self, plans: list[Plan]) -> None:
        self.by_key = {
            (plan.interchange.sequence, group, control): item
            for plan in plans
            for (group, control), item in plan.sets.items()
        }
        # A settling pass only collects families: its members are written already.
        self.written = {id(item) for plan in plans if plan.completed for item in plan.sets.values()}

    def find(self, member: MemberTransaction) -> TrackedSet | None:
        return self.by_key.get(set_key(member.header))

    def opened(self, header: TransactionHeader) -> None:
        """A set starts (planned sets are known already)."""

    def matching(self, group_control: str | None, transaction_control: str) -> list[TrackedSet]:
        wanted = (clip(group_control) or "-", clip(transaction_control))
        return [item for (_, group, control), item in self.by_key.items()
                if (group, control) == wanted]  # fmt: skip


def _members(
    records: Iterable[Record], sets: PlannedSets
) -> Iterator[tuple[MemberTransaction, TrackedSet, list[Finding]]]:
    """Members of the wanted interchanges, each with the findings about it."""
    pending: tuple[MemberTransaction, TrackedSet, list[Finding]] | None = None
    for record in records:
        if type(record) is MemberTransaction:
            assert isinstance(record, MemberTransaction)
            if pending is not None:
                yield pending
            tracked = sets.find(record)
            pending = (record, tracked, []) if tracked is not None else None
        elif type(record) is Finding:
            assert isinstance(record, Finding)
            if pending is not None and record.member_ordinal == pending[0].ordinal:
                pending[2].append(record)
                pending[1].add_finding(record)
            elif record.transaction_control is not None and record.segment_id == "BGN":
                for item in sets.matching(record.group_control, record.transaction_control):
                    item.add_finding(record)
        else:
            if type(record) is TransactionHeader:
                assert isinstance(record, TransactionHeader)
                sets.opened(record)
            if pending is not None:
                yield pending
                pending = None
    if pending is not None:
        yield pending


def write_members(
    records: Iterable[Record], sets: PlannedSets, store: Repository, arrived_at: datetime
) -> set[Family]:
    """Write every member; return the families they belong to, for reconciliation."""
    # Family keys only: the members are in the table once the writer closes, and a
    # reconciliation reads its family's partition consistently (memory stays flat in size).
    families: set[Family] = set()
    current_set: TrackedSet | None = None
    family_id: str | None = None
    with store.member_writer(arrived_at) as writer:
        for member, tracked, findings in _members(records, sets):
            if tracked is not current_set:
                current_set, family_id = tracked, None
            tracked.last_position = max(tracked.last_position, member.last_position)
            stored = track_member(member, tracked, findings)
            if member.subscriber_indicator == "Y":
                family_id = member.subscriber_id
            elif family_id is not None and member.subscriber_id != family_id:
                stored.set_findings.append("mixed_subscriber_ids")
            if id(tracked) not in sets.written:
                writer.add(stored)
            if stored.subscriber_id:
                families.add((stored.our_id, stored.partner, stored.subscriber_id))
    return families


_FAMILY_CHUNK = 512


def reconcile_families(store: Repository, families: set[Family], outcome: Outcome) -> None:
    """Recompute each touched family's findings and effectuations (a few threads)."""
    if not families:
        return
    keys = sorted(families)

    def one(family: Family) -> tuple[Family, Any]:
        return family, store.reconcile_family(*family)

    with ThreadPoolExecutor(
        max_workers=store.writer_threads, thread_name_prefix="acktrack-family"
    ) as pool:
        # In chunks: pool.map submits everything at once (a future per family).
        changes = (
            change
            for start in range(0, len(keys), _FAMILY_CHUNK)
            for change in pool.map(one, keys[start : start + _FAMILY_CHUNK])
        )
        for (_, partner, _), change in changes:
            for kind, count in change.new_findings.items():
                if not count:
                    continue
                outcome.findings[kind] = outcome.findings.get(kind, 0) + count
                outcome.count(partner, "findings", count)
            outcome.count(partner, "effectuated", change.effectuated - change.uneffectuated)
            outcome.effectuated += change.effectuated - change.uneffectuated


def finish_interchange(plan: Plan, ref: ObjectRef, store: Repository, outcome: Outcome) -> None:
    interchange = plan.interchange
    store.put_sets(interchange.sets)
    for group_control in interchange.group_controls:
        versions = store.put_group_version(interchange, group_control)
        if len(versions) > 1:
            outcome.notices.append("group_control_reused")
            store.notice(
                "group_control_reused",
                f"GS06 {group_control} to {interchange.partner} was used by {len(versions)} different "
                "interchanges; a 999 for it cannot tell them apart and is not applied",
                [ref.key, *(v.get("source_key", "") for v in versions if v.get("source_key") != ref.key)],
                interchange.our_id, interchange.partner, group_control,
            )  # fmt: skip
            inbound.revoke_group_acks(store, interchange.our_id, interchange.partner, group_control)
    if store.complete_interchange(interchange):
        outcome.members += interchange.members
        outcome.sets += len(interchange.sets)
        outcome.count(interchange.partner, "sent", interchange.members)
    elif not plan.completed:
        # Ingested at the same time under two keys: the one completed first is tracked.
        version = store.interchange_version(interchange)
        if version is not None and (version.source_bucket, version.source_key) != (
            ref.bucket,
            ref.key,
        ):
            plan.duplicate = True
            outcome.duplicates += 1
            store.record_duplicate(version, ref)
    same_control = store.interchange_versions(
        interchange.our_id, interchange.partner, interchange.interchange_control
    )
    if len(same_control) > 1:
        inbound.revoke_ambiguous_ta1s(
            store, interchange.our_id, interchange.partner, interchange.interchange_control
        )
    store.register_partner(interchange.our_id, interchange.partner, _payer(interchange))
    inbound.apply_stored_acks(store, interchange, outcome)


def _payer(interchange: TrackedInterchange) -> str:
    return next((item.payer_name for item in interchange.sets if item.payer_name), "")
