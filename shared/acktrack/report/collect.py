"""Gather what the report needs from the store: the sparse index, counters, nothing else."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from acktrack.correlate.enrollments import FamilyLedger, SetStatuses, family_ledger
from acktrack.domain.ledger import OPEN_STATES, AttemptState, Enrollment
from acktrack.domain.ports import ReportSource
from acktrack.domain.status import CONFIRMED
from acktrack.report.backlog import Backlog
from acktrack.report.model import (
    AwaitingView,
    MemberView,
    NoticeView,
    OpenEnrollment,
    PartnerTotals,
    QualityView,
    QuarantinedView,
    Report,
    SetView,
    UnmatchedView,
    awaiting_order,
    build_report,
    needs_members,
    set_order,
)
from acktrack.report.people import (
    FIRST_PASS_PEOPLE,
    FirstAttempts,
    first_attempts,
    first_pass_budget,
)
from acktrack.report.reconciliation import collect_reconciliation
from acktrack.report.resolutions import add_resolutions, collect_resolutions
from acktrack.report.spool import RowSpool
from acktrack.report.usage import add_other_usage, collect_other_usage

if TYPE_CHECKING:
    from acktrack.domain.stored import StoredMember

FAMILIES_KEPT = 4_096  # family ledgers kept while the report runs (a family sits together)


class Ledgers:
    """Family ledgers as the report needs them, read once each while they are recent."""

    def __init__(self, store: ReportSource, as_of: datetime, sla_hours: float) -> None:
        self.store, self.as_of, self.sla_hours = store, as_of, sla_hours
        self.statuses = SetStatuses(store)
        self._kept: OrderedDict[tuple[str, str, str], FamilyLedger] = OrderedDict()
        self.reads = 0

    def of_family(self, our: str, partner: str, subscriber_id: str) -> FamilyLedger:
        key = (our, partner, subscriber_id)
        ledger = self._kept.get(key)
        if ledger is None:
            ledger = family_ledger(self.store, self.statuses, *key, self.as_of, self.sla_hours)
            self.reads += ledger.reads
            self._kept[key] = ledger
            while len(self._kept) > FAMILIES_KEPT:
                self._kept.popitem(last=False)
        self._kept.move_to_end(key)
        return ledger

    def of(self, member: StoredMember) -> FamilyLedger:
        if not member.subscriber_id:
            before = self.statuses.reads
            ledger = family_ledger(self.store, self.statuses, member.our_id, member.partner, None,
                                   self.as_of, self.sla_hours, alone=[member])  # fmt: skip
            self.reads += self.statuses.reads - before
            return ledger
        return self.of_family(member.our_id, member.partner, member.subscriber_id)


def open_still(
    store: ReportSource, as_of: datetime, sla_hours: float
) -> Callable[[StoredMember], bool]:
    """Whether a member transaction of an open set is still open by its family's ledger."""
    ledgers = Ledgers(store, as_of, sla_hours)

    def still_open(member: StoredMember) -> bool:
        return member_view(member, ledgers.of(member)).state in OPEN_STATES

    return still_open


def member_view(member: StoredMember, ledger: FamilyLedger) -> MemberView:
    """A member transaction of an open set, with what the ledger says became of it."""
    ref = (member.pk, member.sk)
    mine = ledger.of(ref)
    states = [e.states[ref] for e in mine]
    state = _fate(states)
    heads = tuple(_open(e) for e in mine if e.open and e.head.ref == ref)
    return MemberView(
        ordinal=int(member.ordinal),
        first_position=int(member.first_position),
        subscriber_id=member.subscriber_id,
        member_id=member.member_id,
        carrier_member_id=member.carrier_member_id,
        maintenance_type=member.maintenance_type,
        subscriber_indicator=member.subscriber_indicator,
        findings=len(member.findings or []),
        effectuated=member.effectuated_by is not None,
        state=state,
        open_enrollments=heads,
        # Without a subscriber id there is no family: the transaction is its own person.
        person=mine[0].identity if mine and member.subscriber_id else f"T:{member.pk}#{member.sk}",
    )


def _fate(states: list[AttemptState]) -> AttemptState:
    """One transaction in several enrollments (HD loops): closed only when closed in all."""
    if not states:
        return AttemptState.PENDING
    still = [s for s in states if s in OPEN_STATES or s == AttemptState.CONFIRMED]
    return still[0] if still else states[0]


def _open(enrollment: Enrollment) -> OpenEnrollment:
    waiting = enrollment.waiting
    replaced = enrollment.resend_of.get(enrollment.head.ref)
    return OpenEnrollment(
        insurance_line=enrollment.line,
        attempts=len(waiting),
        first_sent_at=datetime.fromisoformat(waiting[0].sent_at.replace("Z", "+00:00")),
        resend_of=(
            f"ISA13 {replaced.interchange_control} ST02 {replaced.transaction_control}"
            if replaced is not None
            else None
        ),
        waiting_types=frozenset(
            a.maintenance_type
            for a in enrollment.attempts
            if enrollment.states[a.ref] in OPEN_STATES
        ),
    )


def collect_report(
    store: ReportSource,
    as_of: datetime,
    sla_hours: float,
    window_days: int = 7,
    effectuation_days: int = 0,
    *,
    keep_rows: int = 500,
    first_pass_people: int = FIRST_PASS_PEOPLE,
) -> Report:
    """The report as of ``as_of``; ``Report.reads`` counts the items it read. The detail rows
    are spooled to a temporary file; the ``keep_rows`` most urgent stay in memory."""
    as_of = as_of.astimezone(UTC)
    reads = 0
    open_sets: list[
        tuple[SetView, Any]
    ] = []  # sets are few; their members are read one set at a time
    ledgers = Ledgers(store, as_of, sla_hours)
    backlog = Backlog(as_of, sla_hours, RowSpool(keep=keep_rows))
    for item in store.open_sets():
        reads += 1
        ledgers.statuses.remember(item)
        view = SetView(
            set_id=item.set_id,
            partner=item.partner,
            payer_name=item.payer_name,
            interchange_control=item.interchange_control,
            group_control=item.group_control,
            transaction_control=item.transaction_control,
            status=item.status,
            sent_at=datetime.fromisoformat(item.sent_at.replace("Z", "+00:00")),
            members=int(item.members),
            acks=dict(item.acks.as_dict()) if item.acks is not None else {},
            predicted_rejection=bool(item.predicted_rejection),
        )
        open_sets.append((view, item))
    for view, item in sorted(open_sets, key=lambda pair: set_order(pair[0])):
        members: list[MemberView] = []
        if needs_members(view, as_of, sla_hours):
            for member in store.members_of_set(item):
                reads += 1
                members.append(member_view(member, ledgers.of(member)))
            members.sort(key=lambda row: row.ordinal)
        backlog.add_set(view, members)
    window_start = (as_of - timedelta(days=window_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    first_day = (as_of - timedelta(days=window_days)).date().isoformat()
    last_day = as_of.date().isoformat()
    partners = []
    insurers = store.partners()
    budget = first_pass_budget(len(insurers), first_pass_people)
    for partner in insurers:
        reads += 1
        counters = store.counters(partner.our_id, partner.partner, since_day=first_day)
        reads += len(counters)
        total = counters.get("ALL")
        window = [c for sk, c in counters.items() if sk.startswith("D#") and sk[2:] <= last_day]
        first = (
            _first_attempts(store, ledgers, partner.our_id, partner.partner, window_start, budget)
            if budget
            else FirstAttempts()  # off (FirstPassPeople 0): the report reads the backlog only
        )
        reads += first.people
        partners.append(
            PartnerTotals(
                partner=partner.partner,
                payer_name=partner.payer_name,
                members_sent=int(total.members_sent) if total else 0,
                members_accepted=int(total.members_accepted) if total else 0,
                members_accepted_with_errors=int(total.members_accepted_with_errors)
                if total
                else 0,
                members_rejected=int(total.members_rejected) if total else 0,
                window_sent=sum(int(c.members_sent) for c in window),
                window_accepted=sum(
                    int(c.members_accepted) + int(c.members_accepted_with_errors) for c in window
                ),
                window_rejected=sum(int(c.members_rejected) for c in window),
                effectuated=int(total.members_effectuated) if total else 0,
                first_attempts_answered=first.answered,
                first_attempts_accepted=first.accepted,
                first_attempts_capped=first.capped,
            )
        )
    unmatched = []
    for ack in store.unmatched_acks():
        reads += 1
        unmatched.append(
            UnmatchedView(
                kind=ack.kind,
                partner=ack.partner,
                target_control=ack.target_control,
                status=ack.status,
                state=ack.state,
                reason=ack.reason,
                key=ack.source_key,
                received_at=ack.received_at,
            )
        )
    latest: dict[tuple[str, str], QuarantinedView] = {}
    for stored in store.quarantined():
        reads += 1
        bad = QuarantinedView(stored.key, stored.reason, stored.received_at, stored.quarantine_key)
        known = latest.get((bad.key, bad.reason))
        if known is None or bad.received_at > known.received_at:
            latest[(bad.key, bad.reason)] = bad  # the same bad file uploaded again: listed once
    quarantined = list(latest.values())
    notices = []
    for notice in store.notices():
        reads += 1
        notices.append(NoticeView(notice.kind, notice.detail, tuple(sorted(notice.keys or ()))))
    quality = []
    for finding in store.quality_findings(window_start):
        reads += 1
        if finding.kind == "duplicate_enrollment" and not _still_duplicate(finding, ledgers):
            continue  # a resend of what was rejected or overdue is no duplicate
        quality.append(
            QualityView(
                kind=finding.kind,
                detail=finding.detail,
                partner=finding.partner,
                subscriber_id=finding.subscriber_id,
                member_id=finding.member_id,
                maintenance_type=finding.maintenance_type,
                interchange_control=finding.interchange_control,
                group_control=finding.group_control,
                transaction_control=finding.transaction_control,
                member_ordinal=int(finding.ordinal),
                sent_at=finding.sent_at,
            )
        )
    awaiting: list[AwaitingView] = []
    if effectuation_days > 0:
        cutoff = (as_of - timedelta(days=effectuation_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        sets: dict[tuple[str, str], Any] = {}
        for member in store.awaiting_effectuation(cutoff):
            reads += 1
            key = (member.set_pk, member.set_sk)
            if key not in sets:
                sets[key] = store.get_set(*key)
                reads += 1
            item = sets[key]
            if item is None or item.status not in CONFIRMED:
                continue  # rejected or pending sets are reported as such
            awaiting.append(
                AwaitingView(
                    partner=item.partner,
                    payer_name=item.payer_name,
                    subscriber_id=member.subscriber_id,
                    member_id=member.member_id,
                    maintenance_type=member.maintenance_type,
                    interchange_control=item.interchange_control,
                    group_control=item.group_control,
                    transaction_control=item.transaction_control,
                    member_ordinal=int(member.ordinal),
                    sent_at=datetime.fromisoformat(member.sent_at.replace("Z", "+00:00")),
                    accepted_at=item.status_at,
                    person=_person(member, ledgers),
                )
            )
    reconciliation, read = collect_reconciliation(store, window_start)
    reads += ledgers.reads + read
    for late in sorted(awaiting, key=awaiting_order):
        backlog.add_awaiting(late, effectuation_days)
    report = build_report(
        as_of,
        sla_hours,
        window_days,
        partners,
        backlog,
        unmatched,
        quarantined,
        notices,
        reads,
        quality=quality,
        effectuation_days=effectuation_days,
        effectuated=sum(p.effectuated for p in partners),
    )
    report.extras["reconciliation"] = reconciliation
    add_resolutions(report, collect_resolutions(store, window_start, as_of))
    add_other_usage(report, collect_other_usage(store, window_start))
    return report


def _first_attempts(
    store: ReportSource, ledgers: Ledgers, our: str, partner: str, since: str, budget: int
) -> FirstAttempts:
    """First attempts sent to one insurer in the window and what their answers were, from
    the sets sent since ``since`` (members of the oldest first), within the read budget."""
    return first_attempts(
        store.sets_since(our, partner, since),
        store.members_of_set,
        lambda subscriber_id: ledgers.of_family(our, partner, subscriber_id),
        since,
        remember=ledgers.statuses.remember,
        budget=budget,
    )


def _person(member: StoredMember, ledgers: Ledgers) -> str:
    """Who an addition awaiting effectuation is about, as the ledger says (so a person with
    an open row too is counted once); its family is read only when the ids do not tell."""
    if not member.subscriber_id:
        return ""
    if member.member_id and member.subscriber_indicator != "Y":
        return f"M:{member.member_id}"
    mine = ledgers.of(member).of((member.pk, member.sk))
    return mine[0].identity if mine else ""


def _still_duplicate(finding: Any, ledgers: Ledgers) -> bool:
    """Judged again with the acknowledgments known now (the finding was stored at ingest)."""
    if not finding.subscriber_id:
        return True
    ledger = ledgers.of_family(finding.our_id, finding.partner, finding.subscriber_id)
    ref = (finding.target_pk, finding.target_sk)
    return any(ref in e.duplicates for e in ledger.of(ref))
