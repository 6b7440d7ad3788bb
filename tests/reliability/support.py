"""A small but complete day of files, a fresh in-process stack per run, and the final state.

The state is every table item plus the report, with only what differs between two runs
of the same files taken out: wall-clock times, moto's random S3 version ids, and which of
two byte-identical copies arrived first (a copy's key is mapped to the original's).
"""

from __future__ import annotations

import base64
import io
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ReadTimeoutError
from moto import mock_aws

from acktrack.handlers import wiring
from acktrack.local.stack import EmbeddedStack
from acktrack.store.models import unpack_hashes
from acktrack.synthetic.acknowledgments import (
    GroupResponse,
    SetResponse,
    respond,
    write_999,
    write_ta1,
)
from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from acktrack.synthetic.resend import resend_sets

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SENT = datetime(2024, 1, 15, 12, 0)
ARRIVAL = datetime(2024, 1, 19, 12, 0, tzinfo=UTC)  # after every file's envelope date
AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
US, PLAN, OTHER = "ACKTRACKEXCH", "HEALTHPLAN01", "OTHERPLAN02"
VOLATILE = frozenset({"received_at", "first_seen", "created_at"})

# Figures for docs/RELIABILITY.md, printed at the end of the session (see conftest).
FIGURES: Counter[str] = Counter()


class LostInsideRetries:
    """An answer lost inside botocore's retries, on one client: once ``arm()`` is called, the
    next request this thread sends reaches moto and is applied, then its answer is lost (a
    read timeout) where botocore's retry handler sees it. The client's own configuration
    decides what follows: the SDK sends the same request again (same body, same idempotency
    token), or gives up. Only a botocore hook (``before-send``, which runs before moto's
    in-process stub) is added; no code of acktrack's is replaced."""

    def __init__(self, client: Any) -> None:
        from moto.core.models import botocore_stubber

        self._moto = botocore_stubber
        self._armed: int | None = None
        self._lost_on: int | None = None
        self.lost = 0  # answers lost
        self.resent = 0  # of those, requests the SDK sent again
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-send.{service}", self._send)

    def arm(self, *, any_thread: bool = False) -> None:
        """The next request of this thread (or of whichever thread sends one next: the
        report's tasks run in the workflow's threads)."""
        self._armed = -1 if any_thread else threading.get_ident()

    def _send(self, request: Any, event_name: str, **_: Any) -> None:
        thread = threading.get_ident()
        if self._lost_on == thread:  # botocore retries on the thread that sent
            self._lost_on = None
            self.resent += 1
        if self._armed not in (thread, -1):
            return
        self._armed = None
        assert self._moto.enabled, "an answer is lost only on moto's in-process stack"
        self._moto(event_name, request)  # applied, as AWS would have
        self.lost += 1
        self._lost_on = thread
        raise ReadTimeoutError(endpoint_url=f"{request.url} (injected: applied, answer lost)")


def budget(name: str, default: int) -> int:
    """A run's size: small in `make test`, larger with ACKTRACK_<NAME> (see `make reliability`)."""
    return int(os.environ.get(f"ACKTRACK_{name.upper()}", default))


@dataclass(frozen=True)
class File:
    folder: str  # outbound | inbound | expected
    name: str
    data: bytes

    @property
    def key(self) -> str:
        return f"{self.folder}/{self.name}"


def _834(**spec: Any) -> bytes:
    buffer = io.BytesIO()
    write_834(EnrollmentSpec(**{"sent_at": SENT, **spec}), buffer)
    return buffer.getvalue()


def build_day() -> list[File]:
    """Two insurers; a partial rejection with IK3/IK4 detail, and the rejected set resent and
    accepted; a TA1 rejection; a copy under a second key; an effectuation; an acknowledgment
    for nothing; a file that is not X12."""
    plan = _834(
        members=14, sets_per_group=2, seed=71, errors=["bad_ins03:9"], subscriber_id_start=100000001
    )
    other = _834(
        members=6,
        seed=72,
        receiver_id=OTHER,
        interchange_control=2001,
        subscriber_id_start=200000001,
    )
    later = _834(members=5, seed=73, interchange_control=1002, first_group_control=2,
                 sent_at=SENT + timedelta(hours=2), subscriber_id_start=300000001)  # fmt: skip
    insurer = io.BytesIO()
    write_effectuation(plan, insurer, EffectuationSpec(insurer_control=6001, sent_at=SENT + timedelta(days=2),
                                                       skip={3}, shift_dates={5}))  # fmt: skip
    ta1 = io.BytesIO()
    write_ta1(ta1, sender_id=OTHER, receiver_id=US, interchange_control=8001, sent_at=SENT + timedelta(hours=1),
              acknowledged_control="000002001", acknowledged_date=SENT.strftime("%y%m%d"),
              acknowledged_time=SENT.strftime("%H%M"), status="R", note="024")  # fmt: skip
    # The rejected set, corrected and sent again the next day, then accepted: a resend.
    resend = resend_sets(plan, {"0002"}, interchange_control=1003, group_control=3,
                         sent_at=SENT + timedelta(days=1), corrections={("INS", 3, "099"): "021"})  # fmt: skip
    stray = io.BytesIO()
    write_999(stray, sender_id=PLAN, receiver_id=US, interchange_control=8002, sent_at=SENT + timedelta(hours=7),
              groups=[GroupResponse("77", [SetResponse("0001", "A")])])  # fmt: skip
    return [
        File("outbound", "plan.834", plan),
        File("outbound", "other.834", other),
        File("outbound", "later.834", later),
        File("outbound", "plan_copy.834", plan),
        File("outbound", "enrollments.xlsx", b"PK\x03\x04" + bytes(range(256))),
        File(
            "inbound",
            "plan.999",
            respond(plan, insurer_control=7001, sent_at=SENT + timedelta(hours=5)),
        ),
        File("inbound", "other_ta1.x12", ta1.getvalue()),
        File("outbound", "plan_resend.834", resend),
        File(
            "inbound",
            "plan_resend.999",
            respond(resend, insurer_control=7002, sent_at=SENT + timedelta(days=1, hours=2)),
        ),
        File("inbound", "stray.999", stray.getvalue()),
        File("inbound", "effectuation.834", insurer.getvalue()),
    ]


ALIASES = {"outbound/plan_copy.834": "outbound/plan.834"}


@contextmanager
def fresh_stack(parameters: dict[str, Any] | None = None) -> Iterator[EmbeddedStack]:
    """The template's stack inside moto's in-process mock, empty."""
    saved = os.environ.get("TABLE_NAME")
    with mock_aws():
        stack = EmbeddedStack(TEMPLATE, parameters or {}, server=False).start()
        stack.clock = lambda: ARRIVAL  # the same arrival in every run: comparable final states
        os.environ["TABLE_NAME"] = stack.table  # the container's repository exists before any event
        wiring.repository()
        try:
            yield stack
        finally:
            stack.stop()
            if saved is None:
                os.environ.pop("TABLE_NAME", None)
            else:
                os.environ["TABLE_NAME"] = saved


def deliver(stack: EmbeddedStack, file: File, deliveries: int = 1) -> list[Any]:
    outbound = file.folder in ("outbound", "expected")  # expected/: the outbound bucket too
    bucket = stack.bucket("Outbound" if outbound else "Inbound")
    return stack.put(bucket, file.key, file.data, deliveries=deliveries)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"S"} and isinstance(value["S"], str):
            return {"S": ALIASES.get(value["S"], value["S"])}
        return {k: _canonical(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, str):
        return ALIASES.get(value, value)
    return value


def table_state(stack: EmbeddedStack) -> dict[str, Any]:
    dynamodb = stack.client("dynamodb")
    items: list[dict[str, Any]] = []
    start = None
    while True:
        page = dynamodb.scan(
            TableName=stack.table, **({"ExclusiveStartKey": start} if start else {})
        )
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    state: dict[str, Any] = {}
    for item in items:
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if pk.startswith(("OUT#", "ANNOUNCED")):
            # The events' outbox and what the report announced: bookkeeping of the events,
            # compared as the events themselves (tests/e2e/test_events.py).
            continue
        if pk.startswith("STAT#"):
            # Counters as what they count, per insurer and sent day, summed over shards: an
            # order that adds then takes away leaves an item at zero, which counts nothing.
            day = state.setdefault(f"{pk}|{sk[:12]}", {})
            for name, value in item.items():
                if "N" in value:
                    day[name] = day.get(name, 0) + int(value["N"])
            continue
        if pk.startswith("OBJ#"):
            # The per-object processing log says what happened when the file came (a 999 before
            # its 834 was unmatched then); what it does to the state is compared everywhere else.
            state[f"{pk}|V#*"] = {
                "key": item["key"]["S"],
                "quarantined": item["outcome"]["S"] == "quarantined",
                "reason": item.get("reason", {}).get("S", ""),
            }
            continue
        fields = {**item}
        if "dh" in fields:  # keyed by each stack's own random key: the kinds present compared
            hashes = unpack_hashes(
                base64.b64decode(fields["dh"]["B"])
                if isinstance(fields["dh"]["B"], str)
                else fields["dh"]["B"]
            )
            fields["dh"] = {"SS": sorted({kind for kinds in hashes.values() for kind in kinds})}
        received = fields.get("received_at", {}).get("S")
        if received and fields.get("rs", {}).get("S", "").startswith(received):
            fields["rs"] = {"S": "<received_at>" + fields["rs"]["S"][len(received) :]}  # wall clock
        sources: set[str] = set()
        if "source_key" in item:
            sources.add(fields.pop("source_key")["S"])
        duplicates = fields.pop("duplicate_sources", {})
        sources |= set(duplicates.get("SS", [])) | {entry["S"] for entry in duplicates.get("L", [])}
        canonical = _canonical(fields)
        canonical["sources"] = sorted({ALIASES.get(s, s) for s in sources if s})
        state[f"{pk}|{sk}"] = canonical
    for key in [key for key in state if key.startswith("STAT#")]:
        state[key] = {name: n for name, n in state[key].items() if n}
        if not state[key]:
            del state[key]
    return state


def report_state(stack: EmbeddedStack, as_of: datetime = AS_OF) -> dict[str, Any]:
    run = stack.run_schedule(as_of)
    assert run.ok, run.error
    archive = run.result["archive"]
    body = (
        stack.client("s3").get_object(Bucket=archive["bucket"], Key=archive["json"])["Body"].read()
    )
    report = json.loads(body)
    report.pop("archive", None)
    return _canonical(report)  # type: ignore[no-any-return]


def final_state(stack: EmbeddedStack) -> dict[str, Any]:
    """Table and report (read before the report runs: the report writes nothing to the table)."""
    return {
        "table": table_state(stack),
        "report": report_state(stack),  # day 5: findings in the window
        "late_report": report_state(stack, AS_OF + timedelta(days=60)),  # past the effectuation SLA
    }


def run_day(
    order: Iterable[tuple[File, int]], hook: Callable[[EmbeddedStack], None] | None = None
) -> dict[str, Any]:
    with fresh_stack() as stack:
        if hook is not None:
            hook(stack)
        for file, deliveries in order:
            deliver(stack, file, deliveries)
        return final_state(stack)


def without_jobs(state: dict[str, Any]) -> dict[str, Any]:
    """Fan-out jobs are named after S3 version ids (random in moto): every job must have
    finished (its workflow's Finish) with each part's result kept once; the rest of the
    state is compared whole."""
    table = state["table"]
    jobs = {key: item for key, item in table.items() if key.startswith("JOB#")}
    heads = [item for key, item in jobs.items() if key.endswith("|JOB")]
    assert all(item["finished"] == {"BOOL": True} for item in heads)
    parts = sorted(int(item["parts"]["N"]) for item in heads)
    rest = {key: item for key, item in table.items() if key not in jobs}
    return {**state, "table": rest, "jobs": parts, "part_items": len(jobs) - len(heads)}


def run_concurrently(
    order: Iterable[File], workers: int = 4, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Each file stored once; its events (one per appearance in ``order``) delivered by
    ``workers`` threads at once, as Lambda runs concurrent invocations."""
    from concurrent.futures import ThreadPoolExecutor

    with fresh_stack(parameters) as stack:
        events: dict[str, dict[str, Any]] = {}
        plan = []
        for file in order:
            bucket = stack.bucket("Outbound" if file.folder == "outbound" else "Inbound")
            if file.key not in events:
                events[file.key] = stack.store(bucket, file.key, file.data)
            plan.append((bucket, file.key, events[file.key]))
        with stack.concurrently(), ThreadPoolExecutor(workers) as pool:
            for future in [pool.submit(stack.deliver_event, *delivery) for delivery in plan]:
                future.result()
        stack.pump()
        assert stack.failures() == []
        return final_state(stack)
