"""The unconfirmed-enrollment report, built from what the store holds (pure).

Totals come from counters that move with every status change; the detail comes from
the sparse index of sets that are not confirmed. Silence is never "no problems": a
report always says how many were sent and how many are confirmed.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, cast

from acktrack.domain.acks import Entries
from acktrack.domain.ledger import AttemptState
from acktrack.domain.status import REJECTIONS
from acktrack.report.document import PartnerLine, ReportDocument, Summary
from acktrack.report.spool import MergedRows, RowSpool

if TYPE_CHECKING:
    from acktrack.report.backlog import Backlog

AGE_BUCKETS = (("< 2 days", 0, 48), ("2-3 days", 48, 96), ("4-7 days", 96, 192), ("8-30 days", 192, 744),
               ("30+ days", 744, float("inf")))  # fmt: skip


# Closed without their own confirmation (counted in the summary).
CLOSED_STATES = (
    AttemptState.RESOLVED_BY_RESEND,
    AttemptState.RESOLVED_BY_OPERATOR,
    AttemptState.CONFIRMED_BY_RECONCILIATION,
    AttemptState.DUPLICATE,
)


@dataclass(frozen=True, slots=True)
class OpenEnrollment:
    """A person's enrollment left open, of which this member transaction is the latest attempt."""

    insurance_line: str
    attempts: int  # unconfirmed attempts since the last confirmed one
    first_sent_at: datetime  # the person has waited since then
    resend_of: str | None = None  # the attempt it replaced (ISA13 and ST02)
    waiting_types: frozenset[str] = frozenset()  # INS03 of the enrollment's open attempts


@dataclass(frozen=True, slots=True)
class MemberView:
    ordinal: int
    first_position: int
    subscriber_id: str | None
    member_id: str | None
    carrier_member_id: str | None
    maintenance_type: str
    subscriber_indicator: str
    findings: int = 0
    effectuated: bool = False  # the insurer confirmed coverage, whatever the 999 says
    state: AttemptState = AttemptState.PENDING  # what the ledger says became of it
    open_enrollments: tuple[OpenEnrollment, ...] = ()  # rows it heads in the report
    person: str = ""  # the member identity within the subscriber (who to count once)
    closers: frozenset[tuple[str, str]] = frozenset()  # sets whose confirmation closed it

    @property
    def closed(self) -> bool:
        return self.state in CLOSED_STATES


@dataclass(slots=True)
class SetView:
    set_id: str
    partner: str
    payer_name: str
    interchange_control: str
    group_control: str
    transaction_control: str
    status: str
    sent_at: datetime
    members: int
    acks: Entries  # the set's acknowledgment entries
    predicted_rejection: bool = False


@dataclass(frozen=True, slots=True)
class PartnerTotals:
    partner: str
    payer_name: str
    members_sent: int
    members_accepted: int
    members_accepted_with_errors: int
    members_rejected: int
    window_sent: int = 0
    window_accepted: int = 0
    window_rejected: int = 0
    effectuated: int = 0
    first_attempts_answered: int = 0  # people's first attempts in the window with a verdict
    first_attempts_accepted: int = 0
    first_attempts_capped: bool = False  # counted over the first-pass budget's families only


@dataclass(frozen=True, slots=True)
class UnmatchedView:
    kind: str
    partner: str
    target_control: str
    status: str
    state: str
    reason: str
    key: str
    received_at: str


@dataclass(frozen=True, slots=True)
class QuarantinedView:
    key: str
    reason: str
    received_at: str
    quarantine_key: str | None


@dataclass(frozen=True, slots=True)
class NoticeView:
    kind: str
    detail: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QualityView:
    kind: str
    detail: str
    partner: str
    subscriber_id: str
    member_id: str | None
    maintenance_type: str
    interchange_control: str
    group_control: str
    transaction_control: str
    member_ordinal: int
    sent_at: str


@dataclass(frozen=True, slots=True)
class AwaitingView:
    """An addition accepted by a 999 and not yet effectuated by the insurer."""

    partner: str
    payer_name: str
    subscriber_id: str | None
    member_id: str | None
    maintenance_type: str
    interchange_control: str
    group_control: str
    transaction_control: str
    member_ordinal: int
    sent_at: datetime
    accepted_at: str | None
    person: str = ""  # who, within the subscriber (counted once with the person's other rows)


@dataclass(slots=True)
class Row:
    """One unconfirmed member transaction: what operations needs to act, no PHI."""

    partner: str
    payer_name: str
    subscriber_id: str | None
    member_id: str | None
    maintenance_type: str
    maintenance_meaning: str
    interchange_control: str
    group_control: str
    transaction_control: str
    member_ordinal: int
    status: str  # rejected | overdue | not_effectuated
    reason: str
    sent_at: str
    age_hours: float  # from the first attempt: how long the person has waited
    insurance_line: str = ""
    attempts: int = 1
    first_sent_at: str = ""

    @property
    def age_bucket(self) -> str:
        return age_bucket(self.age_hours)


@dataclass(slots=True)
class Report:
    as_of: datetime
    sla_hours: float
    window_days: int
    summary: Summary
    by_partner: list[PartnerLine]
    table: list[dict[str, Any]]  # partner x status x age bucket
    rejections: list[dict[str, Any]]  # per rejected set, decoded (backlog.LISTED)
    unconfirmed: RowSpool | MergedRows  # one row per open enrollment (plain dicts), on disk
    unmatched_acks: list[UnmatchedView]
    quarantined: list[QuarantinedView]
    notices: list[NoticeView]
    data_quality: list[QualityView] = field(default_factory=list)
    reads: int = 0  # items read to build it (for cost checks)
    extras: dict[str, Any] = field(default_factory=dict)
    rejections_total: int = 0  # rejected sets, listed or not
    data_quality_by_kind: dict[str, int] = field(default_factory=dict)  # listed or not

    def to_json(self, *, rows: bool = True) -> ReportDocument:
        """The whole report; ``rows=False``: the most urgent rows only, with their total."""
        detail = list(self.unconfirmed) if rows else self.unconfirmed.urgent()
        document = {
            "as_of": self.as_of.astimezone(UTC).isoformat(),
            "sla_hours": self.sla_hours,
            "window_days": self.window_days,
            "summary": self.summary,
            "by_partner": self.by_partner,
            "table": self.table,
            "rejections": self.rejections,
            **(
                {"rejections_total": self.rejections_total}
                if self.rejections_total > len(self.rejections)
                else {}
            ),
            "unconfirmed": detail,
            **({} if rows else {"unconfirmed_total": len(self.unconfirmed)}),
            "unmatched_acks": [asdict(item) for item in self.unmatched_acks],
            "quarantined": [
                {
                    "key": q.key,
                    "reason": q.reason,
                    "received_at": q.received_at,
                    "quarantine_key": q.quarantine_key,
                }
                for q in self.quarantined
            ],
            "notices": [
                {"kind": n.kind, "detail": n.detail, "keys": list(n.keys)} for n in self.notices
            ],
            "data_quality": [asdict(item) for item in self.data_quality],
            **(
                {"data_quality_by_kind": dict(sorted(self.data_quality_by_kind.items()))}
                if sum(self.data_quality_by_kind.values()) > len(self.data_quality)
                else {}
            ),
            **self.extras,
        }
        return cast(
            ReportDocument, document
        )  # the lines are the views' fields, as asdict makes them


def write_json(report: Report, out: IO[bytes]) -> None:
    """The whole report as JSON, its rows streamed from the spool (memory stays flat)."""
    document = report.to_json(rows=False)
    document.pop("unconfirmed_total")
    head, tail = json.dumps({**document, "unconfirmed": _ROWS}, indent=1).split(json.dumps(_ROWS))
    out.write(head.encode() + b"[")
    for number, row in enumerate(report.unconfirmed):
        out.write((b",\n  " if number else b"\n  ") + json.dumps(row).encode())
    out.write(b"\n ]" + tail.encode())


_ROWS = "\u0000rows\u0000"


def age_bucket(hours: float) -> str:
    for name, low, high in AGE_BUCKETS:
        if low <= hours < high:
            return name
    return AGE_BUCKETS[0][0]


def hours_between(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 3600, 1)


def needs_members(item: SetView, as_of: datetime, sla_hours: float) -> bool:
    """Rejected and overdue sets are listed member by member; the rest only counted."""
    return item.status in REJECTIONS or hours_between(item.sent_at, as_of) > sla_hours


def set_order(item: SetView) -> tuple[str, datetime, str, str]:
    return (item.partner, item.sent_at, item.interchange_control, item.transaction_control)


def awaiting_order(late: AwaitingView) -> tuple[str, datetime, str, int]:
    return (late.partner, late.sent_at, late.transaction_control, late.member_ordinal)


def build_report(
    as_of: datetime,
    sla_hours: float,
    window_days: int,
    partners: list[PartnerTotals],
    backlog: Backlog,
    unmatched: list[UnmatchedView],
    quarantined: list[QuarantinedView],
    notices: list[NoticeView],
    reads: int = 0,
    *,
    quality: list[QualityView] | None = None,
    quality_by_kind: dict[str, int] | None = None,
    effectuation_days: int = 0,
    effectuated: int = 0,
    rows: RowSpool | MergedRows | None = None,
) -> Report:
    as_of = as_of.astimezone(UTC)
    pending_overdue, pending_within = backlog.pending_overdue, backlog.pending_within
    per_partner_open, late_by_partner = backlog.per_partner_open, backlog.late_by_partner
    not_effectuated, resolved, table = backlog.not_effectuated, backlog.resolved, backlog.table
    rows = rows if rows is not None else backlog.rows
    quality_items = list(quality or []) + backlog.quality()
    # Every finding by kind (the lists keep the first LISTED of each source).
    by_kind = Counter(quality_by_kind or {})
    if sum(by_kind.values()) < len(quality or []):
        by_kind = Counter(item.kind for item in quality or [])  # no counts given: the list
    if backlog.both_open_total:
        by_kind["add_and_cancel_unconfirmed"] += backlog.both_open_total
    quality_total = sum(by_kind.values())
    by_partner = []
    totals = {"members_sent": 0, "accepted": 0, "accepted_with_errors": 0, "rejected": 0,
              "window_sent": 0, "window_accepted": 0, "window_rejected": 0,
              "first_answered": 0, "first_accepted": 0}  # fmt: skip
    for totals_of in sorted(partners, key=lambda p: p.partner):
        opened = per_partner_open.get(totals_of.partner, {"overdue": 0, "within_sla": 0})
        entry: PartnerLine = {
            "partner": totals_of.partner,
            "payer_name": totals_of.payer_name,
            "members_sent": totals_of.members_sent,
            "confirmed": totals_of.members_accepted + totals_of.members_accepted_with_errors,
            "accepted": totals_of.members_accepted,
            "accepted_with_errors": totals_of.members_accepted_with_errors,
            "rejected": totals_of.members_rejected,
            "pending_overdue": opened["overdue"],
            "pending_within_sla": opened["within_sla"],
            "error_rate": _rate(totals_of.members_rejected, totals_of.members_sent),
            "window_sent": totals_of.window_sent,
            "window_accepted": totals_of.window_accepted,
            "window_rejected": totals_of.window_rejected,
            "window_error_rate": _rate(totals_of.window_rejected, totals_of.window_sent),
            "effectuated": totals_of.effectuated,
            "not_effectuated": late_by_partner.get(totals_of.partner, 0),
            "first_attempts_answered": totals_of.first_attempts_answered,
            "first_pass_acceptance": _share(
                totals_of.first_attempts_accepted, totals_of.first_attempts_answered
            ),
            "first_pass_partial": totals_of.first_attempts_capped,
        }
        by_partner.append(entry)
        totals["members_sent"] += totals_of.members_sent
        totals["accepted"] += totals_of.members_accepted
        totals["accepted_with_errors"] += totals_of.members_accepted_with_errors
        totals["rejected"] += totals_of.members_rejected
        totals["window_sent"] += totals_of.window_sent
        totals["window_accepted"] += totals_of.window_accepted
        totals["window_rejected"] += totals_of.window_rejected
        totals["first_answered"] += totals_of.first_attempts_answered
        totals["first_accepted"] += totals_of.first_attempts_accepted
    # Every person confirmed: a rejection that a confirmed resend replaced no longer counts.
    all_confirmed = (
        totals["members_sent"] > 0
        and rows.people == 0
        and pending_within == 0
        and not unmatched
        and not quarantined
        and not not_effectuated
    )
    summary: Summary = {
        "members_sent": totals["members_sent"],
        "confirmed": totals["accepted"] + totals["accepted_with_errors"],
        "accepted": totals["accepted"],
        "accepted_with_errors": totals["accepted_with_errors"],
        "rejected": totals["rejected"],
        "pending_overdue": pending_overdue,
        "pending_within_sla": pending_within,
        "unconfirmed": totals["rejected"] + pending_overdue,
        "people_unconfirmed": rows.people,
        "resolved_by_resend": resolved[AttemptState.RESOLVED_BY_RESEND],
        "resolved_by_operator": resolved[AttemptState.RESOLVED_BY_OPERATOR],
        "confirmed_by_reconciliation": resolved[AttemptState.CONFIRMED_BY_RECONCILIATION],
        "closed_as_duplicate": resolved[AttemptState.DUPLICATE],
        "error_rate": _rate(totals["rejected"], totals["members_sent"]),
        "window_days": window_days,
        "window_sent": totals["window_sent"],
        "window_accepted": totals["window_accepted"],
        "window_rejected": totals["window_rejected"],
        "window_error_rate": _rate(totals["window_rejected"], totals["window_sent"]),
        "first_attempts_answered": totals["first_answered"],
        "first_pass_acceptance": _share(totals["first_accepted"], totals["first_answered"]),
        "not_effectuated": not_effectuated,
        "effectuated": effectuated,
        "effectuation_sla_days": effectuation_days,
        "data_quality_findings": quality_total,
        "unmatched_acks": len(unmatched),
        "quarantined": len(quarantined),
        "notices": len(notices),
        "partners": len(partners),
        "all_confirmed": all_confirmed,
    }
    table_rows = [
        {"partner": partner, "status": status, "age": bucket, **counts}
        for (partner, status, bucket), counts in sorted(
            table.items(), key=lambda kv: (kv[0][0], kv[0][1], _bucket_order(kv[0][2]))
        )
    ]
    return Report(
        as_of=as_of,
        sla_hours=sla_hours,
        window_days=window_days,
        summary=summary,
        by_partner=by_partner,
        table=table_rows,
        rejections=backlog.rejections,
        rejections_total=backlog.rejections_total,
        unconfirmed=rows,
        unmatched_acks=sorted(
            unmatched, key=lambda u: (u.received_at, u.partner, u.target_control)
        ),
        quarantined=sorted(quarantined, key=lambda q: (q.received_at, q.key)),
        notices=sorted(notices, key=lambda n: (n.kind, n.detail)),
        data_quality=sorted(
            quality_items,
            key=lambda q: (q.partner, q.sent_at, q.transaction_control, q.member_ordinal, q.kind),
        ),
        reads=reads,
        data_quality_by_kind=dict(by_kind),
    )


def _bucket_order(name: str) -> int:
    return [bucket[0] for bucket in AGE_BUCKETS].index(name)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _share(part: int, whole: int) -> float | None:
    """A rate that has no value (None) until something was counted."""
    return round(part / whole, 4) if whole else None
