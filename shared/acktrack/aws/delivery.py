"""Deliver a report: archive it (JSON, CSV, HTML) in the reports bucket, email it through SES.

The email goes out every day, including "all N confirmed". When the CSV would make the
message too large for SES, the email carries the summary and links the archived CSV.
"""

from __future__ import annotations

import json
from typing import Any

from acktrack.aws import clients
from acktrack.settings import Settings
from acktrack.tracking.email import build_email, detail_csv, render_html
from acktrack.tracking.report import Report


def archive_key(report: Report, suffix: str) -> str:
    stamp = report.as_of.strftime("%Y-%m-%dT%H%M%SZ")
    return f"reports/{report.as_of:%Y/%m/%d}/unconfirmed-{stamp}.{suffix}"


def deliver(report: Report, settings: Settings) -> dict[str, Any]:
    document = report.to_json()
    csv_bytes = detail_csv(document)
    result: dict[str, Any] = {"csv_bytes": len(csv_bytes), "rows": len(document["unconfirmed"])}
    link: str | None = None
    if settings.reports_bucket:
        s3 = clients.s3()
        bucket = settings.reports_bucket
        keys = {suffix: archive_key(report, suffix) for suffix in ("json", "csv", "html")}
        s3.put_object(Bucket=bucket, Key=keys["json"], Body=json.dumps(document, indent=1).encode(),
                      ContentType="application/json")  # fmt: skip
        s3.put_object(
            Bucket=bucket, Key=keys["csv"], Body=csv_bytes, ContentType="text/csv; charset=utf-8"
        )
        s3.put_object(Bucket=bucket, Key=keys["html"],
                      Body=render_html(document, timezone=settings.report_timezone).encode(),
                      ContentType="text/html; charset=utf-8")  # fmt: skip
        result["archive"] = {"bucket": bucket, **keys}
        if len(csv_bytes) > settings.report_max_attachment_bytes:
            link = s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": keys["csv"]},
                ExpiresIn=min(settings.report_link_days, 7) * 86400,
            )  # fmt: skip
    attach = len(csv_bytes) <= settings.report_max_attachment_bytes
    if settings.report_sender and settings.report_recipients:
        message = build_email(
            document, settings.report_sender, list(settings.report_recipients),
            timezone=settings.report_timezone, attach_csv=attach,
            csv_link=link or f"s3://{settings.reports_bucket}/{archive_key(report, 'csv')}",
        )  # fmt: skip
        response = clients.ses().send_email(
            FromEmailAddress=settings.report_sender,
            Destination={"ToAddresses": list(settings.report_recipients)},
            Content={"Raw": {"Data": message}},
        )
        result["email"] = {
            "message_id": response.get("MessageId"),
            "recipients": len(settings.report_recipients),
            "bytes": len(message),
            "csv_attached": attach,
        }
    return result
