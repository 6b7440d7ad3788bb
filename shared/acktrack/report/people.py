"""Per person (enrollment) figures from the ledger: whether each first attempt was accepted
as sent, and how long each person waited from the first attempt to a confirmation.

Shared by the daily report (over the window, within a read budget) and `acktrack stats`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from acktrack.correlate.enrollments import FamilyLedger
from acktrack.domain.ledger import Attempt, AttemptState, Enrollment

# Reads the daily report makes for the first-pass rate, over every insurer: a family read
# or a set's members listed, each about one request (a set of one family costs two). With
# the duplicate findings judged again (sections.DUPLICATES_JUDGED) about 19,000 requests,
# under the 20,000 an invocation may make.
FIRST_PASS_PEOPLE = 15_000


def first_pass_budget(insurers: int, people: int = FIRST_PASS_PEOPLE) -> int:
    """Reads for the next insurer (0: the rate is off): an equal share of what is left
    (``people``) among the ``insurers`` still to read, at least one, so that the reads
    stay about ``people`` however many insurers there are (a floor of 1,000 each made 300
    insurers read 300,000 families); what one leaves unused goes to those after it."""
    if people <= 0:
        return 0
    return max(1, people // max(insurers, 1))


@dataclass(slots=True)
class FirstAttempts:
    """What became of first attempts sent since a moment, for one insurer."""

    answered: int = 0  # first attempts with a verdict (accepted or rejected)
    accepted: int = 0  # of those, accepted as sent
    people: int = 0  # families read
    sets: int = 0  # sets whose members were listed
    capped: bool = False  # the budget stopped the walk before every set and family was read
    hours: list[float] = field(default_factory=list)  # first attempt to confirmation

    @property
    def acceptance(self) -> float | None:
        return round(self.accepted / self.answered, 4) if self.answered else None


def first_attempts(
    sets: Iterable[Any],
    members_of: Callable[[Any], Iterable[Any]],
    ledger_of: Callable[[str], FamilyLedger],
    since: str,
    *,
    remember: Callable[[Any], None] | None = None,
    budget: int | None = None,
    set_cost: int = 0,
) -> FirstAttempts:
    """Walk the members of ``sets`` (oldest first), read each family's ledger once and count
    its runs of attempts whose first attempt was sent at or after ``since``. With a
    ``budget``, stop after that many reads (inside a set too) and say so: a family read
    costs one, a set's members listed ``set_cost``."""
    result = FirstAttempts()
    families: set[str] = set()

    def spent() -> bool:
        return budget is not None and result.people + result.sets * set_cost >= budget

    for item in sets:
        if spent():
            result.capped = True
            break
        if remember is not None:
            remember(item)
        result.sets += 1
        for member in members_of(item):
            if not member.subscriber_id or member.subscriber_id in families:
                continue
            if spent():
                result.capped = True
                return result
            families.add(member.subscriber_id)
            result.people += 1
            for person in people_of(ledger_of(member.subscriber_id).enrollments):
                runs = chains(person)
                if not runs:
                    continue
                first, confirmed, accepted = runs[0]  # the person's first attempt, once
                if first.sent_at < since:
                    continue
                if confirmed is not None:
                    result.hours.append(hours_between(first.sent_at, confirmed))
                if accepted is not None:
                    result.answered += 1
                    result.accepted += accepted
    return result


def people_of(enrollments: Iterable[Enrollment]) -> list[list[Enrollment]]:
    """A family's enrollments by person (one person may hold several insurance lines)."""
    found: dict[str, list[Enrollment]] = {}
    for enrollment in enrollments:
        found.setdefault(enrollment.identity, []).append(enrollment)
    return [found[who] for who in sorted(found)]


def chains(person: list[Enrollment]) -> list[tuple[Attempt, str | None, bool | None]]:
    """Each run of one person's attempts (over their lines; a duplicate is no attempt of its
    own) until one is confirmed, or the run still waits: its first attempt, when it was
    confirmed, and whether that first attempt was accepted itself (None while it has no
    answer)."""
    states: dict[tuple[str, str], AttemptState] = {}
    attempts: dict[tuple[str, str], Attempt] = {}
    for enrollment in person:
        for attempt in enrollment.attempts:
            if attempt.ref in enrollment.duplicates:
                continue
            attempts[attempt.ref] = attempt
            state = enrollment.states[attempt.ref]
            if states.get(attempt.ref) != AttemptState.CONFIRMED:  # confirmed on any line
                states[attempt.ref] = state
    runs: list[tuple[Attempt, str | None, bool | None]] = []
    first: Attempt | None = None
    for attempt in sorted(attempts.values(), key=lambda a: (a.sent_key, a.ref)):
        state = states[attempt.ref]
        if first is None:
            first = attempt
        if state == AttemptState.CONFIRMED:
            runs.append((first, attempt.confirmed_at, first is attempt))
            first = None
        elif state in (
            AttemptState.RESOLVED_BY_OPERATOR,
            AttemptState.CONFIRMED_BY_RECONCILIATION,
        ):
            first = None
    if first is not None:
        answered = states[first.ref] in (AttemptState.REJECTED,
                                         AttemptState.REJECTED_AFTER_ACCEPT) or None  # fmt: skip
        runs.append((first, None, False if answered else None))
    return runs


def hours_between(start: str, end: str) -> float:
    first = datetime.fromisoformat(start.replace("Z", "+00:00"))
    last = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return (last - first).total_seconds() / 3600


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return round(ordered[0], 2)
    index = share * (len(ordered) - 1)  # linear interpolation between closest ranks
    low = int(index)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (index - low), 2)


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None
