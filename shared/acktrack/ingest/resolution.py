"""An operator closes what an insurer will never confirm (the person withdrew, the insurer
confirmed by phone): recorded as an event in the subscriber's family, nothing deleted.

The resolution names the attempts open when it is recorded and closes those; a later
transaction for the same enrollment, or a later answer, is tracked as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from acktrack.correlate.enrollments import SetStatuses, family_ledger
from acktrack.domain.identifiers import short_hash
from acktrack.domain.ledger import OPEN_STATES, Resolution
from acktrack.domain.ports import EnrollmentStore

MAX_REASON = 500  # characters kept of the reason


class ResolveRefused(Exception):
    """Bad input or nothing to resolve: nothing was written."""


@dataclass(frozen=True, slots=True)
class Resolved:
    resolution: Resolution
    partner: str
    subscriber_id: str
    enrollments: int  # open enrollments it closed
    attempts: int  # member transactions it closed
    recorded: bool  # False: the same resolution was recorded already


def resolve(
    store: EnrollmentStore,
    *,
    partner: str,
    subscriber_id: str,
    reason: str,
    by: str,
    member_id: str | None = None,
    at: datetime | None = None,
    sla_hours: float = 48.0,
) -> Resolved:
    """Close the subscriber's open enrollments with ``partner`` (or one member's)."""
    reason = " ".join(reason.split())
    if not reason:
        raise ResolveRefused("give a reason (--reason TEXT): it is what the next person will read")
    if not by.strip():
        raise ResolveRefused("say who resolves (--by NAME)")
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    ours = sorted({p.our_id for p in store.partners() if p.partner == partner})
    if not ours:
        known = ", ".join(sorted({p.partner for p in store.partners()})) or "none yet"
        raise ResolveRefused(f"no insurer {partner!r} is tracked (insurers: {known})")
    statuses = SetStatuses(store)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    resolution = Resolution(
        resolution_id=short_hash(partner, subscriber_id, member_id or "*", stamp, by, reason),
        at=stamp,
        by=by.strip()[:100],
        reason=reason[:MAX_REASON],
        member_id=member_id,
    )
    # Our sender ids that send to this insurer: the subscriber's family under each.
    ledgers = [(our, family_ledger(store, statuses, our, partner, subscriber_id, moment, sla_hours))
               for our in ours]  # fmt: skip
    seen = [(our, ledger) for our, ledger in ledgers if ledger.enrollments]
    if (
        member_id
        and seen
        and not any(resolution.covers(e) for _, ledger in seen for e in ledger.enrollments)
    ):
        members = sorted({a.member_id for _, ledger in seen for e in ledger.enrollments
                          for a in e.attempts if a.member_id})  # fmt: skip
        raise ResolveRefused(
            f"member {member_id!r} is not tracked for subscriber {subscriber_id} with {partner} "
            f"(members: {', '.join(members) or 'none with a REF*17 id'})"
        )
    enrollments_closed = attempts_closed = 0
    recorded = False
    for our, ledger in seen:
        # It closes what is open now, by name: what arrives or opens later stays tracked.
        closed = {
            (e.identity, e.line, attempt.ref)
            for e in ledger.enrollments
            if resolution.covers(e)
            for attempt in e.attempts
            if e.states[attempt.ref] in OPEN_STATES
        }
        if not closed:
            continue
        named = replace(resolution, refs=frozenset(ref for _, _, ref in closed))
        refs = named.refs
        recorded = store.add_resolution(our, partner, subscriber_id, named, len(refs)) or recorded
        enrollments_closed += len({(who, line) for who, line, _ in closed})
        attempts_closed += len(refs)
    if attempts_closed:
        return Resolved(resolution, partner, subscriber_id, enrollments=enrollments_closed,
                        attempts=attempts_closed, recorded=recorded)  # fmt: skip
    if not seen:
        raise ResolveRefused(f"subscriber {subscriber_id} is not tracked with {partner}")
    whom = (
        f"member {member_id} of subscriber {subscriber_id}"
        if member_id
        else f"subscriber {subscriber_id}"
    )
    raise ResolveRefused(
        f"nothing is open for {whom} with {partner}: every enrollment is confirmed or already "
        "resolved (see acktrack member)"
    )
