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

from acktrack.domain.identifiers import clip
from acktrack.domain.index import FileIndex, index_file
from acktrack.domain.ports import (
    ObjectSource,
    OutboundStore,
    Outcome,
    PartWorkflow,
    PipelineConfig,
)
from acktrack.domain.status import FileOutcome, InterchangeStatus
from acktrack.domain.tracked import (
    ObjectRef,
    TrackedInterchange,
    interchange_buckets,
    plan_interchange,
)
from acktrack.ingest.families import reconcile_families
from acktrack.ingest.parts import fan_out
from acktrack.ingest.steps import (
    Plan,
    PlannedSets,
    finish_interchange,
    note_key_problem,
    quarantine,
    sets_by_control,
    write_members,
)
from acktrack.x12 import UnreadableX12, read_x12


def ingest_outbound(
    ref: ObjectRef,
    source: ObjectSource,
    store: OutboundStore,
    config: PipelineConfig,
    parts: PartWorkflow | None = None,
) -> Outcome:
    """Track one outbound object. Never raises for bad input: it quarantines instead.

    A file larger than ``config.part_bytes`` (or of more than ``config.part_members``
    members) is cut in parts run by the file workflow ``parts`` (one invocation each, see
    ``ingest.parts``) when one is given."""
    problem = config.size_problem(ref)
    if problem:
        return quarantine(ref, source, store, problem)
    try:
        with source.open(ref) as stream:
            index = index_file(stream)
    except UnreadableX12 as error:
        return quarantine(ref, source, store, f"not readable as X12: {error.reason}")
    problem = _unusable(index) or _too_many_members(index, config)
    if problem:
        return quarantine(ref, source, store, problem)

    outcome = Outcome(FileOutcome.TRACKED, interchanges=len(index.interchanges))
    note_key_problem(ref, store, config, outcome)
    plans: list[Plan] = []
    for interchange in index.interchanges:
        if not interchange.enrollment_sets:
            continue
        if interchange.header.usage != config.tracked_usage:
            outcome.set_aside(clip(interchange.header.receiver_id), interchange.header.usage,
                              interchanges=1, sets=len(interchange.enrollment_sets),
                              members=interchange.members)  # fmt: skip
            continue
        planned = plan_interchange(
            interchange, ref.bucket, ref.key, ref.received_at, config.envelope_zone,
            buckets=interchange_buckets(interchange, config.sets_per_partition),
        )  # fmt: skip
        if config.our_sender_ids and planned.our_id not in config.our_sender_ids:
            outcome.notices.append("sender_not_ours")
            store.notice(
                "sender_not_ours",
                f"ISA06 of interchange {planned.interchange_control} is not one of our sender ids",
                [ref.key],
                planned.our_id, planned.partner, planned.interchange_control, at=ref.received_at,
            )  # fmt: skip
        plan = _decide(planned, ref, store, outcome)
        if plan is not None:
            plans.append(plan)
    if plans:
        members = index.enrollment_members
        cut = (config.part_bytes and (ref.size or 0) > config.part_bytes) or (
            config.part_members and members > config.part_members
        )
        if cut and parts is not None and fan_out(ref, source, store, config, plans, parts, outcome,
                                                 members):  # fmt: skip
            return outcome  # the file workflow's Finish records the object's outcome
        with source.open(ref) as stream:
            families = write_members(read_x12(stream), PlannedSets(plans), store, ref.received_at,
                                     config.keyring)  # fmt: skip
        for plan in plans:
            finish_interchange(plan, ref, store, outcome)
        # Its families, and any family waiting on an answer that came before this file.
        reconcile_families(store, families | outcome.rejudge, outcome, config.ack_sla_hours)
        for plan in plans:
            store.settle_interchange(
                plan.interchange
            )  # last: a failure before it is finished on retry
    if outcome.duplicates and all(plan.duplicate for plan in plans):
        outcome.outcome = FileOutcome.DUPLICATE
    elif not plans and outcome.redelivered:
        outcome.outcome = FileOutcome.REDELIVERED
    elif not plans and outcome.other_usage:
        outcome.outcome = FileOutcome.OTHER_USAGE

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


def _too_many_members(index: FileIndex, config: PipelineConfig) -> str:
    """More members than one file is tracked with (millions of tiny INS loops, say)."""
    members = index.enrollment_members
    if members <= config.max_file_members:
        return ""
    return (
        f"the file holds {members:,} member transactions; at most "
        f"{config.max_file_members:,} are tracked from one file (split it)"
    )


def _decide(
    planned: TrackedInterchange, ref: ObjectRef, store: OutboundStore, outcome: Outcome
) -> Plan | None:
    """New, resumed, or already tracked (a redelivery or the same interchange elsewhere)?"""
    versions = store.interchange_versions(
        planned.our_id, planned.partner, planned.interchange_control
    )
    same = next((v for v in versions if v.digest == planned.digest), None)
    if same is not None and same.status == InterchangeStatus.COMPLETE:
        if (same.source_bucket, same.source_key) != (ref.bucket, ref.key):
            outcome.duplicates += 1
            store.record_duplicate(same, ref)
        else:
            outcome.redelivered += 1
        if same.settled:
            return None
        # Counted, but a failure stopped what follows (partner, acknowledgments, families).
        return Plan(planned, completed=True, sets=sets_by_control(planned))
    others = [v for v in versions if v.digest != planned.digest]
    if others:
        outcome.notices.append("interchange_control_reused")
        store.notice(
            "interchange_control_reused",
            f"ISA13 {planned.interchange_control} to {planned.partner} was used by "
            f"{len(others) + 1} different interchanges; TA1s for it are matched by date and time",
            [ref.key, *(v.source_key for v in others)],
            planned.our_id, planned.partner, planned.interchange_control, at=ref.received_at,
        )  # fmt: skip
    store.begin_interchange(planned)
    return Plan(planned, sets=sets_by_control(planned))
