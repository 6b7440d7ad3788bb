"""Deliver a report: archive it in the reports bucket, send it through SES."""

from __future__ import annotations

import json
from typing import Any

from acktrack.aws import clients
from acktrack.settings import Settings
from acktrack.tracking.report import Report


def archive_key(report: Report, suffix: str) -> str:
    stamp = report.as_of.strftime("%Y-%m-%dT%H%M%SZ")
    return f"reports/{report.as_of:%Y/%m/%d}/unconfirmed-{stamp}.{suffix}"


def deliver(report: Report, settings: Settings) -> dict[str, Any]:
    from acktrack.tracking.email import build_email

    result: dict[str, Any] = {}
    if settings.reports_bucket:
        key = archive_key(report, "json")
        clients.s3().put_object(
            Bucket=settings.reports_bucket, Key=key, Body=json.dumps(report.to_json(), indent=1).encode(),
            ContentType="application/json",
        )  # fmt: skip
        result["archive"] = {"bucket": settings.reports_bucket, "json": key}
    if settings.report_sender and settings.report_recipients:
        message = build_email(report, settings.report_sender, list(settings.report_recipients))
        response = clients.ses().send_email(
            FromEmailAddress=settings.report_sender,
            Destination={"ToAddresses": list(settings.report_recipients)},
            Content={"Raw": {"Data": message}},
        )
        result["email"] = {
            "message_id": response.get("MessageId"),
            "recipients": len(settings.report_recipients),
        }
    return result
