"""Enrollment actions the exchange's system took that no 834 sent to the insurer by their
due time (``domain.expected``): listed after the people not confirmed, with counts per
insurer. Read from the sparse index (EXPECT#<shard>, by due time): only what is still open
and due, never a scan. The JSON lists the oldest ``LISTED`` (the count is whole); the email
shows the first EmailDetailRows."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from acktrack.domain.ports import ReportSource
from acktrack.report.model import Report
from acktrack.x12 import codes

LISTED = 50_000  # actions listed in the JSON (a day's extract that went nowhere is counted whole)
FIELDS = ("partner", "subscriber_id", "member_id", "maintenance_type", "action_id", "expected_by")


@dataclass(slots=True)
class NeverSent:
    listed: list[dict[str, Any]] = field(default_factory=list)
    by_partner: dict[str, int] = field(default_factory=dict)
    reads: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_partner.values())

    def to_dict(self) -> dict[str, Any]:
        return {"listed": self.listed, "by_partner": self.by_partner, "reads": self.reads}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> NeverSent:
        if not data:
            return cls()
        return cls(list(data["listed"]), dict(data["by_partner"]), int(data["reads"]))


def collect_never_sent(store: ReportSource, as_of: datetime) -> NeverSent:
    """Every action due before ``as_of`` that nothing sent: counted per insurer, the oldest
    ``LISTED`` kept (memory stays bounded however many there are)."""
    found = NeverSent()
    counts: Counter[str] = Counter()

    def rows() -> Iterator[dict[str, Any]]:
        for item in store.never_sent(as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")):
            found.reads += 1
            counts[item.partner] += 1
            yield {name: getattr(item, name) for name in FIELDS}

    found.listed = heapq.nsmallest(
        LISTED, rows(), key=lambda r: (r["expected_by"], r["partner"], r["action_id"])
    )
    found.by_partner = dict(sorted(counts.items()))
    return found


def add_never_sent(report: Report, found: NeverSent) -> None:
    report.summary["never_sent"] = found.total
    report.extras["never_sent"] = found.listed
    report.extras["never_sent_by_partner"] = [
        {"partner": partner, "never_sent": count} for partner, count in found.by_partner.items()
    ]
    if found.total:
        report.summary["all_confirmed"] = False
    report.reads += found.reads


def meaning(action: Mapping[str, Any]) -> str:
    return codes.MAINTENANCE_TYPE.get(str(action["maintenance_type"]), "unknown code")


def never_sent_text(report: Mapping[str, Any], limit: int) -> list[str]:
    """The text part's section (nothing when every expected action was sent)."""
    total = int(report.get("summary", {}).get("never_sent", 0))
    if not total:
        return []
    by_partner = ", ".join(f"{line['partner']} {line['never_sent']}"
                           for line in report.get("never_sent_by_partner", []))  # fmt: skip
    lines = ["", f"Never sent: enrollment actions with no 834 to the insurer by their due time "
                 f"({total}; {by_partner}):"]  # fmt: skip
    listed = report.get("never_sent", [])
    for action in listed[:limit]:
        lines.append(
            f"  {action['partner']} subscriber {action['subscriber_id']} member "
            f"{action['member_id'] or '-'} INS03 {action['maintenance_type']} ({meaning(action)}) "
            f"action {action['action_id']} due {action['expected_by'][:16]}"
        )
    if total > min(limit, len(listed)):
        lines.append(f"  ... and {total - min(limit, len(listed))} more (all rows: --json)")
    return lines


def csv_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The listed actions as rows of the detail CSV, after the people not confirmed."""
    return [
        {"partner": a["partner"], "status": "never_sent", "subscriber_id": a["subscriber_id"],
         "member_id": a["member_id"], "maintenance_type": a["maintenance_type"],
         "maintenance_meaning": meaning(a),
         "reason": f"no 834 to the insurer by {a['expected_by']} (action {a['action_id']})"}
        for a in report.get("never_sent", [])
    ]  # fmt: skip
