"""A family judged on one read: the findings to add and to drop, the sets whose answers it
waits on, and the member transactions that move to (or from) the insurer record confirming
them, with the count each move makes. Pure: the store reads the partition and writes what
is decided; ``ingest.families`` runs the passes (read, judge, write, read again)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from acktrack.domain.family import (
    EffectuationRecord,
    FamilyFinding,
    SentMember,
    SetAnswer,
    reconcile,
)
from acktrack.domain.identifiers import short_hash

Ref = tuple[str, str]  # a member item's or an insurer record's (pk, sk)


@dataclass(frozen=True, slots=True)
class FamilyRead:
    """One subscriber's partition as one consistent read found it, in the domain's terms."""

    sent: tuple[SentMember, ...]
    records: tuple[EffectuationRecord, ...]
    findings: Mapping[str, str]  # the id of each finding stored (``finding_id``) -> its kind
    counted: frozenset[Ref]  # member transactions whose effectuated count is in the counters


@dataclass(frozen=True, slots=True)
class NewFinding:
    """A finding to store: its id, and the member transaction (or record) it is about."""

    finding_id: str
    finding: FamilyFinding
    observed: str  # when its evidence came (the record's time, else the send time)
    member: SentMember | None
    record: EffectuationRecord | None


@dataclass(frozen=True, slots=True)
class Confirmation:
    """One member transaction pointed at the record confirming it (``record``), or at none,
    from ``current`` (the record id it pointed at as read); ``count`` moves the insurer's
    effectuated count: +1, -1 or 0 (its count marker put, deleted or left)."""

    member: Ref
    current: str | None
    record: EffectuationRecord | None
    count: int


@dataclass(frozen=True, slots=True)
class Judgment:
    watch: frozenset[Ref]  # the sets it waits on now
    added: tuple[NewFinding, ...]
    dropped: tuple[str, ...]  # ids of stored findings no longer implied
    moves: tuple[Confirmation, ...]

    @property
    def writes(self) -> bool:
        return bool(self.added or self.dropped or self.moves)


def finding_id(finding: FamilyFinding, observed: str) -> str:
    """Deterministic: the same finding on the same evidence has the same id on every read."""
    return f"{observed}#{short_hash(*finding.target, size=16)}#{finding.kind}"


def judge(
    read: FamilyRead,
    *,
    answers: Callable[[Ref], SetAnswer | None] | None = None,
    sla_hours: float = 48.0,
) -> Judgment:
    """What the family as read implies, against what is stored (``domain.family.reconcile``
    decides; this compares)."""
    sent = {member.ref: member for member in read.sent}
    records = {record.ref: record for record in read.records}
    state = reconcile(sent.values(), records.values(), answers=answers, sla_hours=sla_hours)
    wanted: dict[str, NewFinding] = {}
    for finding in state.findings:
        member, record = sent.get(finding.target), records.get(finding.target)
        observed = finding.observed_at or (
            member.sent_key[0] if member is not None else records[finding.target].at
        )
        found = NewFinding(finding_id(finding, observed), finding, observed, member, record)
        wanted[found.finding_id] = found
    moves: list[Confirmation] = []
    for ref, member in sent.items():
        confirming = state.effectuated.get(ref)
        target = confirming.record_id if confirming else None
        # The count follows the member's marker, whatever the member item went through
        # (a second ingest of its interchange rewrites it whole).
        counted = ref in read.counted
        count = 1 if target and not counted else -1 if not target and counted else 0
        if target != member.effectuated_by or count:
            moves.append(Confirmation(ref, member.effectuated_by, confirming, count))
    return Judgment(
        watch=frozenset(state.watch),
        added=tuple(found for key, found in sorted(wanted.items()) if key not in read.findings),
        dropped=tuple(sorted(key for key in read.findings if key not in wanted)),
        moves=tuple(moves),
    )
