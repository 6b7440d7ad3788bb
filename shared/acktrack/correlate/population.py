"""Where the insurer's population meets ours: the enrollments the ledger holds in force
with an insurer as of a date, each as the reconciliation compares it.

Ours is read from the family partitions of every subscriber ever sent to that insurer
(found through the insurer's sets: O(members of that insurer), never a scan).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from acktrack.domain.ledger import AttemptState, Enrollment
from acktrack.domain.population import premium_amounts
from acktrack.domain.reconciliation import PopulationMember

if TYPE_CHECKING:
    from acktrack.correlate.enrollments import FamilyLedger
    from acktrack.domain.stored import StoredMember

IN_FORCE_TYPES = frozenset({"021", "001", "025", "030"})  # addition, change, reinstatement, audit
ENDING_TYPE = "024"  # cancellation or termination
CONFIRMED_STATES = frozenset({AttemptState.CONFIRMED, AttemptState.CONFIRMED_BY_RECONCILIATION})
UNCONFIRMED_STATES = frozenset({AttemptState.PENDING, AttemptState.OVERDUE})


@dataclass(frozen=True, slots=True)
class OurMember:
    """One enrollment as we hold it: confirmed and in force, or still waiting for the insurer
    (``open_refs``: the attempts a matching insurer record would confirm; ``in_force``: what
    is confirmed and in force meanwhile, held against the insurer when it lacks the wait)."""

    member: PopulationMember
    confirmed: bool
    open_refs: frozenset[tuple[str, str]] = frozenset()
    in_force: PopulationMember | None = None


def ours_in_force(
    ledger: FamilyLedger, items: dict[tuple[str, str], StoredMember], as_of: str, line: str = "HLT"
) -> Iterator[OurMember]:
    """Per member of one family, the enrollment of ``line`` (else its first line): in force as
    of ``as_of`` (YYYYMMDD) when its latest confirmed ask is an addition or change not ended
    by then; or waiting, when its latest ask (sent by then) is an unconfirmed
    addition or change."""
    by_identity: dict[str, list[Enrollment]] = {}
    for enrollment in ledger.enrollments:
        by_identity.setdefault(enrollment.identity, []).append(enrollment)
    for enrollments in by_identity.values():
        chosen = next((e for e in enrollments if e.line == line), enrollments[0])
        found = _ours(chosen, items, as_of)
        if found is not None:
            yield found


def _ours(
    enrollment: Enrollment, items: dict[tuple[str, str], StoredMember], as_of: str
) -> OurMember | None:
    states = enrollment.states
    in_force = _in_force(enrollment, items, as_of)
    waiting = [a for a in enrollment.attempts if states[a.ref] in UNCONFIRMED_STATES
               and a.maintenance_type in IN_FORCE_TYPES and _day(a.sent_at) <= as_of]  # fmt: skip
    head = enrollment.head
    if waiting and head is waiting[-1]:
        member = population_of(items[head.ref], enrollment.line)
        return OurMember(member, False, frozenset(a.ref for a in waiting), in_force)
    return OurMember(in_force, True) if in_force is not None else None


def _in_force(
    enrollment: Enrollment, items: dict[tuple[str, str], StoredMember], as_of: str
) -> PopulationMember | None:
    """The latest confirmed ask, if it holds coverage in force as of ``as_of``."""
    confirmed = [a for a in enrollment.attempts if enrollment.states[a.ref] in CONFIRMED_STATES]
    if not confirmed:
        return None
    latest = confirmed[-1]
    member = population_of(items[latest.ref], enrollment.line)
    if latest.maintenance_type == ENDING_TYPE:
        ends = member.benefit_end
        if not ends or ends < as_of or ends <= (member.benefit_begin or ""):
            return None  # cancelled (ended as it began), or ended before the insurer's date
        earlier = [a for a in confirmed[:-1] if a.maintenance_type in IN_FORCE_TYPES]
        if earlier:  # ends later: what is in force is what was asked before, until then
            member = replace(
                population_of(items[earlier[-1].ref], enrollment.line), benefit_end=ends
            )
        return member
    if latest.maintenance_type not in IN_FORCE_TYPES:
        return None
    if member.benefit_end and member.benefit_end < as_of:
        return None
    # A coverage beginning after the insurer's date is in force with it all the same: the
    # insurer enrolled it, and its population lists what it holds (the definition).
    return member


def _day(sent_at: str) -> str:
    return sent_at[:10].replace("-", "")


def population_of(item: StoredMember, line: str) -> PopulationMember:
    """A sent member transaction as compared: its coverage of ``line``, its amounts, the
    insurer's ids as the insurer told us (else as we sent them), its demographic hashes."""
    coverages: list[dict[str, Any]] = list(item.coverages or [])
    coverage = next((c for c in coverages if (c.get("insurance_line") or "") == line),
                    coverages[0] if coverages else {})  # fmt: skip
    premium, aptc = premium_amounts(dict(item.categories or {}))
    policies = list(item.insurer_policy_ids or [])
    hashes = item.hashes
    newest = dict(hashes[max(hashes)]) if hashes else {}  # within_version picks the common one
    return PopulationMember(
        subscriber_id=item.subscriber_id or "",
        member_id=item.member_id,
        subscriber_indicator=item.subscriber_indicator,
        relationship=item.relationship,
        plan=coverage.get("plan") or None,
        benefit_begin=coverage.get("benefit_begin") or None,
        benefit_end=coverage.get("benefit_end") or None,
        total_premium=premium,
        aptc=aptc,
        insurer_member_id=item.insurer_member_id or item.carrier_member_id,
        insurer_policy_id=(policies[0] if policies else None) or coverage.get("internal_control"),
        name=newest.get("name"),
        birth_date=newest.get("birth_date"),
        gender=newest.get("gender"),
        ssn=newest.get("ssn"),
        line=coverage.get("insurance_line") or None,
        hashes=hashes,
    )
