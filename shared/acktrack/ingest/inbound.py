"""Acknowledgments land (TA1, 999, 997): store each one, then apply it to what was sent.

Every acknowledgment is stored before it is matched, and every 834 looks for stored
acknowledgments after its sets are written, so whichever arrives first, the pair
meets. Applying is idempotent: a set keeps one entry per acknowledgment and its
status is the fold of those entries' events (``status``), so late, repeated or
reordered acknowledgments give the same result.

Matching:
- TA1 -> the interchange (our id, partner, ISA13), sender and receiver swapped; when
  an ISA13 was reused, the TA1's date and time pick the interchange, if they can.
- 999 -> the group (our id, partner, AK102), then each set by AK202; without AK2
  loops, AK9 speaks for every set of the group. A GS06 used by two interchanges
  makes its 999s ambiguous: they are kept, reported, and not applied.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from acktrack.store.keys import clip
from acktrack.tracking.acknowledgments import (
    AcknowledgmentTooLarge,
    SetOutcome,
    ack_detail,
    ack_from_detail,
    group_summary,
    read_group_acknowledgment,
    segment_error_detail,
    ta1_summary,
)
from acktrack.tracking.sources import ObjectSource, Outcome, PipelineConfig, sender_problem
from acktrack.tracking.status import event_for_ta1
from acktrack.tracking.tracked import ObjectRef, TrackedInterchange, iso, to_utc
from acktrack.x12 import (
    Finding,
    GroupAcknowledgment,
    InterchangeAcknowledgment,
    InterchangeHeader,
    TransactionHeader,
    UnreadableX12,
    read_x12,
)
from acktrack.x12.records import parse_datetime

if TYPE_CHECKING:
    from acktrack.store.models import AckItem, SetItem
    from acktrack.store.repository import Repository
    from acktrack.store.set_acks import Applied


def quarantine(ref: ObjectRef, source: ObjectSource, store: Repository, reason: str) -> Outcome:
    """Keep an unusable file aside with its reason; nothing else is lost or stopped."""
    key = source.quarantine(ref, reason)
    outcome = Outcome("quarantined", reason=reason, quarantine_key=key)
    store.record_object(ref, outcome)
    return outcome


def ingest_inbound(
    ref: ObjectRef, source: ObjectSource, store: Repository, config: PipelineConfig
) -> Outcome:
    """Store and apply every acknowledgment in one inbound object."""
    problem = config.size_problem(ref)
    if problem:
        return quarantine(ref, source, store, problem)
    group_acks: list[GroupAcknowledgment] = []
    interchange_acks: list[InterchangeAcknowledgment] = []
    fatal: list[Finding] = []
    kinds: Counter[str] = Counter()
    senders: set[str] = set()
    try:
        with source.open(ref) as stream:
            for record in read_x12(stream, members=False):
                if isinstance(record, InterchangeHeader):
                    senders.add(record.sender_id)
                elif isinstance(record, GroupAcknowledgment):
                    group_acks.append(record)
                elif isinstance(record, InterchangeAcknowledgment):
                    interchange_acks.append(record)
                elif isinstance(record, TransactionHeader):
                    kinds[record.set_id] += 1
                elif isinstance(record, Finding) and record.severity == "fatal":
                    fatal.append(record)
    except UnreadableX12 as error:
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
    if not group_acks and not interchange_acks and "834" not in kinds:
        found = (
            ", ".join(f"{count} x {kind}" for kind, count in sorted(kinds.items()))
            or "no transaction sets"
        )
        return quarantine(
            ref, source, store,
            f"an inbound file must hold 999, 997 or TA1 acknowledgments or an effectuation 834; this one holds {found}",
        )  # fmt: skip
    kind = "acknowledgments" if group_acks or interchange_acks else "effectuation"
    if kind == "acknowledgments" and "834" in kinds:
        kind = "acknowledgments and effectuation"
    try:
        group_details = [_stored_group_ack(group_ack, ref, config) for group_ack in group_acks]
    except AcknowledgmentTooLarge as error:
        return quarantine(ref, source, store, str(error))
    outcome = Outcome(kind, acknowledgments=len(group_acks) + len(interchange_acks))
    for detail in group_details:
        stored = store.put_ack(detail)
        if stored.state != "applied":
            _count(outcome, apply_group_ack(store, stored, outcome))
        else:
            outcome.applied += 1
    for ta1 in interchange_acks:
        stored = store.put_ack(_stored_ta1(ta1, ref, config))
        if stored.state != "applied":
            _count(outcome, apply_ta1(store, stored, outcome))
        else:
            outcome.applied += 1
    if "834" in kinds:
        from acktrack.tracking.effectuation import ingest_effectuation

        with source.open(ref) as stream:
            ingest_effectuation(stream, ref, store, config, outcome)
    store.record_object(ref, outcome)
    return outcome


def _count(outcome: Outcome, state: str) -> None:
    if state == "applied":
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


# -- applying -----------------------------------------------------------------------------


def _observe(outcome: Outcome | None, applied: Applied) -> None:
    """Per-insurer figures for metrics: members moved, and seconds from sending to the first 999."""
    if outcome is None:
        return
    before = applied.before
    if applied.status != before.status and applied.status in (
        "accepted",
        "accepted_with_errors",
        "rejected",
    ):
        name = "rejected" if applied.status == "rejected" else "accepted"
        outcome.count(before.partner, name, int(before.members))
    if before.first_999_at is None and applied.first_999_at:
        sent = datetime.fromisoformat(before.sent_at.replace("Z", "+00:00"))
        acknowledged = datetime.fromisoformat(applied.first_999_at)
        outcome.ack_seconds.append((before.partner, round((acknowledged - sent).total_seconds())))


def apply_group_ack(store: Repository, stored: AckItem, outcome: Outcome | None = None) -> str:
    """Apply a stored 999 response for one group; return the ack's new state."""
    detail = store.ack_detail(stored)
    ack = ack_from_detail(detail)
    group_control = stored.target_control
    if ack.functional_id and ack.functional_id != "BE":
        return store.set_ack_state(
            stored, "unmatched", f"acknowledges a {ack.functional_id} group, not an 834 (BE) group"
        )
    versions = store.group_versions(stored.our_id, stored.partner, group_control)
    if not versions:
        return store.set_ack_state(
            stored,
            "unmatched",
            f"no functional group GS06 {group_control} was sent to {stored.partner}",
        )
    if len(versions) > 1:
        return store.set_ack_state(
            stored, "ambiguous",
            f"GS06 {group_control} to {stored.partner} was used by {len(versions)} interchanges; "
            "this 999 cannot tell them apart",
        )  # fmt: skip
    sets = store.sets_of_group_version(versions[0])
    by_control = {item.transaction_control: item for item in sets}
    reading = read_group_acknowledgment(ack, list(by_control))
    at = datetime.fromisoformat(stored.acknowledged_at)
    omitted = _omitted_errors(detail)

    def entry(index: int, set_outcome: SetOutcome) -> tuple[SetItem, str, dict[str, Any]]:
        item = by_control[set_outcome.transaction_control]
        attributed = [
            segment_error_detail(error, store.member_at(item.set_id, error.position))
            for error in set_outcome.segment_errors
        ]
        entry_id = f"{stored.sk}#{index}"  # one 999 may answer a set twice (duplicate ST02)
        summary = group_summary(entry_id, ack, set_outcome, at, attributed,
                                omitted.get(set_outcome.transaction_control, 0))  # fmt: skip
        return item, entry_id, summary

    # Sets share transactions with the counters they move (a 999 may answer 100,000 sets).
    entries = (entry(index, set_outcome) for index, set_outcome in enumerate(reading.outcomes))
    for applied in store.apply_to_sets(entries):
        _observe(outcome, applied)
    notes = []
    if reading.unmatched_controls:
        notes.append(
            f"AK2 for ST02 {_listed(reading.unmatched_controls)} never sent in GS06 {group_control}"
        )
    if reading.silent_controls:
        notes.append(f"no AK2 for ST02 {_listed(reading.silent_controls)}")
    if reading.note:
        notes.append(reading.note)
    state = "unmatched" if reading.unmatched_controls and not reading.outcomes else "applied"
    return store.set_ack_state(stored, state, "; ".join(notes))


_LISTED = 20  # control numbers named in a reason; the rest are counted


def _listed(controls: list[str]) -> str:
    named = ", ".join(controls[:_LISTED])
    return named if len(controls) <= _LISTED else f"{named} and {len(controls) - _LISTED:,} more"


def _omitted_errors(detail: dict[str, Any]) -> dict[str, int]:
    """Per ST02, the segment errors a stored 999 counted but did not keep (``ack_detail``)."""
    omitted: dict[str, int] = {}
    for response in detail.get("sets", []):
        if response.get("omitted_errors"):
            control = response.get("control", "")
            omitted[control] = omitted.get(control, 0) + int(response["omitted_errors"])
    return omitted


def apply_ta1(store: Repository, stored: AckItem, outcome: Outcome | None = None) -> str:
    """Apply a stored TA1 to every set of the interchange it names."""
    detail = stored.detail
    versions = [
        version
        for version in store.interchange_versions(
            stored.our_id, stored.partner, stored.target_control
        )
        if version.status == "complete"
    ]
    if len(versions) > 1:
        dated = [
            v
            for v in versions
            if (v.interchange_date, v.interchange_time) == (detail["date"], detail["time"])
        ]
        if len(dated) == 1:
            versions = dated
    if not versions:
        return store.set_ack_state(
            stored,
            "unmatched",
            f"no interchange ISA13 {stored.target_control} was sent to {stored.partner}",
        )
    if len(versions) > 1:
        return store.set_ack_state(
            stored, "ambiguous",
            f"ISA13 {stored.target_control} to {stored.partner} was used by {len(versions)} interchanges "
            "with the same date and time; this TA1 cannot tell them apart",
        )  # fmt: skip
    version = versions[0]
    at = datetime.fromisoformat(stored.acknowledged_at)
    summary = ta1_summary(stored.sk, detail["status"], detail["note"], at)
    entries = ((item, stored.sk, summary) for item in store.sets_of_interchange(version))
    for applied in store.apply_to_sets(entries):
        _observe(outcome, applied)
    reason = (
        "" if event_for_ta1(detail["status"]) else f"TA104 {detail['status']!r} is not A, E or R"
    )
    return store.set_ack_state(stored, "applied", reason)


def apply_stored_acks(
    store: Repository, interchange: TrackedInterchange, outcome: Outcome | None = None
) -> None:
    """Acknowledgments that arrived before this interchange: apply them now."""
    for group_control in interchange.group_controls:
        for stored in store.acks_for_group(interchange.our_id, interchange.partner, group_control):
            if stored.state in ("pending", "unmatched"):
                apply_group_ack(store, stored, outcome)
    for stored in store.acks_for_interchange(
        interchange.our_id, interchange.partner, interchange.interchange_control
    ):
        if stored.state in ("pending", "unmatched"):
            apply_ta1(store, stored, outcome)


def revoke_group_acks(store: Repository, our: str, partner: str, group_control: str) -> None:
    """A GS06 now names two interchanges: its 999s no longer count for either."""
    for stored in store.acks_for_group(our, partner, group_control):
        if stored.state == "applied":
            for item in store.sets_of_group(our, partner, group_control):
                store.revoke_from_set(item, stored.sk)
        if stored.state != "ambiguous":
            store.set_ack_state(
                stored, "ambiguous",
                f"GS06 {group_control} to {partner} was used by several interchanges; "
                "this 999 cannot tell them apart",
            )  # fmt: skip


def revoke_ambiguous_ta1s(
    store: Repository, our: str, partner: str, interchange_control: str
) -> None:
    """An ISA13 now names several interchanges: keep only TA1s their date and time place."""
    versions = [
        v
        for v in store.interchange_versions(our, partner, interchange_control)
        if v.status == "complete"
    ]
    for stored in store.acks_for_interchange(our, partner, interchange_control):
        detail = stored.detail
        placed = [
            v
            for v in versions
            if (v.interchange_date, v.interchange_time) == (detail["date"], detail["time"])
        ]
        if len(placed) == 1:
            for other in versions:
                if other.sk != placed[0].sk:
                    for item in store.sets_of_interchange(other):
                        store.revoke_from_set(item, stored.sk)
            apply_ta1(store, stored)
            continue
        if stored.state == "applied":
            for version in versions:
                for item in store.sets_of_interchange(version):
                    store.revoke_from_set(item, stored.sk)
        store.set_ack_state(
            stored, "ambiguous",
            f"ISA13 {interchange_control} to {partner} was used by {len(versions)} interchanges; "
            "this TA1 cannot tell them apart",
        )  # fmt: skip
