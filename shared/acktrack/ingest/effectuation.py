"""An insurer's effectuation 834 lands: coverage is in force (or not) for its members.

Each member becomes an effectuation record in its family's partition (kept, like an
acknowledgment, until what it confirms arrives), then the family is reconciled: the
record confirms the latest addition sent for that member and coverage, and what
differs, what was never sent and what the insurer cancelled or terminated become
findings (``family``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from acktrack.domain import identifiers as keys
from acktrack.domain.family import Family
from acktrack.domain.hashing import PERSON, person_value, values_hashes
from acktrack.domain.identifiers import clip
from acktrack.domain.ports import EffectuationStore, Outcome, PipelineConfig
from acktrack.domain.tracked import MAX_COVERAGES, InsurerMember, ObjectRef, iso, to_utc
from acktrack.ingest.families import reconcile_families
from acktrack.x12 import MemberTransaction, Record, read_x12


def insurer_member(
    member: MemberTransaction, ref: ObjectRef, config: PipelineConfig
) -> InsurerMember | None:
    """What is kept of one insurer-sent member (None without a REF*0F to match on)."""
    if not member.subscriber_id:
        return None
    # Clipped as outbound members are, so both sides of a family meet on the same keys.
    our, partner = clip(member.receiver_id), clip(member.sender_id)  # the insurer sends it to us
    subscriber_id = clip(member.subscriber_id, keys.ID)
    record_id = (
        f"EFF-{partner}-{clip(member.interchange_control)}-{clip(member.group_control) or '-'}-"
        f"{clip(member.transaction_control)}-{member.ordinal:07d}"
    )
    at = iso(to_utc(member.sent_at, config.envelope_zone, ref.received_at))
    coverages = [
        {
            "maintenance_type": clip(c.maintenance_type),
            "insurance_line": clip(c.insurance_line),
            "plan": clip(c.plan, keys.LONG),
            "coverage_level": clip(c.coverage_level),
            "benefit_begin": clip(c.benefit_begin),
            "benefit_end": clip(c.benefit_end),
        }
        for c in member.coverages[:MAX_COVERAGES]
    ]
    policies = sorted(
        {clip(c.internal_control, keys.ID) for c in member.coverages if c.internal_control}
    )
    return InsurerMember(
        our_id=our,
        partner=partner,
        record_id=record_id,
        at=at,
        subscriber_id=subscriber_id,
        member_id=clip(member.member_supplemental_id, keys.ID),
        subscriber_indicator=clip(member.subscriber_indicator),
        relationship=clip(member.relationship),
        maintenance_type=clip(member.maintenance_type),
        coverages=coverages,
        carrier_member_id=clip(member.carrier_member_id, keys.ID),
        policy_ids=policies[:MAX_COVERAGES],
        source_key=ref.key,
        # Who a dependent without a member id is, compared as sent members are (never kept).
        hashes=values_hashes(
            {PERSON: person_value(member.first_name, member.birth_date)},
            member.subscriber_id or "",
            config.keyring,
        ),
    )


def ingest_effectuation(
    stream: BinaryIO,
    ref: ObjectRef,
    store: EffectuationStore,
    config: PipelineConfig,
    outcome: Outcome,
) -> None:
    """Store every member of the insurer's 834 and reconcile each family it names."""
    effectuate(read_x12(stream), ref, store, config, outcome)


def effectuate(
    records: Iterable[Record],
    ref: ObjectRef,
    store: EffectuationStore,
    config: PipelineConfig,
    outcome: Outcome,
) -> None:
    """Store every member read (the whole file, or one part's range) and reconcile each
    family it names."""
    families: set[Family] = set()  # keys only: memory stays flat in the file's size
    count = 0
    with store.member_writer(ref.received_at) as writer:
        for record in records:
            if type(record) is not MemberTransaction:
                continue
            assert isinstance(record, MemberTransaction)
            if record.header.interchange.usage != config.tracked_usage:
                continue  # an interchange of another usage is counted apart
            kept = insurer_member(record, ref, config)
            if kept is None:
                outcome.notices.append("effectuation_without_subscriber_id")
                continue
            writer.add_insurer_member(kept)
            count += 1
            families.add((kept.our_id, kept.partner, kept.subscriber_id))
    outcome.effectuation_records += count
    reconcile_families(store, families, outcome, config.ack_sla_hours)
