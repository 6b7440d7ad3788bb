"""An insurer's population too large for one invocation (an audit 834 over PartBytes or
PartMembers): cut in parts on subscribers, like a large outbound 834 (``ingest.parts``). A
large reconciliation extract is split into pieces first (``extract_parts``), and each piece
is then held here as a part.

Each part reads only its byte range (or its piece), holds its families against ours, confirms what the
insurer holds, writes its discrepancy rows and its codes file, and records its counts, the
families it named and the members of ours it found (in compressed chunks). The file
workflow's Finish then finds what the insurer does not hold (ours in force in families no
part named, or not found where a family was named) and writes the summary. Memory stays
flat in the file's size: a part holds its own families; Finish holds the keys recorded.
"""

from __future__ import annotations

from typing import Any

from acktrack.correlate.enrollments import SetStatuses
from acktrack.domain.population import population_member
from acktrack.domain.ports import (
    Archive,
    ObjectSource,
    Outcome,
    PartPieces,
    PartWorkflow,
    PipelineConfig,
    PopulationPartsStore,
)
from acktrack.domain.reconciliation import (
    PopulationMember,
    discrepancy_rows,
    rcno_lines,
    tally,
)
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.extract_parts import piece_members
from acktrack.ingest.parts import (
    POPULATION,
    PartOrder,
    cut_ranges,
    object_job,
    pack_plan,
    part_results,
    record_part,
    unpack,
    with_job,
)
from acktrack.ingest.reconciliation import (
    Found,
    PopulationMeta,
    by_family,
    held_families,
    missing_families,
    rcno_key,
    reconciled,
)
from acktrack.x12 import MemberTransaction
from acktrack.x12.ranges import ResumePoint
from acktrack.x12.reader import X12Reader

TEXT = "text/plain; charset=utf-8"


def fan_out_population(
    ref: ObjectRef, source: ObjectSource, store: PopulationPartsStore, config: PipelineConfig,
    meta: PopulationMeta, digest: str, workflow: PartWorkflow, members: int = 0,
    notices: list[str] | None = None,
) -> Outcome | None:  # fmt: skip
    """Cut the audit 834 in parts (about ``part_bytes`` and ``part_members`` each: a part's
    requests follow its families) and start the file workflow over them (None: it is small
    enough for one invocation, or cannot be cut)."""
    by_bytes = bool(config.part_bytes) and (ref.size or 0) > config.part_bytes
    by_members = bool(config.part_members) and members > config.part_members
    if not ref.size or not (by_bytes or by_members):
        return None
    ranges = cut_ranges(ref, source, config, members)
    if len(ranges) < 2:
        return None
    job = object_job(POPULATION, ref)
    population = {"our_id": meta.our_id, "partner": meta.partner, "as_of": meta.as_of,
                  "source": meta.source, "digest": digest}  # fmt: skip
    # The job holds the object and the population, once: an order is its range only.
    store.begin_job(job, len(ranges), ref, pack_plan([], sorted(set(notices or [])), population))
    orders = [
        PartOrder(
            job=job, index=index, parts=len(ranges), start=part.start, end=part.end,
            resume=part.resume.to_dict() if part.resume else None, population=population,
        ).to_message()  # the population marks its kind; its values stay in the job
        for index, part in enumerate(ranges)
    ]  # fmt: skip
    workflow.start(job, POPULATION, orders)
    return Outcome(FileOutcome.FANNED_OUT, parts=len(ranges), job=job)


def _meta(order: PartOrder) -> tuple[PopulationMeta, str]:
    data = order.population or {}
    meta = PopulationMeta(data["our_id"], data["partner"], data["as_of"], data["source"])
    return meta, data["digest"]


def ingest_population_part(
    order: PartOrder, source: ObjectSource, store: PopulationPartsStore, config: PipelineConfig,
    archive: Archive | None, pieces: PartPieces | None = None,
) -> Outcome:  # fmt: skip
    """Hold one part's families against ours, and keep its result for Finish."""
    order, ref = with_job(order, store)
    meta, digest = _meta(order)
    if (order.population or {}).get("pieces"):  # a split extract: this part's piece
        if pieces is None:
            raise RuntimeError("a split extract's part needs the work area (REPORTS_BUCKET)")
        members = piece_members(pieces.read_piece(order.job, order.index))
    else:
        members = _audit_members(order, ref, source, config)
    statuses = SetStatuses(store)
    found = held_families(by_family(members), meta, digest, ref.received_at, store, statuses,
                          config)  # fmt: skip
    summary = meta.summary(digest, ref.received_at, theirs=len(members), ours=found.ours,
                           confirmed=found.confirmed)  # fmt: skip
    tally(summary, found.comparisons)
    rows = discrepancy_rows(meta.partner, found.comparisons)
    chunks = store.put_discrepancies(summary, f"p{order.index:05d}-", rows)
    if archive is not None:
        archive.put_lines(rcno_key(meta, digest, f".part-{order.index + 1:05d}"),
                          rcno_lines(found.comparisons), TEXT)  # fmt: skip
    result = {"theirs": len(members), "ours": found.ours, "confirmed": found.confirmed,
              "matched": summary.matched, "missing_at_insurer": summary.missing_at_insurer,
              "insurer_only": summary.insurer_only, "by_field": summary.by_field,
              "discrepancies": len(rows), "chunks": chunks}  # fmt: skip
    for name in ("named", "matched", "deferred"):  # before the part is counted
        store.put_part_keys(order.job, order.index, name, sorted(getattr(found, name)))
    outcome = Outcome(FileOutcome.PART)
    record_part(order, store, result, outcome)
    return outcome


def _audit_members(
    order: PartOrder, ref: ObjectRef, source: ObjectSource, config: PipelineConfig
) -> list[PopulationMember]:
    """The members of an audit 834's part: its byte range, read."""
    resume = ResumePoint.from_dict(order.resume) if order.resume else None
    members = []
    with source.open(ref, order.start, order.end) as stream:
        for record in X12Reader(stream, resume=resume, partial=order.end is not None).records():
            if type(record) is MemberTransaction:
                assert isinstance(record, MemberTransaction)
                members.append(population_member(record, config.keyring))
    return members


def finish_population(
    order: PartOrder, source: ObjectSource, store: PopulationPartsStore, config: PipelineConfig,
    archive: Archive | None,
) -> Outcome:  # fmt: skip
    """The workflow's Finish for an insurer's population."""
    order, ref = with_job(order, store)
    return _finish(order, ref, store, config, archive)


def _finish(
    order: PartOrder, ref: ObjectRef, store: PopulationPartsStore, config: PipelineConfig,
    archive: Archive | None,
) -> Outcome:  # fmt: skip
    """Every part is held: find what the insurer does not hold, and write the summary."""
    meta, digest = _meta(order)
    totals: dict[str, Any] = {"theirs": 0, "ours": 0, "confirmed": 0, "matched": 0,
                              "missing_at_insurer": 0, "insurer_only": 0, "discrepancies": 0,
                              "chunks": 0}  # fmt: skip
    by_field: dict[str, dict[str, int]] = {}
    for packed in part_results(order, store):
        result = unpack(packed)
        for name in totals:
            totals[name] += int(result[name])
        for name, codes in result["by_field"].items():
            into = by_field.setdefault(name, {})
            for code, count in codes.items():
                into[code] = into.get(code, 0) + int(count)
    held = Found(named=set(store.part_keys(order.job, "named")),
                 matched=set(store.part_keys(order.job, "matched")),
                 deferred=set(store.part_keys(order.job, "deferred")))  # fmt: skip
    missing = missing_families(meta, held, ref.received_at, store, SetStatuses(store), config)
    summary = meta.summary(digest, ref.received_at, theirs=totals["theirs"],
                           ours=totals["ours"] + missing.ours, confirmed=totals["confirmed"])  # fmt: skip
    summary.by_field, summary.matched = by_field, totals["matched"]
    summary.missing_at_insurer, summary.insurer_only = (
        totals["missing_at_insurer"],
        totals["insurer_only"],
    )
    summary.discrepancies, summary.chunks = totals["discrepancies"], totals["chunks"]
    tally(summary, missing.comparisons)
    rows = discrepancy_rows(meta.partner, missing.comparisons)
    key = None
    if archive is not None:
        archive.put_lines(
            rcno_key(meta, digest, ".part-missing"), rcno_lines(missing.comparisons), TEXT
        )
        key = rcno_key(meta, digest, ".part-*")  # one file per part, and one for the missing
    store.put_reconciliation(summary, rows, key)
    outcome = reconciled(summary, summary.discrepancies + len(rows))
    outcome.parts = order.parts
    outcome.notices.extend(order.notices)  # what the cutting invocation noticed
    store.record_object(ref, outcome)
    store.finish_job(order.job)
    return outcome
