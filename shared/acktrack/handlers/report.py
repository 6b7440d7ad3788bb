"""The daily report's tasks (its workflow in ``template.yaml``), and the whole report in one
invocation (``run_report``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from acktrack import settings as settings_module
from acktrack.handlers.failures import failed, failure_fields
from acktrack.handlers.metrics import report_metrics
from acktrack.handlers.wiring import repository

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics


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


def run_report(
    event: dict[str, Any], logger: Logger | logging.Logger, metrics: Metrics | None = None
) -> dict[str, Any]:
    """Build the report as of the schedule time, archive it and email it."""
    try:
        return _run_report(event, logger, metrics)
    except Exception as error:  # Lambda retries the run, then the failure queue keeps it
        logger.error("report failed", extra=failure_fields(error))
        raise failed("the report", error) from None


def _run_report(
    event: dict[str, Any], logger: Logger | logging.Logger, metrics: Metrics | None
) -> dict[str, Any]:
    from acktrack.aws.delivery import deliver
    from acktrack.report.collect import collect_report
    from acktrack.report.ledgers import open_still

    current = settings_module.settings()
    as_of = report_time(event)
    kept = repository().keep_open_members(
        as_of, still_open=open_still(repository(), as_of, current.ack_sla_hours)
    )
    if kept:
        logger.info("retention pushed back for open members", extra={"members": kept})
    report = collect_report(
        repository(),
        as_of,
        current.ack_sla_hours,
        current.report_window_days,
        current.effectuation_sla_days,
        keep_rows=current.email_detail_rows,
        first_pass_people=current.first_pass_people,
    )
    try:
        delivered = deliver(report, current)
    finally:
        report.unconfirmed.close()  # the spooled rows: a warm container keeps no file behind
    uncertain = delivered.get("email", {}).get("uncertain")
    if uncertain:
        logger.error("report email may not have gone out", extra={"report_date": uncertain,
                     "note": delivered["email"]["note"]})  # fmt: skip
    counts = {key: report.summary[key] for key in ("members_sent", "confirmed", "rejected", "pending_overdue",
                                                    "pending_within_sla", "unmatched_acks", "quarantined",
                                                    "people_unconfirmed", "resolved_by_resend",
                                                    "resolved_by_operator")}  # fmt: skip
    logger.info(
        "report delivered", extra={"as_of": as_of.isoformat(), "reads": report.reads, **counts}
    )
    if metrics is not None:
        report_metrics(metrics, report.summary, report.by_partner)
    return {"as_of": as_of.isoformat(), "summary": report.summary, **delivered}
