"""Deliver a report: archive it (JSON, CSV, HTML) in the reports bucket, email it through SES.

The email goes out every day, including "all N confirmed", and once per report date. A
marker under ``reports/sent/`` says "sending" just before SES is called and "sent" with
the message id after; a definite refusal from SES marks it "failed" so a retry sends. A
send whose answer was lost (a timeout after the request left) may have gone out: a
retry then sends nothing and says so, since twice is the one outcome SES cannot undo.
The SES client makes one attempt (the SDK would resend on a read timeout); throttling is
retried here, where SES's answer proves nothing was sent. When the CSV would
make the message too large for SES, the email names the archived CSV and links it in the
AWS console (a login is needed: no bearer link that anyone holding it could open).
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from acktrack.aws import clients
from acktrack.report.email import build_email, detail_csv, render_html
from acktrack.report.model import Report
from acktrack.settings import Settings


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


class EmailState(StrEnum):
    SENDING = "sending"  # SES was being called; its answer is not known
    SENT = "sent"
    FAILED = "failed"  # SES refused: nothing went out


_THROTTLED = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException",
                        "LimitExceededException"})  # fmt: skip
_SEND_ATTEMPTS = 6


def _marker(bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = clients.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    recorded: dict[str, Any] = json.loads(body)
    return recorded


def _mark(bucket: str, key: str, record: dict[str, Any]) -> None:
    clients.s3().put_object(
        Bucket=bucket, Key=key, Body=json.dumps(record).encode(), ContentType="application/json"
    )


def _send(send: Any) -> dict[str, Any]:
    """SES's answer; throttling is retried (SES answered, so nothing went out)."""
    for attempt in range(_SEND_ATTEMPTS):
        try:
            response: dict[str, Any] = send()
            return response
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in _THROTTLED or attempt == _SEND_ATTEMPTS - 1:
                raise
            time.sleep(min(0.2 * 2**attempt, 5.0) * (0.5 + random.random()))
    raise AssertionError("unreachable")


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
    earlier = _marker(bucket, marker) if bucket else None
    state = EmailState(earlier.get("state", "sent")) if earlier is not None else None
    if earlier is not None and state == EmailState.SENT:
        result["email"] = {"already_sent": date, "message_id": earlier.get("message_id")}
        return result
    if earlier is not None and state == EmailState.SENDING:
        result["email"] = {
            "uncertain": date,
            "since": earlier.get("started_at"),
            "note": f"an earlier send's answer was lost; it may have gone out, so it is not sent "
            f"twice (to send it again, delete s3://{bucket}/{marker})",
        }
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
    record = {"report_date": date, "as_of": report.as_of.isoformat()}
    if bucket:
        _mark(bucket, marker, {**record, "state": EmailState.SENDING.value,
                               "started_at": datetime.now(UTC).isoformat()})  # fmt: skip
    try:
        response = _send(lambda: clients.ses().send_email(
            FromEmailAddress=settings.report_sender,
            Destination={"ToAddresses": list(settings.report_recipients)},
            Content={"Raw": {"Data": message}},
            **extra,
        ))  # fmt: skip
    except (ClientError, ConnectTimeoutError, EndpointConnectionError):
        # SES answered with a refusal, or was never reached: nothing went out.
        if bucket:
            _mark(bucket, marker, {**record, "state": EmailState.FAILED.value})
        raise
    result["email"] = {
        "message_id": response.get("MessageId"),
        "recipients": len(settings.report_recipients),
        "bytes": len(message),
        "csv_attached": attach,
    }
    if bucket:
        _mark(bucket, marker, {**record, "state": EmailState.SENT.value,
                               "message_id": response.get("MessageId")})  # fmt: skip
    return result
