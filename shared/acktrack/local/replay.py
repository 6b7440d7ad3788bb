"""`acktrack replay`: drop files into the local stack's buckets, then run the report."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acktrack.domain.population import is_audit
from acktrack.ingest.reconciliation import looks_like_extract
from acktrack.local import resources
from acktrack.local.stack import EmbeddedStack
from acktrack.report.document import ReportDocument
from acktrack.x12.tokenizer import iter_segments

if TYPE_CHECKING:
    from acktrack.local.trace import RequestTrace

FOLDERS = ("outbound", "inbound", "expected")


class ReplayError(ValueError):
    """A path or option cannot be replayed; the message says which and why."""


def find_template(explicit: Path | None = None) -> Path:
    """template.yaml: given, or in this folder or above, or beside the package checkout."""
    if explicit is not None:
        if not explicit.is_file():
            raise ReplayError(f"{explicit}: no such template")
        return explicit
    for folder in (Path.cwd(), *Path.cwd().parents):
        candidate = folder / "template.yaml"
        if candidate.is_file():
            return candidate
    checkout = Path(__file__).resolve().parents[3] / "template.yaml"
    if checkout.is_file():
        return checkout
    raise ReplayError("template.yaml not found: run from the acktrack checkout or pass --template")


def object_key(path: Path) -> str | None:
    """The S3 key for ``path``: the path below its last outbound/, inbound/ or expected/
    folder, with that folder (``day/inbound/HARBOR/x.999`` -> ``inbound/HARBOR/x.999``); None if none."""
    parts = path.parts
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] in FOLDERS:
            return "/".join(parts[index:])
    return None


def check_paths(paths: list[Path]) -> None:
    for path in paths:
        if not path.is_file():
            raise ReplayError(f"{path}: no such file")
        if object_key(path) is None:
            raise ReplayError(
                f"{path}: put it in a folder named outbound/ (834s you sent), inbound/ "
                "(TA1, 999 and 834s insurers sent back, optionally in inbound/<insurer id>/, where an "
                "insurer's population must be) or expected/ (your system's extract of the "
                "enrollment actions it took); "
                "the folder says which bucket it goes to"
            )


@dataclass
class ReplayResult:
    report: ReportDocument  # the last report run
    files: list[dict[str, Any]] = field(default_factory=list)
    emails: list[bytes] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    reports: list[ReportDocument] = field(default_factory=list)  # each run, in order
    events: list[dict[str, Any]] = field(default_factory=list)  # as the bus delivered them

    def to_json(self) -> dict[str, Any]:
        return {**self.report, "files": self.files, "failed_events": len(self.failures)}

    def to_json_all(self) -> dict[str, Any]:
        """Every report run (``report_at``), in order, then the files."""
        return {"reports": self.reports, "files": self.files, "failed_events": len(self.failures)}


def replay(
    paths: list[Path],
    *,
    as_of: datetime | None = None,
    sla_hours: float | None = None,
    effectuation_days: int | None = None,
    part_bytes: int | None = None,
    template: Path | None = None,
    parameters: dict[str, Any] | None = None,
    progress: Any = None,
    concurrency: int = 1,
    before_report: Callable[[EmbeddedStack], None] | None = None,
    server: bool = True,
    report_at: list[datetime] | None = None,
    trace: RequestTrace | None = None,
    capture_events: bool = False,
) -> ReplayResult:
    """Run the day described by ``paths`` on a fresh local stack; return the report.
    ``server=False``: inside moto's in-process mock (the caller's ``mock_aws``), no HTTP.
    ``report_at``: the scheduled report at each of these times, in the order given, instead
    of the one at ``as_of``. ``trace``: each invocation's DynamoDB requests.
    ``capture_events``: keep the events the bus delivered (a rule to a queue of its own)."""
    check_paths(paths)
    if report_at and as_of is not None:
        raise ReplayError("give --as-of (one report) or --report-at (each a report), not both")
    overrides = dict(parameters or {})
    if sla_hours is not None:
        overrides["AckSlaHours"] = sla_hours
    if effectuation_days is not None:
        overrides["EffectuationSlaDays"] = effectuation_days
    if part_bytes is not None:
        overrides["PartBytes"] = part_bytes
    if concurrency < 1:
        raise ReplayError(f"--concurrency {concurrency}: give at least 1 worker")
    moments = [moment.astimezone(UTC) for moment in report_at or [as_of or datetime.now(UTC)]]
    stack = EmbeddedStack(find_template(template), overrides, server=server, trace=trace)
    with stack:
        captured = resources.capture_events(stack.client("events"), stack.client("sqs"),
                                            stack.event_bus) if capture_events else None  # fmt: skip
        deliveries = _deliveries(stack, paths)
        files: list[dict[str, Any] | None] = [None] * len(deliveries)
        done = 0

        def deliver(number: int) -> None:
            nonlocal done
            path, bucket, key, event = deliveries[number]
            entry = _entry(path, key, stack.deliver_event(bucket, key, event))
            files[number] = entry
            done += 1
            if progress is not None:
                progress(done, len(deliveries), key, entry.get("outcome", ""))

        if concurrency == 1:
            for number in range(len(deliveries)):
                deliver(number)
        else:
            # As Lambda would: up to N invocations at once, each file's event to the next
            # free worker; a file delivered twice may meet its own first delivery. A
            # population is held against what had arrived before it, so it waits for the
            # files listed before it (and the files after it for it).
            with ThreadPoolExecutor(concurrency) as pool:
                for wave in delivery_waves([path for path, *_ in deliveries]):
                    with stack.concurrently():
                        for future in [pool.submit(deliver, n) for n in wave]:
                            future.result()
                    stack.pump()  # orders visible again after their worker finished
        for (_, bucket, key, _), entry in zip(deliveries, files, strict=True):
            if entry is not None and entry.get("outcome") == "fanned_out":
                # Its parts ran in the file workflow, whose Finish recorded the outcome.
                entry["outcome"] = _recorded_outcome(stack, bucket, key)
        if before_report is not None:
            before_report(stack)  # what operators did during the day (acktrack resolve)
        _publish(stack)  # the publisher's schedule runs every minute meanwhile
        reports = []
        for moment in moments:
            reports.append(_report(stack, moment))
            _publish(stack, moment)
        events = resources.failures(stack.client("sqs"), [captured]) if captured else []
        return ReplayResult(
            reports[-1], [entry for entry in files if entry is not None],
            stack.sent_emails(), stack.failures(), reports, events,
        )  # fmt: skip


def _publish(stack: EmbeddedStack, moment: datetime | None = None) -> None:
    run = stack.publish_events(moment)
    if not run.ok:
        raise ReplayError(f"the events publisher failed: {run.error}")


def save_events(events: list[dict[str, Any]], folder: Path) -> list[Path]:
    """Each event as the bus delivered it, one JSON file each, in the order published."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number, event in enumerate(events, start=1):
        event_id = str(event.get("detail", {}).get("event_id", ""))[:12]
        path = folder / f"{number:04d}-{event.get('detail-type', 'event')}-{event_id}.json"
        path.write_text(json.dumps(event, indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written


def _report(stack: EmbeddedStack, moment: datetime) -> ReportDocument:
    """The scheduled report at ``moment``, as archived."""
    run = stack.run_schedule(moment)
    if not run.ok:
        raise ReplayError(f"the report function failed: {run.error}")
    archive = run.result.get("archive", {})
    body = stack.client("s3").get_object(Bucket=archive["bucket"], Key=archive["json"])["Body"]
    report: ReportDocument = json.loads(body.read())
    return report


def _deliveries(
    stack: EmbeddedStack, paths: list[Path]
) -> list[tuple[Path, str, str, dict[str, Any]]]:
    """Each path's object stored once (in order); a path naming an object already stored
    is that object's event delivered again."""
    events: dict[str, dict[str, Any]] = {}
    deliveries = []
    for path in paths:
        key = object_key(path) or ""
        outbound = key.startswith(("outbound/", "expected/"))  # both in the outbound bucket
        bucket = stack.bucket("Outbound" if outbound else "Inbound")
        if key not in events:
            events[key] = stack.store(bucket, key, path.read_bytes())
        deliveries.append((path, bucket, key, events[key]))
    return deliveries


def delivery_waves(paths: list[Path]) -> list[list[int]]:
    """Delivery numbers in waves run at once; each population is a wave of its own."""
    waves: list[list[int]] = [[]]
    for number, path in enumerate(paths):
        if is_population(path):
            waves += [[number], []]
        else:
            waves[-1].append(number)
    return [wave for wave in waves if wave]


def is_population(path: Path) -> bool:
    """An insurer's whole population: an extract, or an 834 whose BGN08 says audit."""
    with path.open("rb") as stream:
        head = stream.read(4096)
        if looks_like_extract(head):
            return True
        stream.seek(0)
        try:
            for segment in iter_segments(stream):
                if segment.id == "BGN":
                    return len(segment.elements) > 8 and is_audit(segment.elements[8])
                if segment.id in ("AK1", "TA1", "INS"):
                    return False
        except ValueError:  # unreadable X12 or text: not a population
            return False
    return False


def _entry(path: Path, key: str, invocations: list[Any]) -> dict[str, Any]:
    results = [outcome for i in invocations if i.ok for outcome in i.result.get("objects", [])]
    entry = {"path": str(path), "key": key, **(results[0] if results else {"outcome": "failed"})}
    entry.pop("object", None)
    return entry


def _recorded_outcome(stack: EmbeddedStack, bucket: str, key: str) -> str:
    """What the table says happened to an object ("failed": nothing recorded)."""
    from acktrack.store.keys import object_pk

    items = stack.client("dynamodb").query(
        TableName=stack.table, KeyConditionExpression="pk = :pk", ConsistentRead=True,
        ExpressionAttributeValues={":pk": {"S": object_pk(bucket, key)}},
    )["Items"]  # fmt: skip
    return str(items[0]["outcome"]["S"]) if items else "failed"


def save_emails(emails: list[bytes], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number, message in enumerate(emails, start=1):
        path = folder / f"report-{number:02d}.eml"
        path.write_bytes(message)
        written.append(path)
    return written
