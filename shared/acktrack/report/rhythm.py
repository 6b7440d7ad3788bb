"""Gaps in control numbers and insurers that went quiet (``domain.sequences``), for the
report: per insurer, three queries (our ISA13s and GS06s to it, its ISA13s to us), read by
the sections task; whether a quiet insurer is **silent** also needs the backlog (834s to
it still awaiting an answer), so it is decided where the report is merged."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from acktrack.domain.ports import ReportSource
from acktrack.domain.sequences import GROUP, INBOUND, INTERCHANGE, OUTBOUND, gaps, usual_interval
from acktrack.report.model import Report

SEQUENCES = ((OUTBOUND, INTERCHANGE), (OUTBOUND, GROUP), (INBOUND, INTERCHANGE))


@dataclass(slots=True)
class Rhythm:
    gaps: list[dict[str, Any]] = field(default_factory=list)
    # partner -> {"usual_interval_hours": float | None, "last_arrival": str | None}
    insurers: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"gaps": self.gaps, "insurers": self.insurers, "reads": self.reads}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Rhythm:
        if not data:
            return cls()
        return cls(list(data["gaps"]), dict(data["insurers"]), int(data["reads"]))


def collect_rhythm(store: ReportSource, as_of: datetime, history: int) -> Rhythm:
    found = Rhythm()
    for partner in sorted(store.partners(), key=lambda p: (p.partner, p.our_id)):
        for direction, level in SEQUENCES:
            seen = store.control_numbers(partner.our_id, partner.partner, direction, level)
            found.reads += 1
            found.gaps += [gap.to_dict() for gap in
                           gaps(partner.partner, direction, level, seen, history)]  # fmt: skip
            if direction == INBOUND:
                arrivals = [at for _, at in seen]
                interval = usual_interval(arrivals, as_of)
                found.insurers[partner.partner] = {
                    "usual_interval_hours": round(interval.total_seconds() / 3600, 1)
                    if interval is not None else None,
                    "last_arrival": max(arrivals) if arrivals else None,
                }  # fmt: skip
    return found


def add_rhythm(report: Report, found: Rhythm) -> None:
    """The gaps, and the insurers silent for longer than their usual interval while 834s to
    them still await an answer."""
    report.extras["control_gaps"] = found.gaps
    silent = []
    for line in report.by_partner:
        rhythm = found.insurers.get(line["partner"], {})
        hours, last = rhythm.get("usual_interval_hours"), rhythm.get("last_arrival")
        waiting = line["pending_overdue"] + line["pending_within_sla"]
        if hours is None or last is None or not waiting:
            continue
        quiet = (report.as_of - datetime.fromisoformat(last.replace("Z", "+00:00"))
                 .astimezone(UTC)).total_seconds() / 3600  # fmt: skip
        if quiet > hours:
            silent.append({"partner": line["partner"], "silent_since": last,
                           "usual_interval_hours": hours, "quiet_hours": round(quiet, 1),
                           "awaiting_answer": waiting})  # fmt: skip
    report.extras["silent_insurers"] = silent
    report.summary["control_gaps"] = len(found.gaps)
    report.summary["silent_insurers"] = len(silent)
    if found.gaps or silent:
        report.summary["all_confirmed"] = False
    report.reads += found.reads


def rhythm_text(report: Mapping[str, Any], limit: int) -> list[str]:
    lines: list[str] = []
    silent = report.get("silent_insurers", [])
    if silent:
        lines += ["", f"Insurers gone quiet ({len(silent)}):"]
        lines += [f"  {s['partner']}: silent since {s['silent_since'][:16]} ({s['quiet_hours']} h; "
                  f"usually a file every {s['usual_interval_hours']} h), "
                  f"{s['awaiting_answer']} member transactions await its answer"
                  for s in silent[:limit]]  # fmt: skip
    found = report.get("control_gaps", [])
    if found:
        lines += ["", f"Gaps in control numbers ({len(found)}): files never copied here, or lost:"]
        lines += [f"  {gap_line(g)}" for g in found[:limit]]
    return lines


def gap_line(gap: Mapping[str, Any]) -> str:
    who = "our" if gap["direction"] == OUTBOUND else "its"
    element = "ISA13" if gap["level"] == INTERCHANGE else "GS06"
    way = "to" if gap["direction"] == OUTBOUND else "from"
    missing = ", ".join(str(n) for n in gap["missing"])
    more = f" and {gap['more_missing']} more" if gap.get("more_missing") else ""
    return (
        f"{gap['partner']}: {who} {element} {missing}{more} missing {way} it "
        f"(after {gap['since'][:16]})"
    )
