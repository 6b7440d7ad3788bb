"""An operator closes what an insurer will never confirm (the person withdrew, the insurer
confirmed by phone): recorded as an event in the subscriber's family, nothing deleted.

The resolution names the attempts open when it is recorded and closes those; a later
transaction for the same enrollment, or a later answer, is tracked as usual. It keeps who
resolves as claimed (``by``) and the identity that really wrote it (``caller``).

What is typed is checked first (``check_line``, ``check_reason``: pure), so that nothing
can forge a line of the timeline or the report, and a reason that looks like personal data
is refused. ``plan`` reads what would close and writes nothing (``--dry-run``);
``record`` writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from acktrack.correlate.enrollments import SetStatuses, family_ledger
from acktrack.domain.identifiers import short_hash
from acktrack.domain.ledger import OPEN_STATES, Enrollment, Resolution
from acktrack.domain.ports import ResolutionStore
from acktrack.domain.typed import LINE_BREAKS, first_unsafe
from acktrack.ingest.personal import personal_data

MAX_REASON = 500  # characters of a reason
MAX_BY = 256  # characters of who resolves (--by)
MAX_CALLER = 2048  # an IAM ARN's longest
MAX_ID = 80  # an insurer, subscriber or member id (X12 allows 50; a longer one is a typo)


class ResolveRefused(Exception):
    """Bad input or nothing to resolve: nothing was written."""


def check_line(value: str, what: str, limit: int) -> str:
    """One line of typed text, stripped: no line break, no control or format character (an
    escape could drive the terminal that shows it, a line break forge a timeline line)."""
    found = first_unsafe(value)
    if found is not None:
        position, character = found
        kind = (
            "a line break"
            if character in LINE_BREAKS
            else f"control character U+{ord(character):04X}"
        )
        raise ResolveRefused(
            f"{what} has {kind} at character {position}: it must be one line of plain text "
            "(it is shown on timelines and in the report)"
        )
    value = value.strip()
    if len(value) > limit:
        raise ResolveRefused(f"{what} is {len(value)} characters long; keep it to {limit}")
    return value


def check_reason(reason: str, now: datetime, what: str = "--reason") -> str:
    """The reason as kept (spaces collapsed), or ResolveRefused saying why not: empty, not one
    line of plain text, or holding what looks like personal data (``personal.personal_data``)."""
    reason = " ".join(check_line(reason, what, MAX_REASON * 2).split())
    if not reason:
        raise ResolveRefused(f"give a reason ({what}): it is what the next person will read")
    if len(reason) > MAX_REASON:
        raise ResolveRefused(f"{what} is {len(reason)} characters long; keep it to {MAX_REASON}")
    problem = personal_data(reason, now)
    if problem:
        raise ResolveRefused(f"{what} refused: {problem}")
    return reason


@dataclass(frozen=True, slots=True)
class Closing:
    """One open enrollment a resolution closes (what ``--dry-run`` lists)."""

    partner: str
    subscriber_id: str
    member: str  # the member id (REF*17), else who in the family
    line: str  # the insurance line (HD03)
    attempts: int  # its open member transactions the resolution closes
    state: str  # what it leaves: rejected, pending or overdue


@dataclass(frozen=True, slots=True)
class Plan:
    """What a resolution would close, read and not written."""

    resolution: Resolution
    partner: str
    subscriber_id: str
    writes: tuple[tuple[str, Resolution], ...]  # (our sender id, the resolution naming its refs)
    closings: tuple[Closing, ...]

    @property
    def enrollments(self) -> int:
        return len(self.closings)

    @property
    def attempts(self) -> int:
        return sum(len(named.refs) for _, named in self.writes)

    @property
    def refs(self) -> frozenset[tuple[str, str]]:
        return frozenset(ref for _, named in self.writes for ref in named.refs)


@dataclass(frozen=True, slots=True)
class Resolved:
    resolution: Resolution
    partner: str
    subscriber_id: str
    enrollments: int  # open enrollments it closed (or would close)
    attempts: int  # member transactions it closed (or would close)
    recorded: bool  # False: the same resolution was recorded already, or a dry run
    closings: tuple[Closing, ...] = ()
    dry_run: bool = False


def member_label(enrollment: Enrollment) -> str:
    """Who in the family an enrollment is, as an operator reads it."""
    identity, latest = enrollment.identity, enrollment.latest
    if identity.startswith("M:"):
        return identity[2:]
    if identity == "SUBSCRIBER":
        return f"{latest.member_id} (the subscriber)" if latest.member_id else "the subscriber"
    insurer = sorted(latest.insurer_ids)
    if insurer:
        return f"insurer member {insurer[0]} (relationship {latest.relationship})"
    return f"relationship {latest.relationship}, no member id (ISA13 {latest.interchange_control})"


class Planner:
    """Plans resolutions against one store at one moment, by one operator; set statuses and
    the insurers are read once for all of them (a bulk file plans thousands)."""

    def __init__(self, store: ResolutionStore, *, by: str, caller: str = "",
                 at: datetime | None = None, sla_hours: float = 48.0) -> None:  # fmt: skip
        self.store = store
        self.by = check_line(by, "--by", MAX_BY)
        if not self.by:
            raise ResolveRefused("say who resolves (--by NAME)")
        self.caller = check_line(caller, "the caller's identity", MAX_CALLER)
        self.moment = (at or datetime.now(UTC)).astimezone(UTC)
        self.sla_hours = sla_hours
        self.statuses = SetStatuses(store)
        self._partners: Sequence[Any] | None = None

    def _ours(self, partner: str) -> list[str]:
        if self._partners is None:
            self._partners = list(self.store.partners())
        known = [(p.our_id, p.partner) for p in self._partners]
        ours = sorted({our for our, name in known if name == partner})
        if not ours:
            names = ", ".join(sorted({name for _, name in known})) or "none yet"
            raise ResolveRefused(f"no insurer {partner!r} is tracked (insurers: {names})")
        return ours

    def plan(self, *, partner: str, subscriber_id: str, reason: str,
             member_id: str | None = None) -> Plan:  # fmt: skip
        """What closing the subscriber's open enrollments with ``partner`` (or one member's)
        would close; ResolveRefused when the input is bad or nothing would close."""
        partner = check_line(partner, "the insurer id", MAX_ID)
        subscriber_id = check_line(subscriber_id, "the subscriber id", MAX_ID)
        member_id = check_line(member_id or "", "the member id", MAX_ID) or None
        if not partner or not subscriber_id:
            raise ResolveRefused("name the insurer and the subscriber id")
        reason = check_reason(reason, self.moment)
        ours = self._ours(partner)
        stamp = self.moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        identity = short_hash(partner, subscriber_id, member_id or "*", stamp, self.by, reason)
        resolution = Resolution(identity, stamp, self.by, reason, member_id, caller=self.caller)
        # Our sender ids that send to this insurer: the subscriber's family under each.
        seen = []
        for our in ours:
            ledger = family_ledger(self.store, self.statuses, our, partner, subscriber_id,
                                   self.moment, self.sla_hours)  # fmt: skip
            if ledger.enrollments:
                seen.append((our, ledger))
        covered = [(our, e) for our, ledger in seen for e in ledger.enrollments
                   if resolution.covers(e)]  # fmt: skip
        if member_id and seen and not covered:
            members = sorted({a.member_id for _, ledger in seen for e in ledger.enrollments
                              for a in e.attempts if a.member_id})  # fmt: skip
            raise ResolveRefused(
                f"member {member_id!r} is not tracked for subscriber {subscriber_id} with "
                f"{partner} (members: {', '.join(members) or 'none with a REF*17 id'})"
            )
        writes: list[tuple[str, Resolution]] = []
        closings: list[Closing] = []
        for our, _ in seen:
            # It closes what is open now, by name: what arrives or opens later stays tracked.
            refs: set[tuple[str, str]] = set()
            for mine, enrollment in covered:
                if mine != our:
                    continue
                open_now = [a.ref for a in enrollment.attempts
                            if enrollment.states[a.ref] in OPEN_STATES]  # fmt: skip
                if open_now:
                    refs.update(open_now)
                    closings.append(Closing(partner, subscriber_id, member_label(enrollment),
                                            enrollment.line, len(open_now),
                                            str(enrollment.state)))  # fmt: skip
            if refs:
                writes.append((our, replace(resolution, refs=frozenset(refs))))
        if writes:
            return Plan(resolution, partner, subscriber_id, tuple(writes), tuple(closings))
        if not seen:
            raise ResolveRefused(f"subscriber {subscriber_id} is not tracked with {partner}")
        whom = (
            f"member {member_id} of subscriber {subscriber_id}"
            if member_id
            else f"subscriber {subscriber_id}"
        )
        raise ResolveRefused(
            f"nothing is open for {whom} with {partner}: every enrollment is confirmed or "
            "already resolved (see acktrack member)"
        )


def record(store: ResolutionStore, plan: Plan) -> Resolved:
    """Write a planned resolution (once: a second recording of the same one changes nothing)."""
    recorded = False
    for our, named in plan.writes:
        added = store.add_resolution(our, plan.partner, plan.subscriber_id, named,
                                     len(named.refs))  # fmt: skip
        recorded = added or recorded
    return Resolved(plan.resolution, plan.partner, plan.subscriber_id, plan.enrollments,
                    plan.attempts, recorded, plan.closings)  # fmt: skip


def would(plan: Plan) -> Resolved:
    """A dry run's answer: what ``record`` would write, nothing written."""
    return Resolved(plan.resolution, plan.partner, plan.subscriber_id, plan.enrollments,
                    plan.attempts, False, plan.closings, dry_run=True)  # fmt: skip


def resolve(
    store: ResolutionStore,
    *,
    partner: str,
    subscriber_id: str,
    reason: str,
    by: str,
    caller: str = "",
    member_id: str | None = None,
    at: datetime | None = None,
    sla_hours: float = 48.0,
    dry_run: bool = False,
) -> Resolved:
    """Close the subscriber's open enrollments with ``partner`` (or one member's); with
    ``dry_run``, say what would close and write nothing. ``caller``: the identity that
    really writes it (the CLI always gives it; empty: not recorded)."""
    planner = Planner(store, by=by, caller=caller, at=at, sla_hours=sla_hours)
    plan = planner.plan(partner=partner, subscriber_id=subscriber_id, reason=reason,
                        member_id=member_id)  # fmt: skip
    return would(plan) if dry_run else record(store, plan)
