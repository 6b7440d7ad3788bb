"""PHI canaries at every log level and through failures; raw keys never logged; oversized
files refused before reading (moto in process)."""

from __future__ import annotations

import email
import io
import json
import logging
from datetime import timedelta
from email import policy
from typing import Any

import pytest
from botocore.exceptions import ClientError

from acktrack.aws import clients
from acktrack.local import resources
from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.enrollment import EnrollmentSpec, GeneratedFile, write_834
from tests.reliability.support import AS_OF, FIGURES, SENT, File, deliver, fresh_stack
from tests.reliability.test_faults import Faults

pytestmark = pytest.mark.slow


def canaries(generated: GeneratedFile) -> set[str]:
    found: set[str] = set()
    for _, member in generated.all_members():
        person = member.person
        born = person.birth_date
        found |= {person.last_name, person.first_name, person.ssn, born, f"{born[:4]}-{born[4:6]}-{born[6:]}",
                  person.street, f"{person.city} {person.state}"}  # fmt: skip
    return {value for value in found if len(value) >= 5}


def _834(**spec: Any) -> tuple[bytes, GeneratedFile]:
    buffer = io.BytesIO()
    generated = write_834(EnrollmentSpec(**{"sent_at": SENT, **spec}), buffer)
    return buffer.getvalue(), generated


def places(stack: Any, orders: list[str]) -> dict[str, str]:
    """Everything a person or a system other than the tracking table could read; only
    places that held something are kept (and counted)."""
    logs = stack.logs.getvalue()
    found: dict[str, str] = {"logs (every logger at DEBUG, EMF)": logs}
    found["metric dimensions"] = json.dumps(_dimensions(logs))
    s3 = stack.client("s3")
    for role in ("Reports", "Outbound", "Inbound"):
        bucket = stack.bucket(role)
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            head = s3.head_object(Bucket=bucket, Key=item["Key"])
            found[f"{role} {item['Key']} metadata"] = json.dumps(head.get("Metadata", {}))
            if role == "Reports":
                found[item["Key"]] = (
                    s3.get_object(Bucket=bucket, Key=item["Key"])["Body"]
                    .read()
                    .decode("utf-8", "replace")  # people hashes are binary
                )
    for number, raw in enumerate(stack.sent_emails()):
        found[f"email {number}"] = raw.decode("utf-8", "replace")
        message = email.message_from_bytes(raw, policy=policy.default)
        for part in message.walk():
            if part.get_content_maintype() != "multipart":  # decoded: base64 CSV, HTML, text
                body = part.get_payload(decode=True) or b""
                found[f"email {number} {part.get_content_type()} (decoded)"] = body.decode(
                    "utf-8", "replace"
                )
    for number, body in enumerate(orders):
        found[f"part order {number}"] = body
    queue = stack.client("sqs")
    for url in queue.list_queues().get("QueueUrls", []):
        for message in queue.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            found[f"queue {url.rsplit('/', 1)[-1]} {message['MessageId']}"] = message["Body"]
    return {where: text for where, text in found.items() if text and text not in ("{}", "[]")}


def _dimensions(logs: str) -> list[str]:
    """Every metric dimension value in the EMF lines."""
    values: list[str] = []
    for line in logs.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line[line.index("{") :])
        for directive in document["_aws"].get("CloudWatchMetrics", []):
            for names in directive.get("Dimensions", []):
                values += [str(document.get(name, "")) for name in names]
    return values


@pytest.mark.parametrize(
    ("crash_at", "part_bytes"), [(None, 0), (25, 0), (45, 0), (None, 2048), (45, 2048)]
)
def test_no_phi_at_debug_level_through_crashes_quarantine_and_reports(
    crash_at: int | None, part_bytes: int
) -> None:
    """With PartBytes small, the 834 is cut in parts: orders and part logs are checked too."""
    data, generated = _834(
        members=30, sets_per_group=2, seed=81, errors=["bad_ins03:4", "bad_dtp_date:9"]
    )
    surname = (
        "QUORTLEBY"  # a person's name in an S3 key: never logged (reports name files to act on)
    )
    phi = canaries(generated)
    assert len(phi) > 60
    root, capture = logging.getLogger(), io.StringIO()
    handler = logging.StreamHandler(capture)
    root.addHandler(handler)
    level, root.level = root.level, logging.DEBUG  # whatever any library logs at DEBUG, too
    try:
        seen = _run_day(data, surname, crash_at, part_bytes)
    finally:
        root.removeHandler(handler)
        root.level = level
    seen["every logger at DEBUG (root)"] = capture.getvalue()
    leaks = [(where, value) for where, text in seen.items() for value in phi if value in text]
    assert leaks == []
    # A surname in an S3 key: the reports (and the workflow's work area they are made from,
    # expired in 7 days) and emails name files (people act on them), and a
    # failure-queue record holds the event Lambda failed on, whole (an S3 event names its
    # object: Lambda writes it, acktrack cannot strip it). Nowhere else: not in a part order,
    # a log line, a metric, object metadata, or the rest of a failure record.
    named = {where: _outside_the_event(text) for where, text in seen.items()
             if not where.startswith(("email ", "reports/", "work/"))}  # fmt: skip
    assert [where for where, text in named.items() if surname in text] == []
    assert any(where.startswith("part order") for where in named) == bool(part_bytes)
    FIGURES["canaries_checked"] += (len(phi) * len(seen)) + len(named)
    # The places named are searched because they held something.
    kinds = {where.split(" ")[0] for where in seen}
    assert {"logs", "metric", "email", "queue"} <= kinds, sorted(seen)
    assert any("(decoded)" in where and "csv" in where for where in seen), sorted(seen)
    if part_bytes:
        assert "part" in kinds
    assert all(
        logging.getLogger(name).level == logging.WARNING for name in ("botocore", "pynamodb")
    )


def _outside_the_event(text: str) -> str:
    """A failure-queue record without the event it carries (``requestPayload``), which must
    be the S3 event; any other text as it is."""
    try:
        record = json.loads(text)
    except ValueError:
        return text
    if not isinstance(record, dict) or "requestPayload" not in record:
        return text
    (event,) = record.pop("requestPayload")["Records"]
    assert event["eventSource"] == "aws:s3"  # the key is in the S3 event, and only there
    return json.dumps(record)


def _run_day(data: bytes, surname: str, crash_at: int | None, part_bytes: int) -> dict[str, str]:
    with fresh_stack({"LogLevel": "DEBUG", "PartBytes": part_bytes}) as stack:
        if crash_at:
            Faults("crash", crash_at).install()
        orders: list[str] = []  # the file workflow's data: the order lists, the starts' input

        def keep_orders(params: dict[str, Any], **_: Any) -> None:
            if str(params.get("Key", "")).startswith("work/parts/"):
                body = params["Body"]
                orders.append(body.decode() if isinstance(body, bytes) else str(body))

        clients.s3().meta.events.register("before-parameter-build.s3.PutObject", keep_orders)
        clients.stepfunctions().meta.events.register(
            "before-parameter-build.sfn.StartExecution",
            lambda params, **_: orders.append(params["input"]),
        )
        doomed = f"outbound/{surname}_doomed.834"  # fails every attempt: the failure queue

        def refuse(params: dict[str, Any], model: Any, **_: Any) -> None:
            if params.get("Key") == doomed:  # refused as S3 refuses: its message names the key
                arn = f"arn:aws:s3:::{params['Bucket']}/{doomed}"
                message = (f"User: arn:aws:sts::123456789012:assumed-role/ingest/x is not "
                           f"authorized to perform: s3:GetObject on resource: \"{arn}\"")  # fmt: skip
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}},
                                  model.name)  # fmt: skip

        clients.s3().meta.events.register("before-parameter-build.s3.GetObject", refuse)
        clients.s3().meta.events.register("before-parameter-build.s3.HeadObject", refuse)
        files = [
            File("outbound", f"{surname}_enrollment.834", data),  # a key that itself carries PHI
            File("outbound", f"{surname}_truncated.834", data[: len(data) * 2 // 3]),
            File("outbound", f"{surname}_doomed.834", data),
            File(
                "inbound",
                f"{surname}.999",
                respond(data, insurer_control=7001, sent_at=SENT + timedelta(hours=3)),
            ),
        ]
        bus = resources.capture_events(stack.client("events"), stack.client("sqs"), stack.event_bus)
        for file in files:
            deliver(stack, file)
        run = stack.run_schedule(AS_OF)
        assert run.ok
        assert stack.publish_events().ok
        events = resources.failures(stack.client("sqs"), [bus])  # as a rule on the bus gets them
        assert {event["detail-type"] for event in events} >= {
            "FileQuarantined",
            "EnrollmentRejected",
        }
        seen = {**places(stack, orders), "events on the bus": json.dumps(events)}
        failed = [json.loads(text) for where, text in seen.items()
                  if where.startswith("queue ") and '"requestPayload"' in text]  # fmt: skip
        # The doomed file's event, whole, as Lambda's on-failure destination writes it, with
        # the error as Lambda records it: its message and stack trace are searched too.
        assert failed and all(surname in json.dumps(r["requestPayload"]) for r in failed)
        for record in failed:
            error = record["responsePayload"]
            assert error["errorType"] and error["errorMessage"] and error["stackTrace"], error
        logs = seen["logs (every logger at DEBUG, EMF)"]
        assert '"level":"DEBUG"' in logs and '"message":"object detail"' in logs  # really DEBUG
        if crash_at:
            failed = "ingest failed" in logs or "part failed" in logs
            assert failed and "InjectedCrash" in logs  # logged, with its exception
        if part_bytes:
            assert '"message":"part processed"' in logs
        report = next(
            text for where, text in seen.items() if where.endswith(".json") and "reports/" in where
        )
        assert "quarantined" in report and '"members_sent": 30' in report
        # Keys are PHI too: logs carry their hash only (reports name files so people can act).
        for file in files:
            assert file.key not in logs and surname not in logs
        return seen


def test_an_oversized_file_is_refused_before_it_is_read() -> None:
    data, _ = _834(members=40, seed=82)
    with fresh_stack({"MaxObjectBytes": 4096}) as stack:
        reads: list[str] = []
        clients.s3().meta.events.register(
            "before-call.s3.GetObject", lambda **_: reads.append("get")
        )
        (result,) = deliver(stack, File("outbound", "huge.834", data))
        assert result.ok and reads == []
        run = stack.run_schedule(AS_OF)
        assert run.ok
        (quarantined,) = run.result["summary"] and _quarantined(stack)
        assert quarantined["key"] == "outbound/huge.834"
        assert (
            f"the file is {len(data):,} bytes; files over 4,096 bytes are refused before reading"
            in quarantined["reason"]
        )


def _quarantined(stack: Any) -> list[dict[str, Any]]:
    from acktrack.handlers import wiring

    return [
        {"key": item.key, "reason": item.reason} for item in wiring.repository().quarantined("2000")
    ]
