"""What the ledger says of each transaction the report reads: family ledgers read once each
(and prefetched a batch at a time: every family, then every set status they need, 100 a
request), and the report's views of a set, a member and an addition awaiting effectuation."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from acktrack.correlate.enrollments import FamilyLedger, SetStatuses, family_ledger
from acktrack.domain.ledger import OPEN_STATES, AttemptState, Enrollment
from acktrack.domain.ports import ReportSource
from acktrack.report.model import AwaitingView, MemberView, OpenEnrollment, SetView

if TYPE_CHECKING:
    from acktrack.domain.stored import FamilyPartition, StoredMember, StoredSet

FAMILIES_KEPT = 4_096  # family ledgers kept while the report runs (a family sits together)

Family = tuple[str, str, str]


class Ledgers:
    """Family ledgers as the report needs them, read once each while they are recent."""

    def __init__(self, store: ReportSource, as_of: datetime, sla_hours: float) -> None:
        self.store, self.as_of, self.sla_hours = store, as_of, sla_hours
        self.statuses = SetStatuses(store)
        self._kept: OrderedDict[Family, FamilyLedger] = OrderedDict()
        self._read: dict[Family, FamilyPartition] = {}  # prefetched, not yet made ledgers
        self.reads = 0

    def prefetch(self, members: Iterable[StoredMember]) -> None:
        """Read the families of ``members`` (a query each) and every set status their
        ledgers need (100 a request), so that making them reads nothing more."""
        wanted = {(m.our_id, m.partner, m.subscriber_id) for m in members if m.subscriber_id}
        for family in sorted(wanted - set(self._kept) - set(self._read)):
            partition = self.store.family(*family)
            self._read[family] = partition
            self.reads += 1 + len(partition.members) + len(partition.resolutions)
        needed = {(m.set_pk, m.set_sk) for p in self._read.values() for m in p.members}
        self.statuses.prefetch(needed)

    def of_family(self, our: str, partner: str, subscriber_id: str) -> FamilyLedger:
        key = (our, partner, subscriber_id)
        ledger = self._kept.get(key)
        if ledger is None:
            partition = self._read.pop(key, None)
            ledger = family_ledger(self.store, self.statuses, *key, self.as_of, self.sla_hours,
                                   partition=partition)  # fmt: skip
            self.reads += ledger.reads if partition is None else 0
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


def set_view(item: StoredSet) -> SetView:
    return SetView(
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
        closers=frozenset(key for e in mine for key in e.closing_sets(ref)),
    )


def awaiting_view(member: StoredMember, item: StoredSet, ledgers: Ledgers) -> AwaitingView:
    """An addition accepted by a 999 and not effectuated, with who it is about."""
    return AwaitingView(
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
        person=person_of(member, ledgers),
    )


def person_of(member: StoredMember, ledgers: Ledgers) -> str:
    """Who an addition awaiting effectuation is about, as the ledger says (so a person with
    an open row too is counted once); its family is read only when the ids do not tell."""
    if not member.subscriber_id:
        return ""
    if member.member_id and member.subscriber_indicator != "Y":
        return f"M:{member.member_id}"
    mine = ledgers.of(member).of((member.pk, member.sk))
    return mine[0].identity if mine else ""


def still_duplicate(finding: Any, ledgers: Ledgers) -> bool:
    """Judged again with the acknowledgments known now (the finding was stored at ingest)."""
    if not finding.subscriber_id:
        return True
    ledger = ledgers.of_family(finding.our_id, finding.partner, finding.subscriber_id)
    ref = (finding.target_pk, finding.target_sk)
    return any(ref in e.duplicates for e in ledger.of(ref))


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
