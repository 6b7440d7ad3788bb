"""`acktrack replay`: drop files into the local stack's buckets, then run the report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from acktrack.local.stack import LocalStack

FOLDERS = ("outbound", "inbound")


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
    """The S3 key for ``path``: the path below its last outbound/ or inbound/ folder, with
    that folder (``day/inbound/HARBOR/x.999`` -> ``inbound/HARBOR/x.999``); None if none."""
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
                f"{path}: put it in a folder named outbound/ (834s you sent) or inbound/ "
                "(TA1, 999 and 834s insurers sent back, optionally in inbound/<insurer id>/); "
                "the folder says which bucket it goes to"
            )


@dataclass
class ReplayResult:
    report: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)
    emails: list[bytes] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {**self.report, "files": self.files, "failed_events": len(self.failures)}


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
) -> ReplayResult:
    """Run the day described by ``paths`` on a fresh local stack; return the report."""
    check_paths(paths)
    overrides = dict(parameters or {})
    if sla_hours is not None:
        overrides["AckSlaHours"] = sla_hours
    if effectuation_days is not None:
        overrides["EffectuationSlaDays"] = effectuation_days
    if part_bytes is not None:
        overrides["PartBytes"] = part_bytes
    moment = (as_of or datetime.now(UTC)).astimezone(UTC)
    with LocalStack(find_template(template), overrides) as stack:
        delivered: set[str] = set()
        files = []
        for number, path in enumerate(paths, start=1):
            key = object_key(path) or ""
            bucket = stack.bucket("Outbound" if key.startswith("outbound/") else "Inbound")
            if key in delivered:
                invocations = stack.redeliver(bucket, key)  # the same object, delivered again
            else:
                invocations = stack.put(bucket, key, path.read_bytes())
                delivered.add(key)
            results = [
                outcome for i in invocations if i.ok for outcome in i.result.get("objects", [])
            ]
            entry = {
                "path": str(path),
                "key": key,
                **(results[0] if results else {"outcome": "failed"}),
            }
            entry.pop("object", None)
            if entry.get("outcome") == "fanned_out":  # its parts ran through the parts queue
                failed = [i for i in invocations if not i.ok or i.result.get("batchItemFailures")]
                entry["outcome"] = "failed" if failed else "tracked"
            files.append(entry)
            if progress is not None:
                progress(number, len(paths), key, entry.get("outcome", ""))
        run = stack.run_schedule(moment)
        if not run.ok:
            raise ReplayError(f"the report function failed: {run.error}")
        archive = run.result.get("archive", {})
        body = (
            stack.client("s3")
            .get_object(Bucket=archive["bucket"], Key=archive["json"])["Body"]
            .read()
        )
        return ReplayResult(json.loads(body), files, stack.sent_emails(), stack.failures())


def save_emails(emails: list[bytes], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number, message in enumerate(emails, start=1):
        path = folder / f"report-{number:02d}.eml"
        path.write_bytes(message)
        written.append(path)
    return written
