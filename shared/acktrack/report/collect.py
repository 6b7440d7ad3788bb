"""The daily report in one process (the CLI, the tests): the same steps as its workflow
(``plan``, ``batch`` for each batch, ``sections``, ``merge``), one after another."""

from __future__ import annotations

from datetime import UTC, datetime

from acktrack.domain.ports import ReportSource
from acktrack.report.batch import run_batch
from acktrack.report.merge import merge_report
from acktrack.report.model import Report
from acktrack.report.people import FIRST_PASS_PEOPLE
from acktrack.report.plan import Plan, ReportRun, plan_batches
from acktrack.report.sections import collect_sections
from acktrack.report.spool import MergedRows


def collect_report(
    store: ReportSource,
    as_of: datetime,
    sla_hours: float,
    window_days: int = 7,
    effectuation_days: int = 0,
    *,
    keep_rows: int = 500,
    first_pass_people: int = FIRST_PASS_PEOPLE,
    batch_sets: int = 500,
    batch_rows: int = 5_000,
) -> Report:
    """The report as of ``as_of``; ``Report.reads`` counts the items it read. The detail rows
    stay spooled to temporary files (one a batch); the ``keep_rows`` most urgent in memory."""
    run = ReportRun(as_of=as_of.astimezone(UTC), sla_hours=sla_hours, window_days=window_days,
                    effectuation_days=effectuation_days, keep_rows=keep_rows,
                    first_pass_people=first_pass_people, batch_sets=batch_sets,
                    batch_rows=batch_rows)  # fmt: skip
    plan = Plan()
    rows = MergedRows(keep=keep_rows)
    summaries = []
    for batch in plan_batches(store, run, plan):
        result = run_batch(store, run, batch)
        summary = result.summary()
        rows.add_batch(result.index, summary["urgent"], len(result.rows),
                       result.rows.people_hashes(), result.rows)  # fmt: skip
        summaries.append(summary)
    return merge_report(run, summaries, rows, collect_sections(store, run), plan.reads)
