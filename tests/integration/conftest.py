"""Integration fixtures: the template's stack inside moto's in-process mock.

The same wiring the local stack and Lambda use (template.yaml, handlers, settings),
without the HTTP hop, so each case runs in well under a second.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from acktrack.handlers import wiring
from acktrack.local.stack import EmbeddedStack
from acktrack.synthetic.acknowledgments import respond, write_999, write_ta1
from acktrack.synthetic.enrollment import EnrollmentSpec, GeneratedFile, write_834

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SENT = datetime(2024, 1, 15, 12, 0)


class Day:
    """Sends, answers and reports on one stack; every file goes through the handlers."""

    def __init__(self, stack: EmbeddedStack) -> None:
        self.stack = stack
        self.outbound = stack.bucket("Outbound")
        self.inbound = stack.bucket("Inbound")
        self.controls = iter(range(900_001, 999_999))

    def send(self, name: str, **spec: Any) -> tuple[bytes, GeneratedFile]:
        buffer = io.BytesIO()
        generated = write_834(EnrollmentSpec(**{"sent_at": SENT, **spec}), buffer)
        self.drop("outbound", name, buffer.getvalue())
        return buffer.getvalue(), generated

    def drop(self, folder: str, name: str, data: bytes, deliveries: int = 1) -> list[Any]:
        bucket = self.outbound if folder == "outbound" else self.inbound
        return self.stack.put(bucket, f"{folder}/{name}", data, deliveries=deliveries)

    def answer(self, name: str, data: bytes, *, with_ta1: bool = True, hours: float = 5) -> bytes:
        reply = respond(
            data,
            insurer_control=next(self.controls),
            sent_at=SENT + timedelta(hours=hours),
            with_ta1=with_ta1,
        )
        self.drop("inbound", name, reply)
        return reply

    def answer_999(
        self, name: str, *, insurer: str, groups: list[Any], us: str = "ACKTRACKEXCH"
    ) -> bytes:
        buffer = io.BytesIO()
        write_999(
            buffer,
            sender_id=insurer,
            receiver_id=us,
            interchange_control=next(self.controls),
            sent_at=SENT + timedelta(hours=6),
            groups=groups,
        )
        self.drop("inbound", name, buffer.getvalue())
        return buffer.getvalue()

    def answer_ta1(
        self,
        name: str,
        *,
        insurer: str,
        control: str,
        status: str,
        note: str = "000",
        date: str = "240115",
        time: str = "1200",
        us: str = "ACKTRACKEXCH",
    ) -> bytes:
        buffer = io.BytesIO()
        write_ta1(
            buffer,
            sender_id=insurer,
            receiver_id=us,
            interchange_control=next(self.controls),
            sent_at=SENT + timedelta(hours=1),
            acknowledged_control=control,
            acknowledged_date=date,
            acknowledged_time=time,
            status=status,
            note=note,
        )
        self.drop("inbound", name, buffer.getvalue())
        return buffer.getvalue()

    def report(self, as_of: datetime | None = None) -> dict[str, Any]:
        run = self.stack.run_schedule(as_of or datetime(2024, 1, 20, 7, 0, tzinfo=UTC))
        assert run.ok, run.error
        archive = run.result["archive"]
        body = (
            self.stack.client("s3")
            .get_object(Bucket=archive["bucket"], Key=archive["json"])["Body"]
            .read()
        )
        return json.loads(body)

    def table(self) -> list[dict[str, Any]]:
        """Every item (test-only scan), for comparing final states."""
        dynamodb = self.stack.client("dynamodb")
        items, start = [], None
        while True:
            page = dynamodb.scan(
                TableName=self.stack.table, **({"ExclusiveStartKey": start} if start else {})
            )
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))

    def emails(self) -> list[Any]:
        import email
        from email import policy

        return [
            email.message_from_bytes(raw, policy=policy.default) for raw in self.stack.sent_emails()
        ]

    def metrics(self, insurer: str | None = None) -> Counter[str]:
        """Metric values the handlers emitted (EMF lines in the captured function output):
        the overall figures, or one insurer's (its ``insurer`` dimension)."""
        found: Counter[str] = Counter()
        for line in self.stack.logs.getvalue().splitlines():
            if '"_aws"' not in line:
                continue
            document = json.loads(line)
            if document.get("insurer") != insurer:
                continue
            for definition in document["_aws"]["CloudWatchMetrics"]:
                for metric in definition["Metrics"]:
                    values = document[metric["Name"]]
                    found[metric["Name"]] += sum(values) if isinstance(values, list) else values
        return found


@contextmanager
def requests() -> Iterator[Counter[str]]:
    """Count DynamoDB API calls the handlers make (a botocore hook on the shared client)."""
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    client = wiring.repository().client
    client.meta.events.register("before-call.dynamodb", count)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)


@pytest.fixture
def parameters() -> dict[str, Any]:
    """Template parameter overrides (a test module can override this fixture)."""
    return {}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, parameters: dict[str, Any]) -> Iterator[EmbeddedStack]:
    with mock_aws():
        local = EmbeddedStack(TEMPLATE, parameters, server=False).start()
        # The container's repository exists before the first event (handlers reuse it, warm),
        # so request-counting hooks see every call.
        monkeypatch.setenv("TABLE_NAME", local.table)
        wiring.repository()
        try:
            yield local
        finally:
            local.stop()


ARRIVAL = datetime(2024, 1, 19, 12, 0, tzinfo=UTC)  # every file arrives after it was dated


@pytest.fixture
def day(stack: EmbeddedStack) -> Day:
    """A day whose files arrive at ``ARRIVAL`` (set ``day.stack.clock = None`` for now)."""
    stack.clock = lambda: ARRIVAL
    return Day(stack)


def send_family_answered(day: Day, person: Any, control: int, sent: datetime, status: str) -> None:
    """One family of ``person`` under subscriber 500000001 in interchange and group
    ``control``, sent at ``sent``, then a 999 that evening: its set accepted (``A``) or
    rejected (``R``, code 5)."""
    import io

    from acktrack.synthetic.acknowledgments import GroupResponse, SetResponse, write_999
    from acktrack.synthetic.families import Family, FamilyFile, family_834

    day.drop("outbound", f"{control}.834",
             family_834(FamilyFile(control, control, sent, [Family("500000001", [person])])))  # fmt: skip
    buffer = io.BytesIO()
    write_999(buffer, sender_id="HEALTHPLAN01", receiver_id="ACKTRACKEXCH",
              interchange_control=800_000 + control, sent_at=sent.replace(hour=18),
              groups=[GroupResponse(str(control), [SetResponse("0001", status,
                                                               codes=["5"] if status == "R" else [])])])  # fmt: skip
    day.drop("inbound", f"{control}.999", buffer.getvalue())
