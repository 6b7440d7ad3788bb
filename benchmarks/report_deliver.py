"""`make bench` (report section): the report's last task, Deliver (the workflow's reduce
step), over 1,000,000 open people: measured, not extrapolated.

A real workflow runs first on the embedded stack (moto in a process of its own, so memory
is the handler's): ``--seed`` people sent in one 834 (``family``: one family a set;
``set1000``: 1,000 members a set), with ``--rejected`` a 999 rejecting every set (one IK3
error each), and the report at day 0. Its map batches' outputs (summary, people hashes,
rows as JSON and CSV pieces) are then copied, over and over, into the work area of the
next day's run until they hold ``--people`` open people; each copy gets people hashes of
its own (random 8-byte values), so people are counted as that many. The next day's plan
and sections tasks run for real; then Deliver merges the copies, assembles the archive by
multipart copy and emails, traced: its DynamoDB requests and its peak resident memory over
its start.

    python benchmarks/report_deliver.py --people 1000000 --shape family --rejected
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE)]

from report_scale import AS_OF, SENT, _seed  # noqa: E402

TARGET_MB = 512


def _reject_every_set(stack: Any, people: int, shape: str) -> None:
    """A 999 from the insurer rejecting every set of the seeded file (one IK3 in a member)."""
    from report_scale import _sets
    from write_paths import reject_every_set

    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    generated = write_834(EnrollmentSpec(seed=2013, members=people, sets_per_group=_sets(people, shape),
                                         sent_at=SENT), io.BytesIO())  # fmt: skip
    reply = reject_every_set(generated, SENT)
    results = stack.put(stack.bucket("Inbound"), "inbound/HEALTHPLAN01/reply.999", reply)
    assert all(result.ok for result in results), [result.error for result in results]


def _grow(s3: Any, bucket: str, source: str, target: str, people: int) -> tuple[int, int]:
    """Copy the batches under ``source`` into ``target`` until they hold ``people`` people
    (each copy with people hashes of its own); the batch count and the people."""
    names = sorted(
        entry["Key"].rsplit("/", 1)[1][len("batch-") : -len(".json")]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{source}/batch-")
        for entry in page.get("Contents", [])
        if entry["Key"].endswith(".json") and not entry["Key"].endswith(".rows.json")
    )  # fmt: skip
    assert names, f"no batch under {source}"
    held, count = 0, 0
    while held < people:
        name = names[count % len(names)]
        for suffix in ("rows.json", "rows.csv"):
            s3.copy_object(Bucket=bucket, Key=f"{target}/batch-{count:06d}.{suffix}",
                           CopySource={"Bucket": bucket, "Key": f"{source}/batch-{name}.{suffix}"})  # fmt: skip
        hashes = s3.get_object(Bucket=bucket, Key=f"{source}/batch-{name}.people")["Body"].read()
        s3.put_object(
            Bucket=bucket, Key=f"{target}/batch-{count:06d}.people", Body=os.urandom(len(hashes))
        )
        summary = json.loads(
            s3.get_object(Bucket=bucket, Key=f"{source}/batch-{name}.json")["Body"].read()
        )
        s3.put_object(
            Bucket=bucket, Key=f"{target}/batch-{count:06d}.json", Body=json.dumps(summary).encode()
        )
        held += len(hashes) // 8
        count += 1
    return count, held


def measure(people: int, shape: str, seed: int, rejected: bool) -> dict[str, Any]:
    from ingest import moto_apart

    from acktrack.local.stack import EmbeddedStack
    from acktrack.local.trace import RequestTrace
    from acktrack.report.plan import ReportRun

    with ExitStack() as stop:
        endpoint = stop.enter_context(moto_apart())
        stack = stop.enter_context(EmbeddedStack(ROOT / "template.yaml", {}, endpoint=endpoint))
        _seed(stack, seed, shape)
        if rejected:
            _reject_every_set(stack, seed, shape)
        first = stack.run_schedule(AS_OF)
        assert first.ok, first.error
        if rejected:  # the 999 matched every set: what is measured is a day of rejections
            assert first.result["summary"]["rejected"] == seed, first.result["summary"]
        day = (AS_OF + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        plan = stack.invoke("ReportPlanFunction", {"as_of": day}, asynchronous=False)
        assert plan.ok, plan.error
        event = plan.result
        sections = stack.invoke("ReportSectionsFunction", {"run": event["run"]}, asynchronous=False)
        assert sections.ok, sections.error
        bucket = event["batches"]["bucket"]
        target = f"work/{ReportRun.from_dict(event['run']).stamp}"
        source = f"work/{ReportRun.from_dict({**event['run'], 'as_of': AS_OF.isoformat()}).stamp}"
        s3 = stack.client("s3")
        started = time.perf_counter()
        count, held = _grow(s3, bucket, source, target, people)
        grown = time.perf_counter() - started
        event["batches"]["count"] = count
        trace = stack.trace = RequestTrace(memory=True)
        started = time.perf_counter()
        deliver = stack.invoke("ReportFunction", event, asynchronous=False)
        seconds = time.perf_counter() - started
        stack.trace = None
        assert deliver.ok, deliver.error
        (line,) = trace.lines
        summary = deliver.result["summary"]
        files = deliver.result["archive"]
        archived = {kind: s3.head_object(Bucket=files["bucket"], Key=files[kind])["ContentLength"]
                    for kind in ("json", "csv")}  # fmt: skip
    return {
        "people": people, "shape": shape, "rejected": rejected, "seed": seed,
        "batches": count, "people_copied": held, "copy_seconds": round(grown, 1),
        "people_counted": summary["people_unconfirmed"],
        "deliver": {"seconds": round(seconds, 1), "peak_mb": line.get("peak_mb"),
                    "dynamodb_requests": line["dynamodb_requests"], "cpu_ms": line["cpu_ms"]},
        "archive_bytes": archived,
        "delivered": {k: v for k, v in deliver.result.items() if k not in ("summary", "events")},
    }  # fmt: skip


VARIANTS = (("family", False, 5_000), ("family", True, 5_000), ("set1000", False, 10_000))
SHAPE_NAMES = {"family": "one family a set", "set1000": "1,000 members a set"}


def deliver_table(runs: list[dict[str, Any]]) -> str:
    """The README's table: Deliver over each variant's open people."""
    rows = ["| shape | open people | sets rejected by a 999 | map batches merged | Deliver's peak memory "
            "| its DynamoDB requests | its CPU here | archived JSON / CSV | email |",
            "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for run in runs:
        deliver, archive, email = run["deliver"], run["archive_bytes"], run["delivered"]["email"]
        attached = "CSV attached" if email.get("csv_attached") else "CSV linked"
        rows.append(
            f"| {SHAPE_NAMES[run['shape']]} | {run['people_counted']:,} "
            f"| {'every set' if run['rejected'] else 'none'} | {run['batches']:,} "
            f"| {deliver['peak_mb']:.0f} MB | {deliver['dynamodb_requests']} "
            f"| {deliver['cpu_ms'] / 1000:.0f} s | {archive['json'] / 1e6:,.0f} MB / "
            f"{archive['csv'] / 1e6:,.0f} MB | {email['bytes'] / 1e3:,.0f} KB ({attached}) |"
        )
    worst = max(run["deliver"]["peak_mb"] for run in runs)
    rows += ["", f"- Deliver's peak memory at 1,000,000 open people ≤ {TARGET_MB} MB: "
             f"{'met' if worst <= TARGET_MB else 'MISSED'} (largest {worst:.0f} MB over its start; "
             "moto in a process of its own)."]  # fmt: skip
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000, help="open people Deliver merges")
    parser.add_argument("--shape", choices=("family", "set1000"), default="family")
    parser.add_argument("--seed", type=int, default=5_000, help="people of the real run copied")
    parser.add_argument("--rejected", action="store_true", help="every set rejected by a 999")
    args = parser.parse_args()
    print(json.dumps(measure(args.people, args.shape, args.seed, args.rejected)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
