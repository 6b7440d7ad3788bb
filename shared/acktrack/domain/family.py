"""One subscriber's family, reconciled: data-quality findings and effectuation.

Pure. Given every member transaction sent for one subscriber id (the history and the
file just read) and every effectuation record the insurer sent back for it, decide:

- which data-quality findings exist, on which member transaction;
- which sent transaction each effectuation confirms, and what differs;
- what the insurer has that was never sent, and what it cancelled or terminated.

"Earlier" always means sent earlier (by envelope time, then control numbers), never
arrived earlier, and the answer is recomputed from the whole family whenever the family
changes, so files arriving in any order, any number of times, give the same result. Who a
transaction is about is ``identity``'s answer, for the sent members and the insurer's
records together. Duplicates are the ledger's judgment (``ledger.duplicate_of``), made here
with the answers known now; one waiting on an answer is re-judged when that answer comes
(``FamilyState.watch``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from acktrack.domain.identity import Who, identities, same_subscriber
from acktrack.domain.ledger import Attempt, enrollments
from acktrack.domain.status import Status

# Data-quality checks (each finding's kind), with the words the report uses.
CHECKS: dict[str, str] = {
    "duplicate_enrollment": "the same member, coverage and effective date was already sent and not cancelled",
    "add_and_cancel_unconfirmed": "an addition and a cancellation for the same member are both unconfirmed",
    "dependent_without_subscriber": "a dependent whose subscriber was sent neither in the same set nor before",
    "mixed_subscriber_ids": "family members in one set carry different REF*0F subscriber ids",
    "second_subscriber": "a second subscriber (INS01 Y) for one REF*0F subscriber id",
    "aptc_exceeds_premium": "APTC is greater than the total premium",
    "negative_amount": "a premium or subsidy amount is negative",
    "aptc_without_premium": "APTC is reported without a premium",
    "missing_coverage": "an addition without a coverage (HD) loop",
    "missing_benefit_begin": "an addition without a benefit begin date (DTP*348)",
    "missing_end_date": "a cancellation or termination without an end date (DTP*349 or DTP*357)",
}
# Effectuation flags.
EFFECTUATION_FLAGS: dict[str, str] = {
    "effective_date_differs": "the insurer's benefit begin date differs from what was sent",
    "plan_differs": "the insurer's plan differs from what was sent",
    "never_sent": "the insurer has a member that was never sent to it",
    "unidentified_member": "the insurer's record has no member id, nor a first name and birth "
    "date to compare (or no hash key): it confirms nothing",
    "insurer_cancellation": "the insurer cancelled the coverage (end date equals begin date)",
    "insurer_termination": "the insurer terminated the coverage",
}
KINDS = {**CHECKS, **EFFECTUATION_FLAGS}

_PREMIUM_TOTAL = ("PRE AMT TOT", "TOT RES AMT")
_PREMIUM = ("PRE AMT 1",)
_APTC = ("APTC AMT",)


Family = tuple[str, str, str]  # (our id, partner, subscriber id): one partition


class SetAnswer(NamedTuple):
    """A set's status and when it was decided, as the duplicate judgment needs it."""

    status: Status
    status_at: str | None


@dataclass(frozen=True, slots=True)
class SentMember:
    """One member transaction as stored (the fields the checks need)."""

    ref: tuple[str, str]  # the member item's (pk, sk)
    sent_key: tuple[str, ...]  # (sent_at, ISA13, GS06, ST02, ordinal): "earlier" means smaller
    subscriber_id: str
    member_id: str | None
    subscriber_indicator: str
    relationship: str
    maintenance_type: str
    coverages: tuple[dict[str, Any], ...]
    categories: dict[str, str]
    eligibility_end: str | None = None  # DTP*357
    set_findings: tuple[str, ...] = ()  # kinds found while reading its set (mixed_subscriber_ids)
    effectuated_by: str | None = None  # the effectuation record currently confirming it
    expires: datetime | None = None  # when retention lets the stored item go
    carrier_member_id: str | None = None  # REF*23 as sent
    person: frozenset[str] = frozenset()  # keyed hashes of first name and birth date

    @property
    def who(self) -> Who:
        ids = frozenset({self.carrier_member_id} if self.carrier_member_id else ())
        return Who(self.ref, self.subscriber_indicator, self.member_id, ids, self.person)

    @property
    def lines(self) -> set[str]:
        return {c.get("insurance_line") or "" for c in self.coverages}

    @property
    def set_key(self) -> tuple[str, str]:
        return (self.sent_key[1], self.sent_key[2])


@dataclass(frozen=True, slots=True)
class EffectuationRecord:
    """One member of an insurer's effectuation 834, as stored."""

    ref: tuple[str, str]
    record_id: str  # deterministic: insurer, its ISA13/GS06/ST02, ordinal
    at: str  # the insurer's envelope time
    subscriber_id: str
    member_id: str | None
    subscriber_indicator: str
    relationship: str
    maintenance_type: str
    coverages: tuple[dict[str, Any], ...]
    carrier_member_id: str | None
    policy_ids: tuple[str, ...]
    expires: datetime | None = None  # when retention lets the stored item go
    person: frozenset[str] = frozenset()  # keyed hashes of first name and birth date

    @property
    def who(self) -> Who:
        ids = frozenset({self.carrier_member_id} if self.carrier_member_id else ())
        return Who(self.ref, self.subscriber_indicator, self.member_id, ids, self.person)

    @property
    def ends(self) -> str | None:
        """insurer_cancellation / insurer_termination, when this record ends coverage."""
        ending = self.maintenance_type == "024" or any(
            c.get("maintenance_type") == "024" for c in self.coverages
        )
        if not ending:
            return None
        cancelled = any(
            c.get("benefit_begin") and c.get("benefit_begin") == c.get("benefit_end")
            for c in self.coverages
        )
        return "insurer_cancellation" if cancelled else "insurer_termination"


@dataclass(frozen=True, slots=True)
class FamilyFinding:
    target: tuple[str, str]  # the member item (or effectuation record) it belongs to
    kind: str
    detail: str
    observed_at: str | None = None  # the insurer record's time, for effectuation flags


@dataclass(slots=True)
class FamilyState:
    findings: set[FamilyFinding] = field(default_factory=set)
    effectuated: dict[tuple[str, str], EffectuationRecord] = field(
        default_factory=dict
    )  # member -> record
    # Sets whose answer decides a duplicate question (an addition repeating one of theirs).
    watch: set[tuple[str, str]] = field(default_factory=set)


def _amount(categories: dict[str, str], names: tuple[str, ...]) -> float | None:
    for name in names:
        raw = categories.get(name)
        if raw is None:
            continue
        try:
            return float(raw)
        except ValueError:
            continue
    return None


def transaction_findings(member: SentMember) -> list[tuple[str, str]]:
    """Checks that need only the transaction itself: subsidy amounts and required fields."""
    found: list[tuple[str, str]] = []
    categories = member.categories
    amounts = []
    for raw in categories.values():
        try:
            amounts.append(float(raw))
        except ValueError:
            continue
    premium = _amount(categories, _PREMIUM_TOTAL)
    if premium is None:
        premium = _amount(categories, _PREMIUM)
    aptc = _amount(categories, _APTC)
    if any(value < 0 for value in amounts):
        found.append(("negative_amount", "a reporting-category amount is below zero"))
    if aptc is not None and aptc > 0:
        if premium is None:
            found.append(("aptc_without_premium", f"APTC {aptc:.2f} with no PRE AMT"))
        elif aptc > premium:
            found.append(("aptc_exceeds_premium", f"APTC {aptc:.2f} > premium {premium:.2f}"))
    if member.maintenance_type == "021":
        if not member.coverages:
            found.append(("missing_coverage", "INS03 021 without an HD loop"))
        elif any(not c.get("benefit_begin") for c in member.coverages):
            found.append(("missing_benefit_begin", "INS03 021 coverage without DTP*348"))
    if member.maintenance_type == "024":
        ends = any(c.get("benefit_end") for c in member.coverages)
        if not ends and not member.eligibility_end:
            found.append(("missing_end_date", "INS03 024 without DTP*349 or DTP*357"))
    return found


def reconcile(
    members: Iterable[SentMember],
    records: Iterable[EffectuationRecord],
    *,
    answers: Callable[[tuple[str, str]], SetAnswer | None] | None = None,
    sla_hours: float = 48.0,
) -> FamilyState:
    """Everything the family implies, from scratch (see the module docstring). ``answers``
    gives a set's status for the duplicate judgment (None: no answer known yet)."""
    state = FamilyState()
    sent = sorted(members, key=lambda m: m.sent_key)
    held = sorted(records, key=lambda r: (r.at, r.record_id))
    people = identities([*(m.who for m in sent), *(r.who for r in held)])
    for member in sent:
        for kind, detail in transaction_findings(member):
            state.findings.add(FamilyFinding(member.ref, kind, detail))
        for kind in member.set_findings:
            state.findings.add(FamilyFinding(member.ref, kind, CHECKS[kind]))
    # A dependent needs a subscriber sent with it or before it.
    for member in sent:
        if member.subscriber_indicator == "N" and not any(
            other.subscriber_indicator == "Y" and other.sent_key[:4] <= member.sent_key[:4]
            for other in sent
        ):
            state.findings.add(
                FamilyFinding(
                    member.ref, "dependent_without_subscriber", "no INS01 Y sent with or before it"
                )
            )
    # One subscriber per subscriber id: later distinct subscribers are flagged.
    subscribers: list[SentMember] = []
    for member in sent:
        if member.subscriber_indicator != "Y":
            continue
        if subscribers and not any(same_subscriber(member.who, s.who) for s in subscribers):
            state.findings.add(
                FamilyFinding(
                    member.ref, "second_subscriber", "another INS01 Y was sent earlier for this id"
                )
            )
        if not any(same_subscriber(member.who, s.who) for s in subscribers):
            subscribers.append(member)
    _effectuate(sent, held, people, state)
    _judge_duplicates(sent, state, answers, sla_hours)
    return state


def _judge_duplicates(
    sent: list[SentMember],
    state: FamilyState,
    answers: Callable[[tuple[str, str]], SetAnswer | None] | None,
    sla_hours: float,
) -> None:
    """Additions that repeat an earlier one (same person, line and benefit begin, not
    cancelled between) are judged by the ledger with the answers known now; the sets whose
    answer is still awaited are watched."""
    # Who each attempt is as the ledger sees it (with the insurer ids effectuation taught).
    people = identities(_attempt(m, None, state.effectuated.get(m.ref)).who for m in sent)
    asked: set[str] = set()  # people with a repeated addition
    active: set[tuple[str, str, str]] = set()
    for member in sent:
        for coverage in member.coverages:
            key = (people[member.ref], coverage.get("insurance_line") or "",
                   coverage.get("benefit_begin") or "")  # fmt: skip
            if member.maintenance_type == "024" or coverage.get("maintenance_type") == "024":
                active = {k for k in active if k[:2] != key[:2]}
            elif member.maintenance_type == "021":
                if key in active:
                    asked.add(key[0])
                active.add(key)
    if not asked:
        return
    chosen = [m for m in sent if people[m.ref] in asked]
    attempts = [_attempt(m, answers(m.set_key) if answers else None,
                         state.effectuated.get(m.ref)) for m in chosen]  # fmt: skip
    by_ref = {m.ref: m for m in chosen}
    for enrollment in enrollments(attempts, (), datetime.now(UTC), sla_hours):
        for ref in enrollment.duplicates:
            coverage = next((c for c in by_ref[ref].coverages
                             if (c.get("insurance_line") or "") == enrollment.line), {})  # fmt: skip
            state.findings.add(
                FamilyFinding(
                    ref,
                    "duplicate_enrollment",
                    f"{enrollment.line} from {coverage.get('benefit_begin') or ''} was already added",
                )
            )
        for earlier in enrollment.undecided.values():
            state.watch.add(by_ref[earlier.ref].set_key)


def _attempt(
    member: SentMember, answer: SetAnswer | None, record: EffectuationRecord | None
) -> Attempt:
    return Attempt(
        ref=member.ref,
        sent_key=member.sent_key,
        sent_at=member.sent_key[0],
        subscriber_id=member.subscriber_id,
        member_id=member.member_id,
        subscriber_indicator=member.subscriber_indicator,
        relationship=member.relationship,
        maintenance_type=member.maintenance_type,
        lines=tuple(dict.fromkeys(c.get("insurance_line") or "" for c in member.coverages)),
        begins=tuple(
            (c.get("insurance_line") or "", c.get("benefit_begin") or "") for c in member.coverages
        ),
        status=answer.status if answer else Status.SENT,
        status_at=answer.status_at if answer else None,
        effectuated_at=record.at if record else None,
        insurer_ids=member.who.insurer_ids
        | ({record.carrier_member_id} if record and record.carrier_member_id else set()),
        person=member.person,
    )


def _effectuate(
    sent: list[SentMember],
    records: list[EffectuationRecord],
    people: dict[tuple[str, str], str],
    state: FamilyState,
) -> None:
    for record in records:
        if not record.who.tokens() and record.subscriber_indicator != "Y":
            state.findings.add(
                FamilyFinding(record.ref, "unidentified_member",
                              f"insurer member {record.record_id} cannot be identified", record.at)
            )  # fmt: skip
            continue
        candidates = [m for m in sent if people[m.ref] == people[record.ref]]
        lines = {c.get("insurance_line") or "" for c in record.coverages}
        if lines:
            candidates = [m for m in candidates if m.lines & lines] or candidates
        if not candidates:
            state.findings.add(
                FamilyFinding(
                    record.ref,
                    "never_sent",
                    f"insurer member {record.record_id} matches nothing sent",
                    record.at,
                )
            )
            continue
        additions = [m for m in candidates if m.maintenance_type == "021"]
        chosen = (additions or candidates)[-1]  # the latest sent addition (or transaction)
        ending = record.ends
        if ending is not None:
            state.findings.add(FamilyFinding(chosen.ref, ending, KINDS[ending], record.at))
            continue
        if chosen.ref in state.effectuated:
            continue  # an earlier record already confirmed it
        state.effectuated[chosen.ref] = record
        sent_coverage = {c.get("insurance_line") or "": c for c in chosen.coverages}
        for coverage in record.coverages:
            mine = sent_coverage.get(coverage.get("insurance_line") or "")
            if mine is None:
                continue
            if (
                coverage.get("benefit_begin")
                and mine.get("benefit_begin")
                and coverage["benefit_begin"] != mine["benefit_begin"]
            ):
                state.findings.add(
                    FamilyFinding(
                        chosen.ref,
                        "effective_date_differs",
                        f"sent {mine['benefit_begin']}, insurer has {coverage['benefit_begin']}",
                        record.at,
                    )
                )
            if coverage.get("plan") and mine.get("plan") and coverage["plan"] != mine["plan"]:
                state.findings.add(
                    FamilyFinding(
                        chosen.ref,
                        "plan_differs",
                        f"sent {mine['plan']}, insurer has {coverage['plan']}",
                        record.at,
                    )
                )
