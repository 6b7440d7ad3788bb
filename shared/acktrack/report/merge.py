"""Where the report's batches meet (the reduce step of its workflow, or one process): the
tallies added up in the report's set order (a set read in chunks summed first), the rows
kept in batch order (the most urgent over all, people counted once), and the sections, into
the one report."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from acktrack.report.backlog import Backlog, SetTally
from acktrack.report.model import Report, Row, build_report
from acktrack.report.never_sent import add_never_sent
from acktrack.report.plan import ReportRun
from acktrack.report.resolutions import add_resolutions
from acktrack.report.rhythm import add_rhythm
from acktrack.report.sections import Sections
from acktrack.report.spool import MergedRows
from acktrack.report.usage import add_other_usage


def merge_report(
    run: ReportRun,
    summaries: Iterable[dict[str, Any]],
    rows: MergedRows,
    sections: Sections,
    reads: int = 0,
) -> Report:
    """``summaries``: each batch's ``BatchResult.summary()``, in batch order; ``rows``: their
    rows (``MergedRows.add_batch`` already called for each)."""
    backlog = Backlog(run.as_of, run.sla_hours)
    pending: SetTally | None = None
    for summary in summaries:
        reads += int(summary.get("reads", 0))
        for data in summary["tallies"]:
            tally = SetTally.from_dict(data)
            if pending is not None and pending.key == tally.key:
                pending = pending.plus(tally)  # another chunk of the same set
                continue
            if pending is not None:
                backlog.account(pending)
            pending = tally
        both_open = [Row(**row) for row in summary["both_open"]]
        backlog.add_both_open(both_open, int(summary.get("both_open_total", len(both_open))))
        backlog.not_effectuated += int(summary["not_effectuated"])
        for partner, count in summary["late_by_partner"].items():
            backlog.late_by_partner[partner] += int(count)
        for partner, status, bucket, members, sets in summary["cells"]:
            if status != "not effectuated":
                continue  # the sets' cells are counted from their tallies
            cell = backlog.table[(partner, status, bucket)]
            cell["members"] += int(members)
            cell["sets"] += int(sets)
    if pending is not None:
        backlog.account(pending)
    report = build_report(
        run.as_of,
        run.sla_hours,
        run.window_days,
        sections.partners,
        backlog,
        sections.unmatched,
        sections.quarantined,
        sections.notices,
        reads + sections.reads,
        quality=sections.quality,
        quality_by_kind=sections.quality_by_kind,
        effectuation_days=run.effectuation_days,
        effectuated=sum(p.effectuated for p in sections.partners),
        rows=rows,
    )
    report.extras["reconciliation"] = sections.reconciliation
    if sections.not_judged:  # only then: a report within the budget is as it was
        report.extras["duplicates_not_judged"] = sections.not_judged
        report.extras["duplicates_judged"] = sections.judged
    add_resolutions(report, sections.resolutions)
    add_other_usage(report, sections.other_usage)
    add_never_sent(report, sections.never_sent)
    add_rhythm(report, sections.rhythm)
    return report
