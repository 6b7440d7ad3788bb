"""A 999 too large for one invocation: its set responses applied in slices by the file
workflow.

When a file of 999s holds a group acknowledgment with more set responses than
``part_members``, the inbound function stores every acknowledgment of the file (as for any
file) and starts the file workflow instead of applying them: one part per slice of at most
``part_members`` set responses of each. A slice reads the ST02s of its group (keys only),
then only its own sets (``BatchGetItem``), and writes the entries that one application in
one go would write, under the same ids, each set with its counters in one transaction: a
slice run again, or slices in any order, give the one-go result. The workflow's Finish
then gives each acknowledgment its state and notes, and records the file's outcome.
"""

from __future__ import annotations

from typing import Any

from acktrack.correlate.acknowledgments import (
    apply_group_ack_slice,
    finish_group_ack,
    group_ack_slices,
)
from acktrack.domain.ports import (
    AckPartsStore,
    Outcome,
    PartWorkflow,
    PipelineConfig,
)
from acktrack.domain.status import AckState, FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.families import reconcile_families
from acktrack.ingest.parts import (
    ACKNOWLEDGMENTS,
    PartOrder,
    object_job,
    pack_plan,
    part_results,
    record_part,
    unpack,
    with_job,
)


def needs_slices(
    store: AckPartsStore, stored: list[tuple[Any, dict[str, Any]]], config: PipelineConfig
) -> bool:
    """A 999 of this file still to apply answers more sets than one part applies: by its set
    responses, or, without AK2 loops, by the sets of the group its AK9 speaks for (the
    group version's count: one Query)."""
    size = config.part_members
    if not size:
        return False
    for item, detail in stored:
        if item.state == AckState.APPLIED:
            continue
        answered = len(detail["detail"].get("sets", []))
        if not answered:
            versions = store.group_versions(item.our_id, item.partner, item.target_control)
            answered = int(versions[0].sets or 0) if len(versions) == 1 else 0
        if answered > size:
            return True
    return False


def fan_out_acknowledgments(
    ref: ObjectRef, store: AckPartsStore, config: PipelineConfig,
    stored: list[tuple[Any, dict[str, Any]]], workflow: PartWorkflow, outcome: Outcome,
) -> None:  # fmt: skip
    """Start the file workflow over every slice of the file's 999s (each stored already,
    with the detail it was stored from); the workflow's Finish records the file's outcome."""
    size = config.part_members
    acks = [[item.our_id, item.partner, item.target_control, item.sk] for item, _ in stored]
    slices = [group_ack_slices(store, item, detail["detail"], size) for item, detail in stored]
    job = object_job(ACKNOWLEDGMENTS, ref)
    parts = sum(slices)
    # What this invocation counted (its TA1s) is carried to Finish, which records the file.
    carried = {"applied": outcome.applied, "unmatched": outcome.unmatched,
               "acknowledgments": outcome.acknowledgments, "by_partner": outcome.by_partner,
               "ack_seconds": outcome.ack_seconds, "findings": outcome.findings,
               "effectuated": outcome.effectuated}  # fmt: skip
    plan = pack_plan([], sorted(set(outcome.notices)), acks=acks, slice_size=size,
                     carried=carried)  # fmt: skip
    store.begin_job(job, parts, ref, plan)
    orders: list[str] = []
    for number, count in enumerate(slices):
        for piece in range(count):
            order = PartOrder(job=job, index=len(orders), parts=parts, start=number, end=piece,
                              resume=None, kind=ACKNOWLEDGMENTS)  # fmt: skip
            orders.append(order.to_message())
    workflow.start(job, ACKNOWLEDGMENTS, orders)
    outcome.outcome, outcome.parts, outcome.job = FileOutcome.FANNED_OUT, parts, job


def _stored(store: AckPartsStore, entry: list[str]) -> Any:
    our, partner, group_control, sk = entry
    for item in store.acks_for_group(our, partner, group_control):
        if item.sk == sk:
            return item
    raise LookupError(f"acknowledgment {sk} is not in the table: its slice cannot be applied")


def ingest_acknowledgment_part(
    order: PartOrder, store: AckPartsStore, config: PipelineConfig
) -> Outcome:
    """Apply one slice of one stored 999 (``start``: which acknowledgment of the file,
    ``end``: which slice of it), and keep what it counted for Finish."""
    order, _ = with_job(order, store)
    found = Outcome(FileOutcome.PART)
    stored = _stored(store, order.acks[order.start])
    apply_group_ack_slice(store, stored, int(order.end or 0), order.slice_size, found)
    # Families whose duplicate question waited on one of these answers are judged again.
    reconcile_families(store, found.rejudge, found, config.ack_sla_hours)
    result = {"by_partner": found.by_partner, "ack_seconds": found.ack_seconds,
              "findings": found.findings, "effectuated": found.effectuated}  # fmt: skip
    record_part(order, store, result, found)
    return found


def finish_acknowledgments(order: PartOrder, store: AckPartsStore) -> Outcome:
    """The workflow's Finish: every slice is applied; each acknowledgment's state, and the
    file's outcome, once."""
    order, ref = with_job(order, store)
    carried = order.carried
    outcome = Outcome(FileOutcome.ACKNOWLEDGMENTS, parts=order.parts,
                      acknowledgments=int(carried.get("acknowledgments", len(order.acks))),
                      applied=int(carried.get("applied", 0)),
                      unmatched=int(carried.get("unmatched", 0)))  # fmt: skip
    outcome.notices.extend(order.notices)
    for result in [carried, *(unpack(packed) for packed in part_results(order, store))]:
        for partner, values in result.get("by_partner", {}).items():
            for name, value in values.items():
                outcome.count(partner, name, value)
        outcome.ack_seconds += [(partner, int(seconds))
                                for partner, seconds in result.get("ack_seconds", [])]  # fmt: skip
        for kind, count in result.get("findings", {}).items():
            outcome.findings[kind] = outcome.findings.get(kind, 0) + int(count)
        outcome.effectuated += int(result.get("effectuated", 0))
    for entry in order.acks:
        state = finish_group_ack(store, _stored(store, entry))
        if state == AckState.APPLIED:
            outcome.applied += 1
        else:
            outcome.unmatched += 1
    store.record_object(ref, outcome)
    store.finish_job(order.job)
    return outcome
