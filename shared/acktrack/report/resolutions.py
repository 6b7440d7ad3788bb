"""The report's operator resolutions: what operators closed in the window (``acktrack
resolve``), each with when, insurer, subscriber and member ids, reason, who it was claimed
by (``--by``) and who really wrote it (``caller``: the STS caller ARN on AWS, the OS user
locally), each a field of its own, for an auditor to read.

Read from the sparse index by time (never a scan); reconciliation's own resolutions are in
the reconciliation section, not here. The JSON's ``resolutions`` and the archive's
resolutions CSV hold up to ``RESOLUTIONS_KEPT``; the email shows the most recent few.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import IO

from acktrack.domain.ports import ReportSource
from acktrack.report.cells import printable
from acktrack.report.detail_csv import write_columns
from acktrack.report.document import ReportDocument, ResolutionLine
from acktrack.report.model import Report

RESOLUTIONS_KEPT = 50_000  # in the report (about 20 MB); summary.resolutions counts them all
CSV_COLUMNS = (
    ("at", "at"),
    ("insurer", "partner"),
    ("subscriber_id", "subscriber_id"),
    ("member_id", "member_id"),
    ("reason", "reason"),
    ("by", "by"),
    ("caller", "caller"),
    ("closed", "closed"),
)


@dataclass(frozen=True, slots=True)
class ResolutionView:
    at: str
    partner: str
    subscriber_id: str
    member_id: str | None
    reason: str
    by: str
    caller: str | None
    closed: int


@dataclass(frozen=True, slots=True)
class Resolutions:
    """The window's operator resolutions, oldest first, and how many there were."""

    listed: list[ResolutionView]
    total: int
    reads: int


def collect_resolutions(store: ReportSource, since: str, as_of: datetime) -> Resolutions:
    """Operators' resolutions recorded from ``since`` (ISO 8601, UTC) to the report's time."""
    listed: list[ResolutionView] = []
    total = reads = 0
    until = as_of.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for item in store.operator_resolutions(since, until):
        reads += 1
        if item.kind:  # only operators' are indexed; a reconciliation's is reported elsewhere
            continue
        total += 1
        if len(listed) < RESOLUTIONS_KEPT:
            listed.append(
                ResolutionView(
                    at=item.at, partner=item.partner, subscriber_id=item.subscriber_id,
                    member_id=item.member_id, reason=item.reason, by=item.by,
                    caller=item.caller or None, closed=int(item.closed),
                )
            )  # fmt: skip
    return Resolutions(listed, total, reads)


def add_resolutions(report: Report, found: Resolutions) -> None:
    """The report's ``resolutions`` and ``summary.resolutions``."""
    report.extras["resolutions"] = [asdict(view) for view in found.listed]
    report.summary["resolutions"] = found.total
    report.reads += found.reads


def _total(report: ReportDocument) -> int:
    return int(report["summary"].get("resolutions", len(report.get("resolutions", []))))


def _whom(row: ResolutionLine) -> str:
    member = f"member {row['member_id']}" if row["member_id"] else "every open enrollment"
    return f"subscriber {row['subscriber_id']} ({member})"


def _latest(report: ReportDocument, limit: int) -> list[ResolutionLine]:
    """The ``limit`` most recent, most recent first (what the email shows)."""
    rows = report.get("resolutions", [])
    return list(reversed(rows[-limit:])) if limit > 0 else []


def _more(report: ReportDocument, shown_rows: int) -> str:
    more = _total(report) - shown_rows
    return f"... and {more} more in the archive (the resolutions CSV and the JSON)" if more else ""


def resolutions_text(report: ReportDocument, limit: int) -> list[str]:
    """The text part's section (nothing when no operator resolved anything in the window)."""
    total = _total(report)
    if not total:
        return []
    lines = ["", f"Resolved by operators in the last {report['window_days']} days ({total}):"]
    rows = _latest(report, limit)
    for row in rows:
        lines.append(
            f"  {row['at'][:16].replace('T', ' ')}  {row['partner']} {_whom(row)}: "
            f"{row['closed']} closed; by {printable(row['by'])}, written by "
            f"{printable(row['caller']) or 'not recorded'}; reason: {printable(row['reason'])}"
        )
    more = _more(report, len(rows))
    return [*lines, f"  {more}"] if more else lines


def resolutions_table(
    report: ReportDocument, limit: int
) -> tuple[str, list[str], list[list[str]], str] | None:
    """The email's section as a title, column names, rows of plain text (the caller escapes
    them for HTML) and what was left out; None when there is nothing to show."""
    total = _total(report)
    if not total:
        return None
    rows = _latest(report, limit)
    cells = [
        [row["at"][:16].replace("T", " "), row["partner"], row["subscriber_id"],
         row["member_id"] or "every open enrollment", printable(row["reason"]), printable(row["by"]),
         printable(row["caller"]) or "not recorded", str(row["closed"])]
        for row in rows
    ]  # fmt: skip
    title = f"Resolved by operators in the last {report['window_days']} days ({total})"
    headers = ["When (UTC)", "Insurer", "Subscriber", "Member", "Reason", "By (as given)",
               "Written by (identity)", "Closed"]  # fmt: skip
    return title, headers, cells, _more(report, len(rows))


def write_resolutions_csv(rows: Iterable[Mapping[str, object]], out: IO[bytes]) -> int:
    """The resolutions CSV (UTF-8 with a BOM, formula-like cells neutralised); its size."""
    return write_columns(CSV_COLUMNS, rows, out)


def resolutions_csv(report: ReportDocument) -> bytes:
    buffer = io.BytesIO()
    write_resolutions_csv(report.get("resolutions", []), buffer)
    return buffer.getvalue()
