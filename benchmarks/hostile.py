"""`make bench` (hostile part): files shaped to exhaust a reader, each read by every path an
insurer's file can take, in a fresh process per measurement (peak RSS: the process and the
largest of its workers, as ``run.py`` counts them).

Paths: the outbound and inbound functions' code (``ingest_outbound``, ``ingest_inbound``:
pass 1, then quarantine; a file-backed source and a store that records the outcome), the
part planner alone (``plan_parts`` at PartBytes, 32 MiB), and ``acktrack parse`` as text
and as JSON (two processes from 2 MiB). Each file is generated on the fly under
benchmarks/.data and deleted after its measurements. Prints one JSON line.

    python benchmarks/hostile.py --mb 512
    python benchmarks/hostile.py --mb 2048 --shapes no_terminator,tiny_segments
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from acktrack.synthetic.hostile import CANARY, SHAPES, write_hostile

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
MB = 1 << 20
PART_BYTES = 32 * MB  # the template's PartBytes default
# path -> peak RSS bound (MB)
WORKLOADS = {"outbound": 256, "inbound": 256, "planner": 256, "parse": 160, "parse_json": 160}


# -- workloads (each runs inside a child process) --------------------------------------------


class FileSource:
    """The ``ObjectSource`` port over a local file; quarantine keeps the reason."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reasons: list[str] = []

    @contextmanager
    def open(self, ref: Any, start: int = 0, end: int | None = None) -> Iterator[BinaryIO]:
        from acktrack.x12.parallel import RangeStream

        with self.path.open("rb") as stream:
            yield RangeStream(stream, start, end)  # type: ignore[misc]

    def quarantine(self, ref: Any, reason: str) -> str:
        self.reasons.append(reason)
        return "quarantine/" + ref.key


class Stored(Exception):
    """The file was read and its acknowledgment handed to the store: not a refused file."""


class OutcomeOnly:
    """The store a refused file reaches: its outcome is recorded, nothing else is asked. A
    file that is read instead stops here when its acknowledgment reaches the store."""

    def __init__(self) -> None:
        self.outcomes: list[Any] = []

    def record_object(self, ref: Any, outcome: Any) -> None:
        self.outcomes.append(outcome)

    def put_ack(self, detail: dict[str, Any]) -> Any:
        raise Stored


def _ingest(path: Path, inbound: bool) -> dict[str, Any]:
    from acktrack.domain.ports import PipelineConfig
    from acktrack.domain.tracked import ObjectRef
    from acktrack.ingest.inbound import ingest_inbound
    from acktrack.ingest.outbound import ingest_outbound

    key = "inbound/HEALTHPLAN01/hostile.x12" if inbound else "outbound/hostile.834"
    ref = ObjectRef("bucket", key, size=path.stat().st_size, received_at=datetime.now(UTC))
    source, store = FileSource(path), OutcomeOnly()
    config = PipelineConfig(our_sender_ids=("ACKTRACKEXCH",), part_bytes=PART_BYTES)
    ingest = ingest_inbound if inbound else ingest_outbound
    try:
        outcome = ingest(ref, source, store, config)  # type: ignore[arg-type]
    except Stored:
        return {"outcome": "stored", "reason": "", "canary_in_reason": False}
    reason = outcome.reason
    return {"outcome": str(outcome.outcome.value), "reason": reason,
            "canary_in_reason": CANARY.decode() in reason}  # fmt: skip


def _planner(path: Path) -> dict[str, Any]:
    from acktrack.x12.ranges import plan_parts

    with path.open("rb") as stream:
        return {"ranges": len(plan_parts(stream, path.stat().st_size, PART_BYTES))}


def _parse(path: Path, as_json: bool) -> dict[str, Any]:
    from acktrack.x12.describe import describe
    from acktrack.x12.errors import UnreadableX12

    try:
        with path.open("rb") as stream, open(os.devnull, "w") as out:
            summary = describe(stream, out, name=path.name, as_json=as_json, path=path)
    except UnreadableX12 as error:  # the command's exit 2, with this reason
        return {"unreadable": error.reason}
    return {"findings": dict(summary.findings_by_severity)}


RUN: dict[str, Callable[[Path], dict[str, Any]]] = {
    "outbound": lambda path: _ingest(path, inbound=False),
    "inbound": lambda path: _ingest(path, inbound=True),
    "planner": _planner,
    "parse": lambda path: _parse(path, as_json=False),
    "parse_json": lambda path: _parse(path, as_json=True),
}


def _child(workload: str, path: str) -> None:
    started = time.perf_counter()
    result = RUN[workload](Path(path))
    result["seconds"] = time.perf_counter() - started
    # Own peak from VmHWM (ru_maxrss keeps the parent's from before exec); the workers' from
    # RUSAGE_CHILDREN (the largest waited-for child). Both in KiB.
    status = Path("/proc/self/status").read_text()
    own = int(status.split("VmHWM:", 1)[1].split()[0])
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_rss_mb"] = (own + workers) / 1024
    print(json.dumps(result))


def measure(shape: str, size: int, workloads: list[str]) -> dict[str, Any]:
    """Write the shape (a megabyte under ``size``, for its envelopes: a file over
    MaxObjectBytes would be refused by its size), run each workload in a fresh process,
    delete the file."""
    DATA.mkdir(exist_ok=True)
    path = DATA / f"hostile_{shape}.x12"
    with path.open("wb") as out:
        write_hostile(shape, out, size - MB)
    figures: dict[str, Any] = {"label": SHAPES[shape][0], "bytes": path.stat().st_size}
    try:
        for workload in workloads:
            print(f"  {shape}: {workload} ...", file=sys.stderr, flush=True)
            output = subprocess.run(
                [sys.executable, __file__, "--child", workload, str(path)],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            figures[workload] = json.loads(output.strip().splitlines()[-1])
    finally:
        path.unlink()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--mb", type=int, default=512, help="size of each hostile file (MiB)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shapes")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated paths")
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    shapes = [name for name in args.shapes.split(",") if name]
    workloads = [name for name in args.workloads.split(",") if name]
    unknown = (set(shapes) - set(SHAPES)) | (set(workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    figures = {
        "mb": args.mb,
        "bounds": WORKLOADS,
        "shapes": {shape: measure(shape, args.mb * MB, workloads) for shape in shapes},
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
