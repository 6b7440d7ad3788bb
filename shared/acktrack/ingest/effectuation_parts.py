"""An insurer's effectuation 834 too large for one invocation: cut in parts on
subscribers, like a large outbound 834 (``ingest.parts``), by bytes (``PartBytes``) and by
members (``PartMembers``).

Each part reads its byte range, stores the insurer's records it holds and reconciles the
families they name; a family is never split (the cuts are on subscribers), so a part
judges each of its families whole. The file workflow's Finish adds the parts' counts and
records the object's outcome. Every step is safe to repeat: records are keyed, a family's
reconciliation writes only what changed, and a part's first result is kept however often
the workflow runs it.
"""

from __future__ import annotations

from typing import Any

from acktrack.domain.ports import (
    EffectuationPartsStore,
    ObjectSource,
    Outcome,
    PartWorkflow,
    PipelineConfig,
)
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.effectuation import effectuate
from acktrack.ingest.parts import (
    EFFECTUATION,
    PartOrder,
    cut_ranges,
    object_job,
    pack_plan,
    part_results,
    record_part,
    unpack,
    with_job,
)
from acktrack.x12.ranges import ResumePoint
from acktrack.x12.reader import X12Reader


def fan_out_effectuation(
    ref: ObjectRef, source: ObjectSource, store: EffectuationPartsStore, config: PipelineConfig,
    workflow: PartWorkflow, outcome: Outcome, members: int,
) -> bool:  # fmt: skip
    """Cut the file in parts and start the file workflow over them (False: it cannot be
    cut, or is small enough for one invocation)."""
    by_bytes = bool(config.part_bytes) and (ref.size or 0) > config.part_bytes
    by_members = bool(config.part_members) and members > config.part_members
    if not ref.size or not (by_bytes or by_members):
        return False
    ranges = cut_ranges(ref, source, config, members)
    if len(ranges) < 2:
        return False
    job = object_job(EFFECTUATION, ref)
    store.begin_job(job, len(ranges), ref, pack_plan([], sorted(set(outcome.notices))))
    orders = [
        PartOrder(job=job, index=index, parts=len(ranges), start=part.start, end=part.end,
                  resume=part.resume.to_dict() if part.resume else None,
                  kind=EFFECTUATION).to_message()
        for index, part in enumerate(ranges)
    ]  # fmt: skip
    workflow.start(job, EFFECTUATION, orders)
    outcome.outcome, outcome.parts, outcome.job = FileOutcome.FANNED_OUT, len(ranges), job
    return True


def ingest_effectuation_part(
    order: PartOrder, source: ObjectSource, store: EffectuationPartsStore, config: PipelineConfig
) -> Outcome:
    """Store and reconcile one part, and keep its result for Finish."""
    order, ref = with_job(order, store)
    resume = ResumePoint.from_dict(order.resume) if order.resume else None
    found = Outcome(FileOutcome.PART)
    with source.open(ref, order.start, order.end) as stream:
        reader = X12Reader(stream, resume=resume, partial=order.end is not None)
        effectuate(reader.records(), ref, store, config, found)
    result = {"records": found.effectuation_records, "effectuated": found.effectuated,
              "findings": found.findings, "by_partner": found.by_partner,
              "notices": sorted(set(found.notices))}  # fmt: skip
    record_part(order, store, result, found)
    return found


def finish_effectuation(order: PartOrder, store: EffectuationPartsStore) -> Outcome:
    """The workflow's Finish: every part is stored; the file's outcome, once."""
    order, ref = with_job(order, store)
    outcome = Outcome(FileOutcome.EFFECTUATION, parts=order.parts)
    outcome.notices.extend(order.notices)
    for packed in part_results(order, store):
        _merge(unpack(packed), outcome)
    store.record_object(ref, outcome)
    store.finish_job(order.job)
    return outcome


def _merge(result: dict[str, Any], outcome: Outcome) -> None:
    outcome.effectuation_records += int(result["records"])
    outcome.effectuated += int(result["effectuated"])
    outcome.notices.extend(result["notices"])
    for kind, count in result["findings"].items():
        outcome.findings[kind] = outcome.findings.get(kind, 0) + int(count)
    for partner, values in result["by_partner"].items():
        for name, value in values.items():
            outcome.count(partner, name, value)
