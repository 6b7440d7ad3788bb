"""What is not confirmed, gathered set by set (pure): the detail rows of a set's members, and
the set's tally (closed, settled, the table cell, the rejection it lists).

A set's rows and its tally are made where its members are read (one batch of the report's
workflow, or the whole report in one process); tallies are added up in the report's set
order wherever the batches meet (``Backlog.account``), a set read in several chunks summed
first (``SetTally.plus``). So a report built from batches equals one built in one go.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from acktrack.domain.ledger import AttemptState
from acktrack.domain.status import REJECTING_EVENTS, REJECTIONS, Status, named_rejection
from acktrack.report.model import (
    CLOSED_STATES,
    AwaitingView,
    MemberView,
    OpenEnrollment,
    QualityView,
    Row,
    SetView,
    age_bucket,
    hours_between,
)
from acktrack.report.reasons import describe_ack, member_reason
from acktrack.report.spool import RowSpool
from acktrack.x12 import codes

REJECTED, OVERDUE, WITHIN = "rejected", "overdue", "within"
WAITING = frozenset({AttemptState.PENDING, AttemptState.OVERDUE})  # no answer yet


@dataclass(slots=True)
class SetTally:
    """One open set as the report counts it (or one chunk of its members)."""

    key: str  # the set's id: the chunks of one set share it
    partner: str
    kind: str  # rejected | overdue | within (the SLA)
    members: int
    bucket: str  # its age bucket
    closed: int = 0  # members closed without their own confirmation
    settled: int = 0  # members effectuated or closed (an overdue set's)
    resolved: dict[str, int] = field(default_factory=dict)  # closed members by state
    rejection: dict[str, Any] | None = None  # the decoded rejection, for a rejected set
    not_named: int = 0  # members an error report's rows did not reject (its 999 confirmed)
    # Members no row rejected, of a set whose 999 has not come: pending, not rejected.
    awaiting: int = 0
    awaiting_overdue: bool = False

    def plus(self, other: SetTally) -> SetTally:
        resolved = dict(self.resolved)
        for state, count in other.resolved.items():
            resolved[state] = resolved.get(state, 0) + count
        return replace(self, closed=self.closed + other.closed,
                       settled=self.settled + other.settled, resolved=resolved,
                       rejection=self.rejection or other.rejection,
                       not_named=self.not_named + other.not_named,
                       awaiting=self.awaiting + other.awaiting,
                       awaiting_overdue=self.awaiting_overdue or other.awaiting_overdue)  # fmt: skip

    @property
    def open(self) -> bool:
        """Something of it is still open (False: every member closed or effectuated)."""
        if self.kind == WITHIN:
            return True
        return (self.closed if self.kind == REJECTED else self.settled) < self.members

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "partner": self.partner, "kind": self.kind,
                "members": self.members, "bucket": self.bucket, "closed": self.closed,
                "settled": self.settled, "resolved": self.resolved, "rejection": self.rejection,
                "not_named": self.not_named, "awaiting": self.awaiting,
                "awaiting_overdue": self.awaiting_overdue}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SetTally:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{name: value for name, value in data.items() if name in known})


# The report's long lists (rejected sets, data-quality findings) keep this many, in report
# order; the rest are counted (``rejections_total``, ``both_open_total``). Every member they
# are about is a row of the archive whatever they hold.
LISTED = 10_000


class Backlog:
    """Counts and table cells in memory, detail rows to a spool (``report.spool``), so memory
    does not grow with the backlog."""

    def __init__(self, as_of: datetime, sla_hours: float, spool: RowSpool | None = None) -> None:
        self.as_of, self.sla_hours = as_of.astimezone(UTC), sla_hours
        self.rows = spool if spool is not None else RowSpool()
        self.pending_overdue = self.pending_within = 0
        self.table: dict[tuple[str, str, str], dict[str, int]] = defaultdict(
            lambda: {"members": 0, "sets": 0}
        )
        self.per_partner_open: dict[str, dict[str, int]] = defaultdict(
            lambda: {"overdue": 0, "within_sla": 0}
        )
        self.rejections: list[dict[str, Any]] = []  # the first LISTED
        self.rejections_total = 0
        self.resolved = dict.fromkeys(CLOSED_STATES, 0)
        self.both_open: list[Row] = []  # an addition and a cancellation of one enrollment, open
        self.both_open_total = 0  # the first LISTED are kept
        self.not_effectuated = 0
        self.late_by_partner: dict[str, int] = defaultdict(int)

    def add_set(self, item: SetView, members: list[MemberView]) -> SetTally:
        """One open set (in report order) and, when it is rejected or overdue, its members."""
        tally = self.add_rows(item, members)
        self.account(tally)
        return tally

    def add_rows(self, item: SetView, members: list[MemberView]) -> SetTally:
        """The rows of a set's members (all, or one chunk of them) and its tally; nothing is
        counted until the tally is accounted (``account``)."""
        age = hours_between(item.sent_at, self.as_of)
        kind = (REJECTED if item.status in REJECTIONS
                else OVERDUE if age > self.sla_hours else WITHIN)  # fmt: skip
        tally = SetTally(item.set_id, item.partner, kind, item.members, age_bucket(age))
        late = item.status == Status.REJECTED_AFTER_ACCEPT
        # Rejected by an error report's rows alone, each pinned to its member transaction:
        # the members no row names are as their 999 left them (rows kept before the pin
        # are counted whole, as the counters count them).
        named = named_rejection(Status.REJECTED_AFTER_ACCEPT, item.acks) if late else None
        by_rows = named is not None and named.exact
        for member in members:
            if member.closed:
                tally.resolved[member.state] = tally.resolved.get(member.state, 0) + 1
                tally.closed += 1
            elif late and member.state == AttemptState.CONFIRMED:
                tally.closed += 1  # not named by the rejection after the 999, or effectuated
                tally.not_named += 1
            elif by_rows and member.state in WAITING:
                tally.awaiting += 1  # not named, and its 999 has not come: pending
                tally.awaiting_overdue = age > self.sla_hours
            if member.effectuated or member.closed:
                tally.settled += 1
        if kind == REJECTED:
            tally.rejection = _rejection(item)
        if kind == WITHIN:
            return tally
        status = (item.status if item.status == Status.REJECTED_AFTER_ACCEPT  # an 824's
                  else REJECTED if kind == REJECTED else OVERDUE)  # fmt: skip
        for member in members:
            own = status
            if by_rows and member.state in WAITING:  # not named: pending, as any set without a 999
                if age <= self.sla_hours:
                    continue
                own = OVERDUE
            for enrollment in member.open_enrollments:
                waited = hours_between(enrollment.first_sent_at, self.as_of)
                row = _row(item, member.subscriber_id, member.member_id or member.carrier_member_id,
                           member.maintenance_type, member.ordinal, own,
                           _reason(item, member, own, age, self.sla_hours, enrollment),
                           item.sent_at, waited)  # fmt: skip
                row.insurance_line = enrollment.insurance_line
                row.attempts = enrollment.attempts
                row.first_sent_at = _iso(enrollment.first_sent_at)
                self.rows.add(row, (row.partner, row.subscriber_id or "", member.person))
                if {"021", "024"} <= enrollment.waiting_types:
                    self.add_both_open([row], 1)
        return tally

    def account(self, tally: SetTally) -> None:
        """Count one set (all its chunks' tallies summed), in the report's set order."""
        for state, count in tally.resolved.items():
            closed_as = AttemptState(state)
            self.resolved[closed_as] = self.resolved.get(closed_as, 0) + count
        if tally.kind == WITHIN:
            self.pending_within += tally.members
            self.per_partner_open[tally.partner]["within_sla"] += tally.members
            cell = self.table[(tally.partner, "pending within SLA", tally.bucket)]
            cell["members"] += tally.members
            cell["sets"] += 1
            return
        if tally.kind == REJECTED:
            rejects = tally.members - tally.not_named - tally.awaiting
            if tally.closed + tally.awaiting < tally.members and tally.rejection is not None:
                # The members it rejects: an error report's rows may name some only.
                self.rejections_total += 1
                if len(self.rejections) < LISTED:
                    self.rejections.append({**tally.rejection, "members": rejects})
            if tally.awaiting:
                self._awaiting(tally)
        else:
            # An effectuation confirms coverage even when the 999 never came.
            waiting = tally.members - tally.settled
            self.pending_overdue += waiting
            self.per_partner_open[tally.partner]["overdue"] += waiting
        counted = tally.members - tally.closed - (tally.awaiting if tally.kind == REJECTED else 0)
        if counted > 0:
            cell = self.table[(tally.partner, REJECTED if tally.kind == REJECTED
                               else "pending overdue", tally.bucket)]  # fmt: skip
            cell["members"] += counted
            cell["sets"] += 1

    def _awaiting(self, tally: SetTally) -> None:
        """Members of a set rejected by an error report's rows that no row names, while its
        999 has not come: pending like any member without an answer."""
        if tally.awaiting_overdue:
            self.pending_overdue += tally.awaiting
            self.per_partner_open[tally.partner]["overdue"] += tally.awaiting
            cell = self.table[(tally.partner, "pending overdue", tally.bucket)]
        else:
            self.pending_within += tally.awaiting
            self.per_partner_open[tally.partner]["within_sla"] += tally.awaiting
            cell = self.table[(tally.partner, "pending within SLA", tally.bucket)]
        cell["members"] += tally.awaiting
        cell["sets"] += 1

    def add_awaiting(self, late: AwaitingView, effectuation_days: int) -> None:
        """An accepted addition the insurer has not effectuated (in report order)."""
        age = hours_between(late.sent_at, self.as_of)
        self.not_effectuated += 1
        self.late_by_partner[late.partner] += 1
        accepted = f" on {late.accepted_at[:10]}" if late.accepted_at else ""
        reason = (
            f"accepted by a 999{accepted}; no effectuation from the insurer after {age / 24:.0f} days "
            f"(effectuation SLA {effectuation_days} days)"
        )
        row = _row(late, late.subscriber_id, late.member_id, late.maintenance_type,
                   late.member_ordinal, "not_effectuated", reason, late.sent_at, age)  # fmt: skip
        row.first_sent_at = row.sent_at
        person = late.person or (
            f"T:{late.interchange_control}#{late.transaction_control}#{late.member_ordinal}"
        )
        self.rows.add(row, (row.partner, row.subscriber_id or "", person))
        cell = self.table[(late.partner, "not effectuated", age_bucket(age))]
        cell["members"] += 1

    def add_both_open(self, rows: list[Row], count: int) -> None:
        """``count`` enrollments with an addition and a cancellation both open (``rows``:
        the first of them)."""
        self.both_open += rows[: max(0, LISTED - len(self.both_open))]
        self.both_open_total += count

    def quality(self) -> list[QualityView]:
        """An addition and a cancellation of one enrollment, both unconfirmed (a check on state
        now, so it is made when the report is built): one finding on the latest attempt."""
        return [
            QualityView(
                kind="add_and_cancel_unconfirmed",
                detail="an addition and a cancellation are both unconfirmed",
                partner=row.partner,
                subscriber_id=row.subscriber_id or "",
                member_id=row.member_id,
                maintenance_type=row.maintenance_type,
                interchange_control=row.interchange_control,
                group_control=row.group_control,
                transaction_control=row.transaction_control,
                member_ordinal=row.member_ordinal,
                sent_at=row.sent_at,
            )
            for row in self.both_open
        ]


def _row(
    where: SetView | AwaitingView, subscriber_id: str | None, member_id: str | None,
    maintenance_type: str, ordinal: int, status: str, reason: str, sent_at: datetime, age: float,
) -> Row:  # fmt: skip
    return Row(
        partner=where.partner,
        payer_name=where.payer_name,
        subscriber_id=subscriber_id,
        member_id=member_id,
        maintenance_type=maintenance_type,
        maintenance_meaning=codes.MAINTENANCE_TYPE.get(maintenance_type, "unknown code"),
        interchange_control=where.interchange_control,
        group_control=where.group_control,
        transaction_control=where.transaction_control,
        member_ordinal=ordinal,
        status=status,
        reason=reason,
        sent_at=sent_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        age_hours=age,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reason(item: SetView, member: MemberView, status: str, age: float, sla_hours: float,
            enrollment: OpenEnrollment) -> str:  # fmt: skip
    history = (
        f"; attempt {enrollment.attempts}, resending {enrollment.resend_of}, first sent "
        f"{_iso(enrollment.first_sent_at)[:10]}"
        if enrollment.attempts > 1 and enrollment.resend_of
        else f"; attempt {enrollment.attempts}, first sent {_iso(enrollment.first_sent_at)[:10]}"
        if enrollment.attempts > 1
        else ""
    )
    if status in REJECTIONS:
        return member_reason(item.acks, member.ordinal, status) + history
    known = member_reason(item.acks, member.ordinal, "pending")
    warning = (
        " (acktrack predicted a rejection: see the file's findings)"
        if item.predicted_rejection
        else ""
    )
    return f"{known} after {age:.0f} h (SLA {sla_hours:.0f} h){warning}{history}"


def _rejection(item: SetView) -> dict[str, Any]:
    verdicts = [
        {"ack": describe_ack(ack), "errors": ack.get("errors", [])}
        for ack in item.acks.values()
        if ack.get("event") in REJECTING_EVENTS and not ack.get("revoked")
    ]
    return {
        "partner": item.partner,
        "payer_name": item.payer_name,
        "interchange_control": item.interchange_control,
        "group_control": item.group_control,
        "transaction_control": item.transaction_control,
        "members": item.members,
        "verdicts": verdicts,
    }
