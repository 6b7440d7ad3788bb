"""Files of the usage this stack does not track (ISA15: test files on a production stack,
or production files on a test stack): never matched, kept out of every figure, metric and
alarm, and listed here apart, with counts per insurer, for the report's window.

Read from the sparse index by arrival time (the object items that set something aside).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from acktrack.domain.ports import ReportSource
from acktrack.report.model import Report

COUNTS = ("interchanges", "sets", "members", "acknowledgments")
USAGE_NAMES = {"T": "test", "P": "production"}


def collect_other_usage(store: ReportSource, since: str) -> tuple[list[dict[str, Any]], int, int]:
    """Per insurer and usage: files, interchanges, sets, members, acknowledgments set aside
    since ``since``; the number of files; the items read."""
    lines: dict[tuple[str, str], dict[str, Any]] = {}
    files = reads = 0
    for item in store.other_usage(since):
        reads += 1
        found: Mapping[str, Mapping[str, int]] = (item.detail or {}).get("other_usage", {})
        if not found:
            continue
        files += 1
        for partner, counts in found.items():
            usage = "T" if counts.get("test") else "P"
            line = lines.setdefault((partner, usage), {"partner": partner, "usage": usage,
                                                       "files": 0, **dict.fromkeys(COUNTS, 0)})  # fmt: skip
            line["files"] += 1
            for name in COUNTS:
                line[name] += int(counts.get(name, 0))
    return [lines[key] for key in sorted(lines)], files, reads


def add_other_usage(report: Report, found: tuple[list[dict[str, Any]], int, int]) -> None:
    lines, files, reads = found
    report.extras["other_usage"] = lines
    report.summary["other_usage_files"] = files
    report.reads += reads


def usage_text(report: Mapping[str, Any]) -> list[str]:
    """The text part's short section (nothing when no such file came in the window)."""
    lines: Iterable[Mapping[str, Any]] = report.get("other_usage", [])
    shown = [
        f"  {line['partner']}: {line['files']} {USAGE_NAMES.get(line['usage'], line['usage'])} "
        f"file{'s' if line['files'] != 1 else ''} ({line['interchanges']} interchanges, "
        f"{line['members']} member transactions, {line['acknowledgments']} acknowledgments)"
        for line in lines
    ]
    if not shown:
        return []
    return ["", "Kept apart, another usage than this stack tracks (ISA15), not in any figure:",
            *shown]  # fmt: skip
