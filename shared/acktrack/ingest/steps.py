"""Steps the ingest use cases share: quarantine a file, plan an interchange's sets,
write its members, and finish it (count it once, register the insurer, apply
acknowledgments that came first). Their families are reconciled by ``ingest.families``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from acktrack.correlate import acknowledgments, advice
from acktrack.domain.family import Family
from acktrack.domain.hashing import Keyring
from acktrack.domain.identifiers import clip
from acktrack.domain.ports import (
    FileLog,
    ObjectSource,
    OutboundStore,
    Outcome,
    PipelineConfig,
)
from acktrack.domain.sequences import GROUP, INTERCHANGE, OUTBOUND
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import (
    MEMBER_STARTS_KEPT,
    ObjectRef,
    TrackedInterchange,
    TrackedSet,
    iso,
    track_member,
)
from acktrack.x12 import Finding, MemberTransaction, TransactionHeader
from acktrack.x12.reader import Record


def note_key_problem(
    ref: ObjectRef, store: FileLog, config: PipelineConfig, outcome: Outcome
) -> None:
    """The demographic hash key cannot be used: tracking goes on, and the file's outcome, a
    metric and the report's notices (one a day) say what waits until the key is readable."""
    problem = config.keyring.problem
    if not problem:
        return
    outcome.notices.append("hash_key_unavailable")
    day = ref.received_at.date().isoformat()
    store.notice(
        "hash_key_unavailable",
        f"{problem}: no demographic hash is kept while it lasts, so reconciliation compares no "
        "personal field, and a dependent without a member id is a person of its own",
        [], day, at=ref.received_at,
    )  # fmt: skip


def quarantine(ref: ObjectRef, source: ObjectSource, store: FileLog, reason: str) -> Outcome:
    """Keep an unusable file aside with its reason; nothing else is lost or stopped."""
    key = source.quarantine(ref, reason)
    outcome = Outcome(FileOutcome.QUARANTINED, reason=reason, quarantine_key=key)
    store.record_object(ref, outcome)
    return outcome


@dataclass(slots=True)
class Plan:
    interchange: TrackedInterchange
    completed: bool = False  # counted already; its members are written: settle it only
    duplicate: bool = False  # another key's ingest of the same interchange completed it first
    sets: dict[tuple[str, str], TrackedSet] = field(default_factory=dict)  # (gs06, st02) -> set


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
    records: Iterable[Record],
    sets: PlannedSets,
    store: OutboundStore,
    arrived_at: datetime,
    keyring: Keyring | None = None,
) -> set[Family]:
    """Write every member; return the families they belong to, for reconciliation."""
    # Family keys only: the members are in the table once the writer closes, and a
    # reconciliation reads its family's partition consistently (memory stays flat in size).
    families: set[Family] = set()
    listed: set[Family] = set()  # put in the roster by this invocation
    insurers: set[tuple[str, str]] = set()
    current_set: TrackedSet | None = None
    family_id: str | None = None
    with store.member_writer(arrived_at) as writer:
        for member, tracked, findings in _members(records, sets):
            if tracked is not current_set:
                current_set, family_id = tracked, None
            tracked.last_position = max(tracked.last_position, member.last_position)
            if len(tracked.member_starts) <= MEMBER_STARTS_KEPT:  # one more: too many to keep
                tracked.member_starts.append(member.first_position)
            stored = track_member(member, tracked, findings, keyring)
            if member.subscriber_indicator == "Y":
                family_id = member.subscriber_id
            elif family_id is not None and member.subscriber_id != family_id:
                stored.set_findings.append("mixed_subscriber_ids")
            if id(tracked) not in sets.written:
                writer.add(stored)
            if stored.subscriber_id:
                family = (stored.our_id, stored.partner, stored.subscriber_id)
                # A set written already (a settling pass, a redelivery) keeps the roster
                # items its first ingest wrote: an older event run again never shortens one.
                if family not in listed and id(tracked) not in sets.written:
                    if family[:2] not in insurers:  # the insurer's first family here
                        began = iso(arrived_at + ROSTER_MARGIN)
                        store.begin_roster(stored.our_id, stored.partner, began)
                        insurers.add(family[:2])
                    writer.add_family(*family)  # the insurer's roster (reconciliation)
                    listed.add(family)
                families.add(family)
    return families


# The roster's start is set this far after the first file that writes it: an invocation of
# the code before the roster (a container still running through the deploy, at most 15
# minutes) may write sets whose envelope time is a little later; those are walked too.
ROSTER_MARGIN = timedelta(minutes=20)


def finish_interchange(plan: Plan, ref: ObjectRef, store: OutboundStore, outcome: Outcome) -> None:
    interchange = plan.interchange
    if not plan.completed:  # a completed interchange's sets are all there (put before it)
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
                interchange.our_id, interchange.partner, group_control, at=ref.received_at,
            )  # fmt: skip
            acknowledgments.revoke_group_acks(
                store, interchange.our_id, interchange.partner, group_control
            )
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
        acknowledgments.revoke_ambiguous_ta1s(
            store, interchange.our_id, interchange.partner, interchange.interchange_control
        )
    store.register_partner(interchange.our_id, interchange.partner, _payer(interchange))
    for level, controls in ((INTERCHANGE, [interchange.interchange_control]),
                            (GROUP, interchange.group_controls)):  # fmt: skip
        store.note_controls(interchange.our_id, interchange.partner, OUTBOUND, level, controls,
                            interchange.sent_at)  # fmt: skip
    acknowledgments.apply_stored_acks(store, interchange, outcome)
    advice.apply_stored_advices(store, interchange, outcome)


def _payer(interchange: TrackedInterchange) -> str:
    return next((item.payer_name for item in interchange.sets if item.payer_name), "")
