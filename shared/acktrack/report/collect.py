"""Gather what the report needs from the store: the sparse index, counters, nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from acktrack.report.model import (
    AwaitingView,
    MemberView,
    NoticeView,
    PartnerTotals,
    QualityView,
    QuarantinedView,
    Report,
    SetView,
    UnmatchedView,
    build_report,
    needs_members,
)

if TYPE_CHECKING:
    from acktrack.store.repository import Repository


def collect_report(
    store: Repository,
    as_of: datetime,
    sla_hours: float,
    window_days: int = 7,
    effectuation_days: int = 0,
) -> Report:
    """The report as of ``as_of``; ``Report.reads`` counts the items it read."""
    as_of = as_of.astimezone(UTC)
    reads = 0
    open_sets: list[SetView] = []
    for item in store.open_sets():
        reads += 1
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
        if needs_members(view, as_of, sla_hours):
            rows = []
            for member in store.members_of_set(item):
                reads += 1
                rows.append(
                    MemberView(
                        ordinal=int(member.ordinal),
                        first_position=int(member.first_position),
                        subscriber_id=member.subscriber_id,
                        member_id=member.member_id,
                        carrier_member_id=member.carrier_member_id,
                        maintenance_type=member.maintenance_type,
                        subscriber_indicator=member.subscriber_indicator,
                        findings=len(member.findings or []),
                        effectuated=member.effectuated_by is not None,
                    )
                )
            view.member_rows = sorted(rows, key=lambda row: row.ordinal)
        open_sets.append(view)
    first_day = (as_of - timedelta(days=window_days)).date().isoformat()
    last_day = as_of.date().isoformat()
    partners = []
    for partner in store.partners():
        reads += 1
        counters = store.counters(partner.our_id, partner.partner, since_day=first_day)
        reads += len(counters)
        total = counters.get("ALL")
        window = [c for sk, c in counters.items() if sk.startswith("D#") and sk[2:] <= last_day]
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
            )
        )
    unmatched = []
    for ack in store.unmatched_acks():
        reads += 1
        unmatched.append(
            UnmatchedView(
                ack.kind,
                ack.partner,
                ack.target_control,
                ack.status,
                ack.state,
                ack.reason,
                ack.source_key,
                ack.received_at,
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
    window_start = (as_of - timedelta(days=window_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    quality = []
    for finding in store.quality_findings(window_start):
        reads += 1
        quality.append(
            QualityView(
                finding.kind,
                finding.detail,
                finding.partner,
                finding.subscriber_id,
                finding.member_id,
                finding.maintenance_type,
                finding.interchange_control,
                finding.group_control,
                finding.transaction_control,
                int(finding.ordinal),
                finding.sent_at,
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
            if item is None or item.status not in ("accepted", "accepted_with_errors"):
                continue  # rejected or pending sets are reported as such
            awaiting.append(
                AwaitingView(
                    item.partner,
                    item.payer_name,
                    member.subscriber_id,
                    member.member_id,
                    member.maintenance_type,
                    item.interchange_control,
                    item.group_control,
                    item.transaction_control,
                    int(member.ordinal),
                    datetime.fromisoformat(member.sent_at.replace("Z", "+00:00")),
                    item.status_at,
                )
            )
    return build_report(
        as_of,
        sla_hours,
        window_days,
        partners,
        open_sets,
        unmatched,
        quarantined,
        notices,
        reads,
        quality=quality,
        awaiting=awaiting,
        effectuation_days=effectuation_days,
        effectuated=sum(p.effectuated for p in partners),
    )
