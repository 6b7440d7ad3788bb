"""The enrollment ledger: one person's coverage with one insurer, told by its transactions.

Pure. An enrollment is (insurer, subscriber id, member identity, insurance line); who a
transaction is about is ``identity``'s answer (a dependent without a member id is never
merged with another unless its identifiers say so). Every member transaction sent for it is
an attempt; the insurer's answers (its set's status, an effectuation) and operators'
resolutions decide what each attempt became:

- an attempt sent after an earlier one of the same enrollment and kind (INS03) was
  rejected, or was past its SLA unconfirmed, is a **resend** of it; when an attempt is
  confirmed, the earlier open attempts of its kind are closed as ``resolved_by_resend``;
- an operator's resolution closes the open attempts it names;
- an addition sent again while the earlier one is confirmed (and not cancelled since) is a
  **duplicate** (``duplicate_of``: the one judgment, also made at ingest); the person is
  confirmed, so the copy never reopens them;
- the enrollment is open while one of its attempts is neither confirmed nor closed (an
  addition rejected stays open even when a later change was accepted).

Everything is computed from scratch from all the facts, sorted, so files and answers
arriving in any order, any number of times, give the same ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from acktrack.domain.identity import Who, identities
from acktrack.domain.status import CONFIRMED, REJECTIONS, Status
from acktrack.x12 import codes


class AttemptState(StrEnum):
    """What one member transaction became, as far as the person is concerned."""

    CONFIRMED = "confirmed"  # a 999 accepted it, or the insurer effectuated it
    REJECTED = "rejected"
    REJECTED_AFTER_ACCEPT = "rejected_after_accept"  # an 824 rejected what a 999 accepted
    PENDING = "pending"  # no answer yet, within the SLA
    OVERDUE = "overdue"  # no answer past the SLA
    RESOLVED_BY_RESEND = "resolved_by_resend"  # a confirmed resend replaced it
    RESOLVED_BY_OPERATOR = "resolved_by_operator"
    # The insurer's whole population (monthly reconciliation) holds it, same plan and dates.
    CONFIRMED_BY_RECONCILIATION = "confirmed_by_reconciliation"
    # The same addition sent again while the earlier one was confirmed: the person is
    # confirmed; the copy is a data-quality finding, not an open enrollment.
    DUPLICATE = "duplicate"


class ClosedBy(StrEnum):
    """Who recorded a resolution."""

    OPERATOR = "operator"  # acktrack resolve
    RECONCILIATION = "reconciliation"  # the insurer's population held it


OPEN_STATES = frozenset({AttemptState.REJECTED, AttemptState.REJECTED_AFTER_ACCEPT,
                         AttemptState.PENDING, AttemptState.OVERDUE})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Attempt:
    """One member transaction as the ledger needs it: identifiers, codes and times only."""

    ref: tuple[str, str]  # the member item
    sent_key: tuple[str, ...]  # (sent_at, set pk, set sk, ordinal): "earlier" is smaller
    sent_at: str  # ISO 8601, UTC
    subscriber_id: str | None
    member_id: str | None
    subscriber_indicator: str
    relationship: str
    maintenance_type: str
    lines: tuple[str, ...]  # HD03 of its coverages ("" when it has none)
    status: Status  # its set's status
    begins: tuple[tuple[str, str], ...] = ()  # (HD03, benefit begin) of each coverage
    status_at: str | None = None  # when that status was decided
    effectuated_at: str | None = None  # the insurer's effectuation confirms it too
    interchange_control: str = ""
    group_control: str = ""
    transaction_control: str = ""
    ordinal: int = 0
    insurer_ids: frozenset[str] = frozenset()  # REF*23 sent, or the insurer's own once known
    person: frozenset[str] = frozenset()  # keyed hashes of first name and birth date

    @property
    def who(self) -> Who:
        return Who(self.ref, self.subscriber_indicator, self.member_id, self.insurer_ids,
                   self.person)  # fmt: skip

    @property
    def confirmed(self) -> bool:
        return self.status in CONFIRMED or self.effectuated_at is not None

    @property
    def confirmed_at(self) -> str | None:
        """When it was first known confirmed (None when it is not)."""
        times = [t for t in (self.status_at if self.status in CONFIRMED else None,
                             self.effectuated_at) if t]  # fmt: skip
        return min(times) if times else (self.sent_at if self.confirmed else None)


@dataclass(frozen=True, slots=True)
class Resolution:
    """An operator closed what the insurer will never confirm: who, when, why."""

    resolution_id: str
    at: str  # ISO 8601, UTC
    by: str
    reason: str
    member_id: str | None = None  # None: every open enrollment of the subscriber
    refs: frozenset[tuple[str, str]] = frozenset()  # the attempts it closes (empty: sent before it)
    kind: ClosedBy = ClosedBy.OPERATOR
    caller: str = ""  # the identity that really wrote it (STS caller ARN, or the OS user)

    def covers(self, enrollment: Enrollment) -> bool:
        """It names every open enrollment of the subscriber, or a member: by the exchange's
        member id (REF*17) or the insurer's (REF*23)."""
        if self.member_id is None:
            return True
        return any(
            self.member_id == attempt.member_id or self.member_id in attempt.insurer_ids
            for attempt in enrollment.attempts
        )


@dataclass(slots=True)
class Enrollment:
    """One person's coverage with one insurer: its attempts in sending order and their fate."""

    identity: str
    line: str
    attempts: list[Attempt]
    states: dict[tuple[str, str], AttemptState] = field(default_factory=dict)
    resend_of: dict[tuple[str, str], Attempt] = field(default_factory=dict)
    closed_by: dict[tuple[str, str], str] = field(default_factory=dict)  # ref -> what closed it
    closers: dict[tuple[str, str], Attempt] = field(default_factory=dict)  # ref -> its resend
    duplicates: dict[tuple[str, str], Attempt] = field(default_factory=dict)  # ref -> the earlier
    # Additions that repeat one still unanswered: its answer decides (ref -> the earlier).
    undecided: dict[tuple[str, str], Attempt] = field(default_factory=dict)

    @property
    def latest(self) -> Attempt:
        return self.attempts[-1]

    @property
    def head(self) -> Attempt:
        """The attempt the report shows: the latest still open, else the latest."""
        still = [a for a in self.attempts if self.states[a.ref] in OPEN_STATES]
        return still[-1] if still else self.latest

    @property
    def state(self) -> AttemptState:
        return self.states[self.head.ref]

    @property
    def open(self) -> bool:
        """Something we asked the insurer is neither confirmed nor closed."""
        return self.state in OPEN_STATES

    @property
    def waiting(self) -> list[Attempt]:
        """The head's attempts of its kind (INS03) since the last confirmed or operator-closed
        one: what the person has waited through."""
        head = self.head
        since: list[Attempt] = []
        for attempt in self.attempts:
            if not same_kind(attempt, head):
                continue
            if self.states[attempt.ref] in (
                AttemptState.CONFIRMED,
                AttemptState.RESOLVED_BY_OPERATOR,
                AttemptState.CONFIRMED_BY_RECONCILIATION,
            ):
                since = []
            else:
                since.append(attempt)
            if attempt is head:
                break
        return since or [head]

    @property
    def first_sent_at(self) -> str:
        return self.waiting[0].sent_at

    def closing_sets(self, ref: tuple[str, str]) -> set[tuple[str, str]]:
        """The sets whose confirmation closed this attempt (a resend, or the addition it
        duplicates): if their answer changes, it may open again."""
        found = [self.closers.get(ref), self.duplicates.get(ref)]
        return {(a.sent_key[1], a.sent_key[2]) for a in found if a is not None}


def same_kind(one: Attempt, other: Attempt) -> bool:
    """Both ask the same thing (INS03). A code that is no maintenance type (the reason a 999
    rejected it, often) asks nothing definite: any later attempt can replace it."""
    known = codes.MAINTENANCE_TYPE
    if one.maintenance_type not in known or other.maintenance_type not in known:
        return True
    return one.maintenance_type == other.maintenance_type


def _at(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_resend(earlier: Attempt, later: Attempt, sla_hours: float) -> bool:
    """``later`` replaces ``earlier``: that one was rejected, or was past its SLA unconfirmed
    when ``later`` was sent (a confirmation that came after that does not change it)."""
    if earlier.status in REJECTIONS:
        return True
    if _at(later.sent_at) - _at(earlier.sent_at) <= timedelta(hours=sla_hours):
        return False
    confirmed_at = earlier.confirmed_at
    return confirmed_at is None or _at(confirmed_at) > _at(later.sent_at)


def _base_state(attempt: Attempt, as_of: datetime, sla_hours: float) -> AttemptState:
    if attempt.confirmed:
        return AttemptState.CONFIRMED
    if attempt.status == Status.REJECTED_AFTER_ACCEPT:
        return AttemptState.REJECTED_AFTER_ACCEPT
    if attempt.status == Status.REJECTED:
        return AttemptState.REJECTED
    overdue = as_of - _at(attempt.sent_at) > timedelta(hours=sla_hours)
    return AttemptState.OVERDUE if overdue else AttemptState.PENDING


def enrollments(
    attempts: Iterable[Attempt],
    resolutions: Iterable[Resolution],
    as_of: datetime,
    sla_hours: float,
) -> list[Enrollment]:
    """One subscriber's enrollments with one insurer, each attempt's fate decided."""
    unique = {attempt.ref: attempt for attempt in attempts}
    ordered = sorted(unique.values(), key=lambda a: (a.sent_key, a.ref))
    closings = sorted(resolutions, key=lambda r: (r.at, r.resolution_id))
    people = identities(attempt.who for attempt in ordered)
    # An attempt without an HD loop belongs to every enrollment its member has.
    known: dict[str, list[str]] = {}
    for attempt in ordered:
        for line in attempt.lines:
            if line and line not in known.setdefault(people[attempt.ref], []):
                known[people[attempt.ref]].append(line)
    grouped: dict[tuple[str, str], list[Attempt]] = {}
    for attempt in ordered:
        who = people[attempt.ref]
        lines = [line for line in attempt.lines if line] or known.get(who) or [""]
        for line in lines:
            grouped.setdefault((who, line), []).append(attempt)
    ledger = []
    for (who, line), chain in sorted(grouped.items()):
        enrollment = Enrollment(who, line, chain)
        for number, attempt in enumerate(chain):
            enrollment.states[attempt.ref] = _base_state(attempt, as_of, sla_hours)
            # A resend asks the same thing again (the same INS03) after an earlier ask was
            # rejected or went unanswered past the SLA.
            earlier = [a for a in chain[:number] if same_kind(a, attempt)]
            replaced = next(
                (a for a in reversed(earlier) if is_resend(a, attempt, sla_hours)), None
            )
            if replaced is not None:
                enrollment.resend_of[attempt.ref] = replaced
        _duplicates(enrollment, sla_hours)
        _close(enrollment, closings)
        ledger.append(enrollment)
    return ledger


def _close(enrollment: Enrollment, closings: list[Resolution]) -> None:
    """A confirmed attempt closes the earlier open attempts of its kind (the insurer now holds
    what they asked); a resolution closes the attempts it names (or, naming none, those of its
    member sent before it)."""
    states = enrollment.states
    for number, attempt in enumerate(enrollment.attempts):
        if states[attempt.ref] != AttemptState.CONFIRMED:
            continue
        for earlier in enrollment.attempts[:number]:
            if same_kind(earlier, attempt) and states[earlier.ref] in OPEN_STATES:
                states[earlier.ref] = AttemptState.RESOLVED_BY_RESEND
                enrollment.closed_by[earlier.ref] = _controls(attempt)
                enrollment.closers[earlier.ref] = attempt
    for resolution in closings:
        if not resolution.covers(enrollment):
            continue
        for attempt in enrollment.attempts:
            named = (
                attempt.ref in resolution.refs
                if resolution.refs
                else attempt.sent_at <= resolution.at
            )
            if states[attempt.ref] in OPEN_STATES and named:
                states[attempt.ref] = (
                    AttemptState.CONFIRMED_BY_RECONCILIATION
                    if resolution.kind == ClosedBy.RECONCILIATION
                    else AttemptState.RESOLVED_BY_OPERATOR
                )
                enrollment.closed_by[attempt.ref] = resolution.resolution_id


def _controls(attempt: Attempt) -> str:
    return f"ISA13 {attempt.interchange_control} ST02 {attempt.transaction_control}"


def duplicate_of(earlier: Attempt, later: Attempt, sla_hours: float) -> bool:
    """The one judgment of a duplicate, made at ingest and whenever a ledger is read: ``later``
    adds again what ``earlier`` added (the same person, line and benefit begin, not cancelled
    between), while ``earlier`` is confirmed and ``later`` is no resend of it. While
    ``earlier`` has no answer the question waits: a rejection makes ``later`` a resend."""
    return earlier.confirmed and not is_resend(earlier, later, sla_hours)


def _unanswered(attempt: Attempt) -> bool:
    return not attempt.confirmed and attempt.status not in REJECTIONS


def _duplicates(enrollment: Enrollment, sla_hours: float) -> None:
    """Each addition judged against the addition in force for its benefit begin; a duplicate
    of a confirmed addition is closed (the person is confirmed), whatever its own answer."""
    active: dict[str, Attempt] = {}  # benefit begin -> the addition in force
    for attempt in enrollment.attempts:
        if attempt.maintenance_type == "024":
            active.clear()
            continue
        if attempt.maintenance_type != "021":
            continue
        begins = [b for line, b in attempt.begins if line == enrollment.line] or [""]
        for begin in begins:
            earlier = active.get(begin)
            if earlier is not None and duplicate_of(earlier, attempt, sla_hours):
                enrollment.duplicates[attempt.ref] = earlier
                if enrollment.states[attempt.ref] in OPEN_STATES:
                    enrollment.states[attempt.ref] = AttemptState.DUPLICATE
                continue
            if earlier is not None and _unanswered(earlier):
                enrollment.undecided[attempt.ref] = earlier  # the earlier's answer decides
            active[begin] = attempt
