"""The report's parts that are not rows of open sets (one task of its workflow, beside the
map over the open sets): each insurer's figures from its counters and its first-pass rate
(within the read budget), and the window's lists: acknowledgments that match nothing,
quarantined files, notices, data-quality findings, reconciliation, operators' resolutions,
files of another usage. Each list is read from the sparse index for the report's window
only (a key condition on its time); what is older is in the archive of its day, and expires
(unmatched acknowledgments, quarantined files and notices: with the raw files). The email
shows the first EmailDetailRows of each list; the archived JSON holds them all."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from acktrack.domain.ports import ReportSource
from acktrack.report import backlog
from acktrack.report.ledgers import Ledgers, still_duplicate
from acktrack.report.model import (
    NoticeView,
    PartnerTotals,
    QualityView,
    QuarantinedView,
    UnmatchedView,
)
from acktrack.report.never_sent import NeverSent, collect_never_sent
from acktrack.report.people import FirstAttempts, first_attempts, first_pass_budget
from acktrack.report.plan import ReportRun
from acktrack.report.reconciliation import collect_reconciliation
from acktrack.report.resolutions import Resolutions, ResolutionView, collect_resolutions
from acktrack.report.rhythm import Rhythm, collect_rhythm
from acktrack.report.usage import collect_other_usage

# Duplicate findings judged again with today's answers (a family read each, about two
# requests); past these the findings are counted as ingest found them (``not_judged``).
DUPLICATES_JUDGED = 2_000


@dataclass(slots=True)
class Sections:
    partners: list[PartnerTotals] = field(default_factory=list)
    unmatched: list[UnmatchedView] = field(default_factory=list)
    quarantined: list[QuarantinedView] = field(default_factory=list)
    notices: list[NoticeView] = field(default_factory=list)
    quality: list[QualityView] = field(default_factory=list)  # the first backlog.LISTED
    quality_by_kind: dict[str, int] = field(default_factory=dict)  # every finding, by kind
    judged: int = 0  # duplicate findings judged again (at most DUPLICATES_JUDGED)
    not_judged: int = 0  # duplicate findings past those, counted as found
    reconciliation: dict[str, Any] = field(default_factory=dict)
    resolutions: Resolutions = field(default_factory=lambda: Resolutions([], 0, 0))
    other_usage: tuple[list[dict[str, Any]], int, int] = ([], 0, 0)
    never_sent: NeverSent = field(default_factory=NeverSent)
    rhythm: Rhythm = field(default_factory=Rhythm)
    reads: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "partners": [asdict(p) for p in self.partners],
            "unmatched": [asdict(u) for u in self.unmatched],
            "quarantined": [asdict(q) for q in self.quarantined],
            "notices": [{**asdict(n), "keys": list(n.keys)} for n in self.notices],
            "quality": [asdict(q) for q in self.quality],
            "quality_by_kind": self.quality_by_kind,
            "judged": self.judged,
            "not_judged": self.not_judged,
            "reconciliation": self.reconciliation,
            "resolutions": {"listed": [asdict(r) for r in self.resolutions.listed],
                            "total": self.resolutions.total, "reads": self.resolutions.reads},
            "other_usage": list(self.other_usage),
            "never_sent": self.never_sent.to_dict(),
            "rhythm": self.rhythm.to_dict(),
            "reads": self.reads,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sections:
        resolutions = data["resolutions"]
        lines, files, reads = data["other_usage"]
        return cls(
            partners=[PartnerTotals(**p) for p in data["partners"]],
            unmatched=[UnmatchedView(**u) for u in data["unmatched"]],
            quarantined=[QuarantinedView(**q) for q in data["quarantined"]],
            notices=[NoticeView(n["kind"], n["detail"], tuple(n["keys"])) for n in data["notices"]],
            quality=[QualityView(**q) for q in data["quality"]],
            judged=int(data.get("judged", 0)),
            not_judged=int(data.get("not_judged", 0)),
            quality_by_kind=data.get("quality_by_kind") or {},  # none: build_report counts the list
            reconciliation=data["reconciliation"],
            resolutions=Resolutions(
                [ResolutionView(**r) for r in resolutions["listed"]],
                resolutions["total"],
                resolutions["reads"],
            ),
            other_usage=(lines, files, reads),
            never_sent=NeverSent.from_dict(data.get("never_sent")),
            rhythm=Rhythm.from_dict(data.get("rhythm")),
            reads=data["reads"],
        )


def collect_sections(store: ReportSource, run: ReportRun) -> Sections:
    as_of = run.as_of
    window_start = (as_of - timedelta(days=run.window_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ledgers = Ledgers(store, as_of, run.sla_hours)
    found = Sections()
    found.partners = _partners(store, run, ledgers, found, window_start)
    for ack in store.unmatched_acks(window_start):
        found.reads += 1
        found.unmatched.append(
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
    for stored in store.quarantined(window_start):
        found.reads += 1
        bad = QuarantinedView(stored.key, stored.reason, stored.received_at, stored.quarantine_key)
        known = latest.get((bad.key, bad.reason))
        if known is None or bad.received_at > known.received_at:
            latest[(bad.key, bad.reason)] = bad  # the same bad file uploaded again: listed once
    found.quarantined = list(latest.values())
    for notice in store.notices(window_start):
        found.reads += 1
        found.notices.append(
            NoticeView(notice.kind, notice.detail, tuple(sorted(notice.keys or ())))
        )
    for finding in store.quality_findings(window_start):
        found.reads += 1
        if finding.kind == "duplicate_enrollment":
            if found.judged >= DUPLICATES_JUDGED:
                found.not_judged += 1  # counted as ingest found it: the reads stay bounded
            else:
                found.judged += 1
                if not still_duplicate(finding, ledgers):
                    continue  # judged again with the answers known now: the one judgment
        found.quality_by_kind[finding.kind] = found.quality_by_kind.get(finding.kind, 0) + 1
        if len(found.quality) >= backlog.LISTED:
            continue  # counted, not listed: the report holds no more, whatever the window
        found.quality.append(
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
    found.reconciliation, read = collect_reconciliation(store, window_start)
    found.resolutions = collect_resolutions(store, window_start, as_of)
    found.other_usage = collect_other_usage(store, window_start)
    found.never_sent = collect_never_sent(store, as_of)
    found.rhythm = collect_rhythm(store, as_of, run.sequence_history)
    found.reads += ledgers.reads + read
    return found


def _partners(store: ReportSource, run: ReportRun, ledgers: Ledgers, found: Sections,
              window_start: str) -> list[PartnerTotals]:  # fmt: skip
    first_day = (run.as_of - timedelta(days=run.window_days)).date().isoformat()
    last_day = run.as_of.date().isoformat()
    partners = []
    insurers = store.partners()
    left = run.first_pass_people
    for number, partner in enumerate(insurers):
        budget = first_pass_budget(len(insurers) - number, left)
        found.reads += 1
        counters = store.counters(partner.our_id, partner.partner, since_day=first_day)
        found.reads += len(counters)
        total = counters.get("ALL")
        window = [c for sk, c in counters.items() if sk.startswith("D#") and sk[2:] <= last_day]
        first = (
            _first_attempts(store, ledgers, partner.our_id, partner.partner, window_start, budget)
            if budget
            else FirstAttempts()  # off (FirstPassPeople 0): the report reads the backlog only
        )
        found.reads += first.people + first.sets
        left = max(0, left - first.people - first.sets)
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
    return partners


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
        set_cost=1,
    )
