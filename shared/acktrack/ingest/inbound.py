"""Acknowledgments and effectuations land (TA1, 999, 997, the insurer's 834): store each
acknowledgment, then apply it to what was sent (``correlate.acknowledgments`` says how
they are matched).

Every acknowledgment is stored before it is matched, and every 834 looks for stored
acknowledgments after its sets are written, so whichever arrives first, the pair meets.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import datetime
from typing import Any

from acktrack.correlate.acknowledgments import apply_group_ack, apply_ta1
from acktrack.correlate.advice import advice_details, apply_advice
from acktrack.correlate.responses import (
    AcknowledgmentTooLarge,
    ack_detail,
)
from acktrack.domain.error_report import is_error_report
from acktrack.domain.folders import insurer_folder, sender_problem
from acktrack.domain.identifiers import clip
from acktrack.domain.population import ExtractRefused, is_audit
from acktrack.domain.ports import (
    Archive,
    InboundStore,
    ObjectSource,
    Outcome,
    PartPieces,
    PartWorkflow,
    PipelineConfig,
)
from acktrack.domain.sequences import INBOUND, INTERCHANGE
from acktrack.domain.status import AckState, FileOutcome
from acktrack.domain.tracked import ObjectRef, iso, to_utc
from acktrack.ingest.ack_parts import fan_out_acknowledgments, needs_slices
from acktrack.ingest.effectuation import ingest_effectuation
from acktrack.ingest.effectuation_parts import fan_out_effectuation
from acktrack.ingest.error_reports import ingest_error_report
from acktrack.ingest.extract_parts import HEAD_BYTES, pieces_for, split_extract
from acktrack.ingest.families import reconcile_families
from acktrack.ingest.population_parts import fan_out_population
from acktrack.ingest.reconciliation import (
    Digesting,
    PopulationMeta,
    audit_population,
    extract_meta,
    extract_population,
    looks_like_extract,
    reconcile_population,
)
from acktrack.ingest.steps import note_key_problem, quarantine
from acktrack.x12 import (
    ApplicationAdvice,
    Finding,
    GroupAcknowledgment,
    InterchangeAcknowledgment,
    InterchangeHeader,
    TransactionEnd,
    TransactionHeader,
    UnreadableX12,
    read_x12,
)
from acktrack.x12.records import parse_datetime


def ingest_inbound(
    ref: ObjectRef,
    source: ObjectSource,
    store: InboundStore,
    config: PipelineConfig,
    archive: Archive | None = None,
    parts: PartWorkflow | None = None,
    pieces: PartPieces | None = None,
) -> Outcome:
    """Store and apply every acknowledgment in one inbound object; an insurer's population
    (an audit 834, or a reconciliation extract) goes to monthly reconciliation."""
    problem = config.size_problem(ref)
    if problem:
        return quarantine(ref, source, store, problem)
    if is_error_report(ref.key):  # inbound/<insurer id>/errors/: rejections after the 999
        return ingest_error_report(ref, source, store, config)
    group_acks: list[GroupAcknowledgment] = []
    advices: list[ApplicationAdvice] = []
    interchange_acks: list[InterchangeAcknowledgment] = []
    fatal: list[Finding] = []
    kinds: Counter[str] = Counter()
    enrollments: list[TransactionEnd] = []
    senders: set[str] = set()
    envelopes: list[InterchangeHeader] = []
    try:
        with source.open(ref) as raw:
            digesting = Digesting(raw)  # an insurer's population is known by its content
            for record in read_x12(digesting, members=False):  # type: ignore[arg-type]
                if isinstance(record, InterchangeHeader):
                    senders.add(record.sender_id)
                    envelopes.append(record)
                elif isinstance(record, GroupAcknowledgment):
                    group_acks.append(record)
                elif isinstance(record, ApplicationAdvice):
                    advices.append(record)
                elif isinstance(record, InterchangeAcknowledgment):
                    interchange_acks.append(record)
                elif isinstance(record, TransactionHeader):
                    kinds[record.set_id] += 1
                elif isinstance(record, TransactionEnd) and record.header.set_id == "834":
                    enrollments.append(record)
                elif isinstance(record, Finding) and record.severity == "fatal":
                    fatal.append(record)
    except UnreadableX12 as error:
        with source.open(ref, 0, 4096) as head:
            if looks_like_extract(head.read()):
                return _extract(ref, source, store, config, archive, parts, pieces)
        return quarantine(ref, source, store, f"not readable as X12: {error.reason}")
    problem = sender_problem(ref.key, senders, config)
    if problem:
        return quarantine(ref, source, store, problem)
    if fatal:
        first = fatal[0]
        return quarantine(
            ref,
            source,
            store,
            f"damaged or truncated: {first.scheme} {first.code} ({first.meaning})",
        )
    if not group_acks and not interchange_acks and not advices and "834" not in kinds:
        found = (
            ", ".join(f"{count} x {kind}" for kind, count in sorted(kinds.items()))
            or "no transaction sets"
        )
        return quarantine(
            ref, source, store,
            f"an inbound file must hold 999, 997 or TA1 acknowledgments, 824 application advice, an "
            f"effectuation 834, or an "
            f"insurer's population (an audit 834, or an extract); this one holds {found}",
        )  # fmt: skip
    # Another usage (ISA15) than the stack tracks: counted apart, never stored or matched.
    usage = config.tracked_usage
    outcome_apart = Outcome(FileOutcome.OTHER_USAGE)
    for group_ack in [a for a in group_acks if a.header.interchange.usage != usage]:
        outcome_apart.set_aside(clip(group_ack.sender_id), group_ack.header.interchange.usage,
                                acknowledgments=1)  # fmt: skip
    for ta1 in [a for a in interchange_acks if a.interchange.usage != usage]:
        outcome_apart.set_aside(clip(ta1.sender_id), ta1.interchange.usage, acknowledgments=1)
    for other in [e for e in enrollments if e.header.interchange.usage != usage]:
        outcome_apart.set_aside(clip(other.header.interchange.sender_id),
                                other.header.interchange.usage, members=other.members)  # fmt: skip
    for advice in [a for a in advices if a.header.interchange.usage != usage]:
        outcome_apart.set_aside(clip(advice.sender_id), advice.header.interchange.usage,
                                acknowledgments=1)  # fmt: skip
    advices = [a for a in advices if a.header.interchange.usage == usage]
    group_acks = [a for a in group_acks if a.header.interchange.usage == usage]
    interchange_acks = [a for a in interchange_acks if a.interchange.usage == usage]
    enrollments = [e for e in enrollments if e.header.interchange.usage == usage]
    if not group_acks and not interchange_acks and not advices and not enrollments:
        store.record_object(ref, outcome_apart)
        return outcome_apart
    for envelope in [e for e in envelopes if e.usage == usage]:  # its numbering and rhythm
        sent = min(_when(envelope.date, envelope.time, config, ref.received_at), ref.received_at)
        store.note_controls(clip(envelope.receiver_id), clip(envelope.sender_id), INBOUND,
                            INTERCHANGE, [clip(envelope.control)], iso(sent))  # fmt: skip
    audits = [e for e in enrollments if e.enrollment is not None and is_audit(e.enrollment.action)]
    if audits and insurer_folder(ref.key) is None:
        return quarantine(ref, source, store, _population_outside_its_folder("an audit 834"))
    if audits:
        if len(audits) < len(enrollments) or group_acks or interchange_acks or advices:
            return quarantine(ref, source, store,
                              "an audit 834 (BGN08 4 or RX: the insurer's whole population) must "
                              "come alone, without acknowledgments or other 834s")  # fmt: skip
        return _audit(ref, source, store, config, archive, parts, envelopes[0], audits,
                      digesting.digest)  # fmt: skip
    kind = (
        FileOutcome.ACKNOWLEDGMENTS
        if group_acks or interchange_acks or advices
        else FileOutcome.EFFECTUATION
    )
    if kind == FileOutcome.ACKNOWLEDGMENTS and enrollments:
        kind = FileOutcome.ACKNOWLEDGMENTS_AND_EFFECTUATION
    try:
        group_details = [_stored_group_ack(group_ack, ref, config) for group_ack in group_acks]
    except AcknowledgmentTooLarge as error:
        return quarantine(ref, source, store, str(error))
    outcome = Outcome(kind, acknowledgments=len(group_acks) + len(interchange_acks) + len(advices))
    note_key_problem(ref, store, config, outcome)
    outcome.other_usage = outcome_apart.other_usage
    stored_groups = [(store.put_ack(detail), detail) for detail in group_details]
    sliced = (  # a 999 too large for one invocation: the file's 999s are applied in slices
        parts is not None
        and not enrollments
        and not advices
        and not outcome.other_usage
        and needs_slices(store, stored_groups, config)
    )
    for stored, _ in [] if sliced else stored_groups:
        if stored.state != AckState.APPLIED:
            _count(outcome, apply_group_ack(store, stored, outcome))
        else:
            outcome.applied += 1
    for ta1 in interchange_acks:
        stored = store.put_ack(_stored_ta1(ta1, ref, config))
        if stored.state != AckState.APPLIED:
            _count(outcome, apply_ta1(store, stored, outcome))
        else:
            outcome.applied += 1
    for advice in advices:  # rejections after the 999, per group they speak of
        for group_control, detail in advice_details(advice):
            stored = store.put_ack(_stored_advice(advice, group_control, detail, ref, config))
            if stored.state != AckState.APPLIED:
                _count(outcome, apply_advice(store, stored, outcome))
            else:
                outcome.applied += 1
    # Families whose duplicate question waited on one of these answers are judged again.
    reconcile_families(store, outcome.rejudge, outcome, config.ack_sla_hours)
    if sliced:
        assert parts is not None
        fan_out_acknowledgments(ref, store, config, stored_groups, parts, outcome)
        return outcome  # the workflow's Finish records the file's outcome
    if enrollments:
        alone = not group_acks and not interchange_acks and not outcome.other_usage
        members = sum(enrollment.members for enrollment in enrollments)
        if (
            alone
            and parts is not None
            and fan_out_effectuation(ref, source, store, config, parts, outcome, members)
        ):
            return outcome  # the part counted last records the object's outcome
        with source.open(ref) as stream:
            ingest_effectuation(stream, ref, store, config, outcome)
    store.record_object(ref, outcome)
    return outcome


def _audit(
    ref: ObjectRef, source: ObjectSource, store: InboundStore, config: PipelineConfig,
    archive: Archive | None, parts: PartWorkflow | None, envelope: InterchangeHeader,
    audits: list[TransactionEnd], digest: str,
) -> Outcome:  # fmt: skip
    """An insurer's whole population: held in one go, or cut in parts when it is large."""
    first = audits[0]
    created = first.enrollment.created_date if first.enrollment else ""
    as_of = created if re.fullmatch(r"\d{8}", created) else ref.received_at.strftime("%Y%m%d")
    meta = PopulationMeta(clip(envelope.receiver_id), clip(envelope.sender_id), as_of, "audit_834")
    if not sum(audit.members for audit in audits):
        return quarantine(ref, source, store, "an audit 834 with no members: nothing to reconcile")
    if not any((p.our_id, p.partner) == (meta.our_id, meta.partner) for p in store.partners()):
        return quarantine(ref, source, store,
                          "an audit 834 from an insurer (ISA06) to a receiver (ISA08) nothing was "
                          "ever sent between: no population of ours to hold it against")  # fmt: skip
    noticed = Outcome(FileOutcome.FANNED_OUT)  # the hash key's state, noticed once
    note_key_problem(ref, store, config, noticed)
    if parts is not None:
        members = sum(audit.members for audit in audits)
        cut = fan_out_population(ref, source, store, config, meta, digest, parts, members,
                                 noticed.notices)  # fmt: skip
        if cut is not None:
            return cut  # the workflow's Finish records the object's outcome
    with source.open(ref) as stream:
        population = audit_population(read_x12(stream), config.keyring, meta)
    outcome = reconcile_population(population, digest, ref.received_at, store, archive,
                                   config)  # fmt: skip
    outcome.notices.extend(noticed.notices)
    store.record_object(ref, outcome)
    return outcome


def _extract(
    ref: ObjectRef,
    source: ObjectSource,
    store: InboundStore,
    config: PipelineConfig,
    archive: Archive | None,
    parts: PartWorkflow | None,
    pieces: PartPieces | None,
) -> Outcome:
    """An insurer's reconciliation extract: held in one go, or split by subscriber into
    pieces held part by part when it holds more than ``part_members`` members."""
    partner = insurer_folder(ref.key)
    if partner is None:
        return quarantine(ref, source, store, _population_outside_its_folder("an extract"))
    our_ids = sorted({p.our_id for p in store.partners() if p.partner == partner})
    if parts is not None and pieces is not None:
        with source.open(ref, 0, HEAD_BYTES) as head:
            estimate = pieces_for(head.read(), ref.size or 0, config.part_members)
        if estimate > 1:
            try:
                meta = extract_meta(ref, our_ids)
            except ValueError as error:  # whose population it is: not known
                return quarantine(ref, source, store, str(error))
            noticed = Outcome(FileOutcome.FANNED_OUT)
            note_key_problem(ref, store, config, noticed)
            try:
                return split_extract(ref, source, store, config, meta, estimate, pieces, parts,
                                     noticed.notices)  # fmt: skip
            except ExtractRefused as error:
                return quarantine(ref, source, store, str(error))
    try:
        with source.open(ref) as raw:
            digesting = Digesting(raw)
            buffered = io.BufferedReader(digesting)
            population = extract_population(buffered, ref, config.keyring, our_ids)
    except (ExtractRefused, ValueError) as error:
        return quarantine(ref, source, store, str(error))
    outcome = reconcile_population(population, digesting.digest, ref.received_at, store, archive,
                                   config)  # fmt: skip
    note_key_problem(ref, store, config, outcome)
    store.record_object(ref, outcome)
    return outcome


def _population_outside_its_folder(kind: str) -> str:
    """Why an insurer's population outside ``inbound/<insurer id>/`` is refused: it confirms
    waiting enrollments, so it must come from where only that insurer can write."""
    return (
        f"an insurer's population ({kind}) is accepted only under inbound/<insurer id>/, the "
        "folder only that insurer writes to, whatever RequireInsurerFolders says"
    )


def _count(outcome: Outcome, state: str) -> None:
    if state == AckState.APPLIED:
        outcome.applied += 1
    else:
        outcome.unmatched += 1


def _when(
    day: str | None, clock: str | None, config: PipelineConfig, fallback: datetime
) -> datetime:
    return to_utc(parse_datetime(day, clock), config.envelope_zone, fallback)


def _stored_group_ack(
    ack: GroupAcknowledgment, ref: ObjectRef, config: PipelineConfig
) -> dict[str, Any]:
    envelope = ack.header.interchange
    group = ack.header.group
    at = _when(
        group.date if group else envelope.date,
        group.time if group else envelope.time,
        config,
        ref.received_at,
    )
    ack_id = (
        f"999-{clip(envelope.sender_id)}-{clip(envelope.control)}-{clip(ack.header.group_control or '-')}-"
        f"{clip(ack.header.control)}"
    )
    return {
        "kind": "999",
        "our_id": clip(ack.receiver_id),
        "partner": clip(ack.sender_id),
        "target_control": clip(ack.group_control),
        "ack_id": ack_id,
        "source_bucket": ref.bucket,
        "source_key": ref.key,
        "received_at": iso(ref.received_at),
        "acknowledged_at": iso(at),
        "status": ack.status,
        "detail": ack_detail(ack),
    }


def _stored_advice(
    advice: ApplicationAdvice, group_control: str, detail: dict[str, Any], ref: ObjectRef,
    config: PipelineConfig,
) -> dict[str, Any]:  # fmt: skip
    envelope = advice.header.interchange
    group = advice.header.group
    at = _when(group.date if group else envelope.date, group.time if group else envelope.time,
               config, ref.received_at)  # fmt: skip
    ack_id = (f"824-{clip(envelope.sender_id)}-{clip(envelope.control)}-"
              f"{clip(advice.header.group_control or '-')}-{clip(advice.header.control)}-"
              f"{group_control}")  # fmt: skip
    return {
        "kind": "824", "our_id": clip(advice.receiver_id), "partner": clip(advice.sender_id),
        "target_control": group_control, "ack_id": ack_id, "source_bucket": ref.bucket,
        "source_key": ref.key, "received_at": iso(ref.received_at), "acknowledged_at": iso(at),
        "status": "R", "detail": detail,
    }  # fmt: skip


def _stored_ta1(
    ta1: InterchangeAcknowledgment, ref: ObjectRef, config: PipelineConfig
) -> dict[str, Any]:
    envelope = ta1.interchange
    at = _when(envelope.date, envelope.time, config, ref.received_at)
    return {
        "kind": "TA1",
        "our_id": clip(ta1.receiver_id),
        "partner": clip(ta1.sender_id),
        "target_control": clip(ta1.control),
        "ack_id": f"TA1-{clip(envelope.sender_id)}-{clip(envelope.control)}-{ta1.position}",
        "source_bucket": ref.bucket,
        "source_key": ref.key,
        "received_at": iso(ref.received_at),
        "acknowledged_at": iso(at),
        "status": ta1.status,
        "detail": {
            "control": clip(ta1.control),
            "date": clip(ta1.date),
            "time": clip(ta1.time),
            "status": clip(ta1.status),
            "note": clip(ta1.note),
        },
    }
