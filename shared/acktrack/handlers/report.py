"""The daily report's tasks (its workflow, ``ReportWorkflow`` in ``template.yaml``).

The workflow: ``plan_task`` lists the open sets and writes the batches to the work area;
a Distributed Map runs ``batch_task`` on each (retried by the workflow; a batch writes only
its own objects, so a retry changes nothing twice) beside ``sections_task``; then
``deliver_task`` merges what they wrote, archives (the JSON and CSV assembled from the
batches' pieces) and emails under the date's sent marker. Each task's input and output
are small: keys and counts, never rows."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from acktrack import settings as settings_module
from acktrack.aws.work import S3Work
from acktrack.handlers.failures import failed, failure_fields
from acktrack.handlers.metrics import report_metrics
from acktrack.handlers.wiring import repository
from acktrack.ingest.publish import announce
from acktrack.report.plan import ReportRun

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

    from acktrack.report.model import Report


def report_time(event: dict[str, Any]) -> datetime:
    """The moment a report is built as of: the schedule's time, else now."""
    raw = event.get("as_of") if isinstance(event, dict) else None
    if raw:
        try:
            moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            moment = datetime.now(UTC)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


def report_run(event: dict[str, Any]) -> ReportRun:
    """The run a workflow execution is about: from the plan's output, else the schedule's time
    and the function's settings."""
    if isinstance(event.get("run"), dict):
        return ReportRun.from_dict(event["run"])
    current = settings_module.settings()
    return ReportRun(as_of=report_time(event), sla_hours=current.ack_sla_hours,
                     window_days=current.report_window_days,
                     effectuation_days=current.effectuation_sla_days,
                     keep_rows=current.email_detail_rows,
                     first_pass_people=current.first_pass_people,
                     batch_sets=current.report_batch_sets,
                     batch_rows=current.report_batch_rows,
                     sequence_history=current.sequence_history)  # fmt: skip


def work_area(run: ReportRun) -> S3Work:
    bucket = settings_module.settings().reports_bucket
    if not bucket:
        raise ValueError("the report's workflow needs REPORTS_BUCKET (its work area)")
    return S3Work(bucket, f"work/{run.stamp}")


def _batch_name(index: int, suffix: str) -> str:
    return f"batch-{index:06d}.{suffix}"


def plan_task(event: dict[str, Any], logger: Logger | logging.Logger) -> dict[str, Any]:
    """The first step: the batches, written to the work area for the map to read."""
    from acktrack.report.plan import Plan, plan_batches

    run = report_run(event)
    work = work_area(run)
    plan = Plan()
    count = work.put_list("batches.json", plan_batches(repository(), run, plan))
    logger.info("report planned", extra={"as_of": run.as_of.isoformat(), "sets": plan.sets,
                                          "rows": plan.rows, "awaiting": plan.awaiting,
                                          "batches": count, "reads": plan.reads,
                                          "chunked_sets": len(plan.chunked)})  # fmt: skip
    return {"run": run.to_dict(), "batches": {"bucket": work.bucket,
                                             "key": work.key("batches.json"), "count": count},
            "map_concurrency": settings_module.settings().report_map_concurrency,
            "reads": plan.reads}  # fmt: skip


def batch_task(event: dict[str, Any], logger: Logger | logging.Logger) -> dict[str, Any]:
    """One batch: its summary, people, and rows as pieces of the archived JSON and CSV."""
    from acktrack.report.batch import run_batch
    from acktrack.report.outputs import csv_piece, json_piece

    run = report_run(event)
    work = work_area(run)
    result = run_batch(repository(), run, event["batch"])
    try:
        rows = list(result.rows)
        summary = result.summary()
        json_rows, csv_rows = json_piece(rows), csv_piece(rows)
        summary["pieces"] = {"json": len(json_rows), "csv": len(csv_rows)}
        work.put(_batch_name(result.index, "rows.json"), json_rows)
        work.put(_batch_name(result.index, "rows.csv"), csv_rows)
        work.put(_batch_name(result.index, "people"), result.rows.people_hashes())
        work.put_json(_batch_name(result.index, "json"), summary)  # last: it says the batch is done
    finally:
        result.rows.close()
    logger.info("report batch", extra={"batch": result.index, "rows": len(rows),
                                        "sets": len(result.tallies), "reads": result.reads,
                                        "unlisted": result.unlisted})  # fmt: skip
    return {"batch": result.index, "rows": len(rows)}


def sections_task(event: dict[str, Any], logger: Logger | logging.Logger) -> dict[str, Any]:
    """The report's parts that are not rows (beside the map), and retention pushed back for
    members still open."""
    from acktrack.report.ledgers import open_still
    from acktrack.report.sections import collect_sections

    run = report_run(event)
    kept = repository().keep_open_members(
        run.as_of, still_open=open_still(repository(), run.as_of, run.sla_hours)
    )
    if kept:
        logger.info("retention pushed back for open members", extra={"members": kept})
    found = collect_sections(repository(), run)
    work_area(run).put_json("sections.json", found.to_dict())
    return {"reads": found.reads}


def deliver_task(
    event: dict[str, Any], logger: Logger | logging.Logger, metrics: Metrics | None = None
) -> dict[str, Any]:
    """The last step: the batches and sections merged into the report, archived (its rows
    copied from the batches' pieces) and emailed once for the date."""
    try:
        return _deliver_task(event, logger, metrics)
    except Exception as error:
        logger.error("report failed", extra=failure_fields(error))
        raise failed("the report", error) from None


def _deliver_task(
    event: dict[str, Any], logger: Logger | logging.Logger, metrics: Metrics | None
) -> dict[str, Any]:
    from acktrack.aws.delivery import send
    from acktrack.report.merge import merge_report
    from acktrack.report.outputs import JSON_FIRST_SKIP, render
    from acktrack.report.sections import Sections
    from acktrack.report.spool import MergedRows

    current = settings_module.settings()
    run = report_run(event)
    work = work_area(run)
    count = int(event.get("batches", {}).get("count", 0))
    rows = MergedRows(keep=run.keep_rows)
    sizes: list[tuple[int, int, int]] = []  # (batch, JSON piece bytes, CSV piece bytes)

    def summaries() -> Iterator[dict[str, Any]]:
        for index in range(count):
            summary: dict[str, Any] = work.get_json(_batch_name(index, "json"))
            rows.add_batch(index, summary["urgent"], int(summary["rows"]),
                           work.get(_batch_name(index, "people")))  # fmt: skip
            sizes.append((index, summary["pieces"]["json"], summary["pieces"]["csv"]))
            yield summary

    sections = Sections.from_dict(work.get_json("sections.json"))
    report = merge_report(run, summaries(), rows, sections, int(event.get("reads", 0)))
    outputs = render(report, timezone=current.report_timezone,
                     detail_rows=current.email_detail_rows)  # fmt: skip
    csv_size = 0

    def store(bucket: str, json_key: str, csv_key: str) -> None:
        nonlocal csv_size
        pieces, first = [], True
        for index, json_bytes, _ in sizes:
            skip = JSON_FIRST_SKIP if first and json_bytes else 0
            first = first and not json_bytes
            pieces.append((_batch_name(index, "rows.json"), skip, json_bytes - skip))
        work.compose(bucket, json_key, outputs.json_head, pieces, outputs.json_tail,
                     "application/json")  # fmt: skip
        csv_size = work.compose(bucket, csv_key, outputs.csv_header,
                                [(_batch_name(i, "rows.csv"), 0, n) for i, _, n in sizes],
                                outputs.csv_tail, "text/csv; charset=utf-8")  # fmt: skip

    csv_bytes = len(outputs.csv_header) + sum(n for _, _, n in sizes) + len(outputs.csv_tail)
    delivered = send(outputs, run.as_of, len(rows), csv_bytes, store,
                     lambda: _archived_csv(current.reports_bucket, run), current)  # fmt: skip
    delivered["events"] = announce(repository(), {
        "as_of": run.as_of.astimezone(UTC).isoformat(), "by_partner": report.by_partner,
        **{name: report.extras.get(name) for name in ANNOUNCED}})  # fmt: skip
    return _delivered(report, run, delivered, logger, metrics)


ANNOUNCED = ("never_sent_by_partner", "control_gaps", "silent_insurers")  # with by_partner


def _archived_csv(bucket: str | None, run: ReportRun) -> bytes:
    from acktrack.aws import clients
    from acktrack.aws.delivery import archive_key

    body: bytes = clients.s3().get_object(Bucket=bucket or "",
                                          Key=archive_key(run.as_of, "csv"))["Body"].read()  # fmt: skip
    return body


def _delivered(report: Report, run: ReportRun, delivered: dict[str, Any],
               logger: Logger | logging.Logger, metrics: Metrics | None) -> dict[str, Any]:  # fmt: skip
    uncertain = delivered.get("email", {}).get("uncertain")
    if uncertain:
        logger.error("report email may not have gone out", extra={"report_date": uncertain,
                     "note": delivered["email"]["note"]})  # fmt: skip
    counts = {key: report.summary[key] for key in ("members_sent", "confirmed", "rejected", "pending_overdue",
                                                    "pending_within_sla", "unmatched_acks", "quarantined",
                                                    "people_unconfirmed", "resolved_by_resend",
                                                    "resolved_by_operator")}  # fmt: skip
    logger.info(
        "report delivered", extra={"as_of": run.as_of.isoformat(), "reads": report.reads, **counts}
    )
    if metrics is not None:
        report_metrics(metrics, report.summary, report.by_partner)
        if uncertain:
            from aws_lambda_powertools.metrics import MetricUnit

            metrics.add_metric(name="ReportEmailUncertain", unit=MetricUnit.Count, value=1)
    return {"as_of": run.as_of.isoformat(), "summary": report.summary, **delivered}
