"""Deliver a report: archive it (JSON, CSV, HTML) in the reports bucket, email it through SES.

The email goes out every day, including "all N confirmed", and once per report date: a
retry after the email went out archives again but sends nothing twice. When the CSV would
make the message too large for SES, the email names the archived CSV and links it in the
AWS console (a login is needed: no bearer link that anyone holding it could open).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError

from acktrack.aws import clients
from acktrack.settings import Settings
from acktrack.tracking.email import build_email, detail_csv, render_html
from acktrack.tracking.report import Report


def archive_key(report: Report, suffix: str) -> str:
    stamp = report.as_of.strftime("%Y-%m-%dT%H%M%SZ")
    return f"reports/{report.as_of:%Y/%m/%d}/unconfirmed-{stamp}.{suffix}"


def sent_marker_key(report_date: str) -> str:
    """Where the report of one date records that its email went out."""
    return f"reports/sent/{report_date}.json"


def report_date(as_of: datetime, timezone: str) -> str:
    """The date a report is for, in the report's time zone (the schedule's)."""
    return as_of.astimezone(ZoneInfo(timezone)).date().isoformat()


def console_link(bucket: str, key: str, region: str) -> str:
    """The archived object in the S3 console: it opens only for someone signed in."""
    return (
        f"https://console.aws.amazon.com/s3/object/{quote(bucket)}"
        f"?region={quote(region)}&prefix={quote(key, safe='')}"
    )


def _already_sent(bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = clients.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    recorded: dict[str, Any] = json.loads(body)
    return recorded


def deliver(report: Report, settings: Settings) -> dict[str, Any]:
    document = report.to_json()
    csv_bytes = detail_csv(document)
    result: dict[str, Any] = {"csv_bytes": len(csv_bytes), "rows": len(document["unconfirmed"])}
    attach = len(csv_bytes) <= settings.report_max_attachment_bytes
    bucket = settings.reports_bucket
    csv_location = f"s3://{bucket}/{archive_key(report, 'csv')}"
    link = console_link(bucket, archive_key(report, "csv"), settings.region) if bucket else None
    if bucket:
        s3 = clients.s3()
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
    if not (settings.report_sender and settings.report_recipients):
        return result
    date = report_date(report.as_of, settings.report_timezone)
    marker = sent_marker_key(date)
    earlier = _already_sent(bucket, marker) if bucket else None
    if earlier is not None:
        result["email"] = {"already_sent": date, "message_id": earlier.get("message_id")}
        return result
    message = build_email(
        document, settings.report_sender, list(settings.report_recipients),
        timezone=settings.report_timezone, attach_csv=attach,
        csv_link=link, csv_location=csv_location,
    )  # fmt: skip
    # The configuration set requires TLS to the recipients' mail servers.
    extra: dict[str, Any] = (
        {"ConfigurationSetName": settings.report_configuration_set}
        if settings.report_configuration_set
        else {}
    )
    response = clients.ses().send_email(
        FromEmailAddress=settings.report_sender,
        Destination={"ToAddresses": list(settings.report_recipients)},
        Content={"Raw": {"Data": message}},
        **extra,
    )
    result["email"] = {
        "message_id": response.get("MessageId"),
        "recipients": len(settings.report_recipients),
        "bytes": len(message),
        "csv_attached": attach,
    }
    if bucket:
        record = {"report_date": date, "message_id": response.get("MessageId"),
                  "as_of": report.as_of.isoformat()}  # fmt: skip
        clients.s3().put_object(
            Bucket=bucket, Key=marker, Body=json.dumps(record).encode(),
            ContentType="application/json",
        )  # fmt: skip
    return result
