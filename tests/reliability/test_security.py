"""PHI canaries at every log level and through failures; raw keys never logged; oversized
files refused before reading (moto in process)."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from acktrack.aws import clients
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


def places(stack: Any) -> dict[str, str]:
    """Everything a person or a system other than the tracking table could read."""
    found: dict[str, str] = {"logs and metrics (EMF)": stack.logs.getvalue()}
    s3 = stack.client("s3")
    for role in ("Reports", "Outbound", "Inbound"):
        bucket = stack.bucket(role)
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            head = s3.head_object(Bucket=bucket, Key=item["Key"])
            found[f"{role} {item['Key']} metadata"] = json.dumps(head.get("Metadata", {}))
            if role == "Reports":
                found[item["Key"]] = (
                    s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8")
                )
    for number, raw in enumerate(stack.sent_emails()):
        found[f"email {number}"] = raw.decode("utf-8", "replace")
    queue = stack.client("sqs")
    for url in queue.list_queues().get("QueueUrls", []):
        for message in queue.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            found[f"failure queue {url.rsplit('/', 1)[-1]}"] = message["Body"]
    return found


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
    seen["every logger at DEBUG"] = capture.getvalue()
    leaks = [(where, value) for where, text in seen.items() for value in phi if value in text]
    assert leaks == []
    FIGURES["canaries_checked"] += len(phi) * len(seen)
    assert all(
        logging.getLogger(name).level == logging.WARNING for name in ("botocore", "pynamodb")
    )


def _run_day(data: bytes, surname: str, crash_at: int | None, part_bytes: int) -> dict[str, str]:
    with fresh_stack({"LogLevel": "DEBUG", "PartBytes": part_bytes}) as stack:
        if crash_at:
            Faults("crash", crash_at).install()
        files = [
            File("outbound", f"{surname}_enrollment.834", data),  # a key that itself carries PHI
            File("outbound", f"{surname}_truncated.834", data[: len(data) * 2 // 3]),
            File(
                "inbound",
                f"{surname}.999",
                respond(data, insurer_control=7001, sent_at=SENT + timedelta(hours=3)),
            ),
        ]
        for file in files:
            deliver(stack, file)
        run = stack.run_schedule(AS_OF)
        assert run.ok
        seen = places(stack)
        logs = seen["logs and metrics (EMF)"]
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
    from acktrack import runtime

    return [{"key": item.key, "reason": item.reason} for item in runtime.repository().quarantined()]
