"""Deliver a report: archive it (JSON, CSV, HTML) in the reports bucket, email it through SES.

The email goes out every day, including "all N confirmed", and once per report date. A
marker under ``reports/sent/`` says "sending" just before SES is called and "sent" with
the message id after; a definite refusal from SES marks it "failed" so a retry sends. The
"sending" marker is a conditional write naming the run that claims the date: when its
answer is lost (the SDK resends it and the resend fails its own condition, or the SDK gives
up), the run reads it back and, finding its own claim, sends: SES was not called yet.
Without the name a lost answer there meant no email for the date at all. A
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
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
)

from acktrack.aws import clients
from acktrack.report.outputs import Outputs
from acktrack.settings import Settings


def archive_key(as_of: datetime, suffix: str, name: str = "unconfirmed") -> str:
    stamp = as_of.strftime("%Y-%m-%dT%H%M%SZ")
    return f"reports/{as_of:%Y/%m/%d}/{name}-{stamp}.{suffix}"


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


def _marker(bucket: str, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """The date's marker and its ETag (None, None: no marker yet)."""
    try:
        response = clients.s3().get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None, None
        raise
    recorded: dict[str, Any] = json.loads(response["Body"].read())
    return recorded, response.get("ETag")


def _mark(bucket: str, key: str, record: dict[str, Any], **condition: str) -> bool:
    """Write the marker; with ``IfNoneMatch``/``IfMatch``, False if another run wrote first."""
    try:
        clients.s3().put_object(
            Bucket=bucket, Key=key, Body=json.dumps(record).encode(),
            ContentType="application/json", **condition,  # type: ignore[arg-type]
        )  # fmt: skip
    except ClientError as error:
        if condition and error.response.get("Error", {}).get("Code") in _LOST_RACE:
            return False
        raise
    return True


def _claim(bucket: str, key: str, sending: dict[str, Any],
           condition: dict[str, str]) -> tuple[bool, dict[str, Any] | None]:  # fmt: skip
    """Claim the date for this run (the "sending" marker, a conditional write naming the
    run); True when the marker holds this run's claim, else the marker found. A claim whose
    answer was lost may have landed: the SDK resends it and the resend fails its own
    condition, or the SDK gives up. The marker is then read back: this run's claim is this
    run's; another's is another run's; none (or the old one) means nothing landed, and the
    error is raised so that Lambda's retry claims again. SES has not been called."""
    try:
        if _mark(bucket, key, sending, **condition):
            return True, sending
        lost: Exception | None = None
    except (BotoCoreError, ClientError) as error:
        lost = error
    current = _marker(bucket, key)[0]
    if current is not None and current.get("claim") == sending["claim"]:
        return True, current
    if lost is not None:
        raise lost
    return False, current


_LOST_RACE = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


def _ses_answered_no(error: Exception) -> bool:
    """SES refused (4xx) or was never reached: nothing went out. A 5xx may have sent it."""
    if isinstance(error, ClientError):
        return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)) < 500
    return isinstance(error, (ConnectTimeoutError, EndpointConnectionError))


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


def send(
    outputs: Outputs,
    as_of: datetime,
    rows: int,
    csv_size: int,
    store: Callable[[str, str, str], None],
    csv_bytes: Callable[[], bytes],
    settings: Settings,
) -> dict[str, Any]:
    """Store the archive (``store`` writes the JSON and the CSV; the HTML and resolutions
    are written here) and email it once per report date (the sent marker, below)."""
    resolutions = outputs.resolutions
    result: dict[str, Any] = {"csv_bytes": csv_size, "rows": rows}
    attach = csv_size + len(resolutions) <= settings.report_max_attachment_bytes
    bucket = settings.reports_bucket
    keys = {suffix: archive_key(as_of, suffix) for suffix in ("json", "csv", "html")}
    csv_location = f"s3://{bucket}/{keys['csv']}"
    resolutions_key = archive_key(as_of, "csv", "resolutions")
    link = console_link(bucket, keys["csv"], settings.region) if bucket else None
    if bucket:
        s3 = clients.s3()
        store(bucket, keys["json"], keys["csv"])
        s3.put_object(Bucket=bucket, Key=resolutions_key, Body=resolutions,
                      ContentType="text/csv; charset=utf-8")  # fmt: skip
        s3.put_object(Bucket=bucket, Key=keys["html"], Body=outputs.html,
                      ContentType="text/html; charset=utf-8")  # fmt: skip
        result["archive"] = {"bucket": bucket, **keys, "resolutions_csv": resolutions_key}
    if not (settings.report_sender and settings.report_recipients):
        return result
    date = report_date(as_of, settings.report_timezone)
    marker = sent_marker_key(date)
    earlier, etag = _marker(bucket, marker) if bucket else (None, None)
    done = _already_done(date, bucket or "", marker, earlier)
    if done is not None:
        result["email"] = done
        return result
    message = outputs.email(
        settings.report_sender, list(settings.report_recipients),
        detail=csv_bytes() if attach else None, csv_link=link, csv_location=csv_location,
        resolutions_location=f"s3://{bucket}/{resolutions_key}" if bucket else None,
    )  # fmt: skip
    # The configuration set requires TLS to the recipients' mail servers.
    extra: dict[str, Any] = (
        {"ConfigurationSetName": settings.report_configuration_set}
        if settings.report_configuration_set
        else {}
    )
    record = {"report_date": date, "as_of": as_of.isoformat()}
    if bucket:
        # Claimed by one run only: created if absent, or taken over from a "failed" marker.
        claim = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        sending = {**record, "state": EmailState.SENDING.value, "claim": uuid.uuid4().hex,
                   "started_at": datetime.now(UTC).isoformat()}  # fmt: skip
        claimed, current = _claim(bucket, marker, sending, claim)
        if not claimed:
            result["email"] = _already_done(date, bucket, marker, current) or {
                "uncertain": date, "note": "another run claimed this date's email"}  # fmt: skip
            return result
    try:
        response = _send(lambda: clients.ses().send_email(
            FromEmailAddress=settings.report_sender,
            Destination={"ToAddresses": list(settings.report_recipients)},
            Content={"Raw": {"Data": message}},
            **extra,
        ))  # fmt: skip
    except Exception as error:
        if bucket and _ses_answered_no(error):  # nothing went out: a retry may send
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


def _already_done(
    date: str, bucket: str, marker: str, earlier: dict[str, Any] | None
) -> dict[str, Any] | None:
    """What the email result is when this run must not send (None: it may)."""
    if earlier is None:
        return None
    state = EmailState(earlier.get("state", "sent"))
    if state == EmailState.SENT:
        return {"already_sent": date, "message_id": earlier.get("message_id")}
    if state == EmailState.SENDING:
        return {
            "uncertain": date,
            "since": earlier.get("started_at"),
            "note": f"an earlier send's answer was lost or is still coming; it may have gone out, "
            f"so it is not sent twice (to send it again, delete s3://{bucket}/{marker})",
        }
    return None
