"""`make bench` (cold start): each handler in a fresh process, as a new Lambda container
runs it: import the handler module, then its first event (deferred imports, the first
boto3 and PynamoDB clients, the first requests), against the local stack's server.

    python benchmarks/cold.py          # prints one JSON document: handler -> milliseconds
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SENT = datetime(2024, 1, 15, 12)
AS_OF = datetime(2024, 1, 20, 7, tzinfo=UTC)
HANDLERS = {
    "ingest_outbound": "IngestOutboundFunction",
    "ingest_part": "IngestPartFunction",
    "ingest_inbound": "IngestInboundFunction",
    "report": "ReportFunction",
}

CHILD = r"""
import importlib.util, json, os, sys, time, uuid
started = time.perf_counter()
spec = json.load(sys.stdin)
os.environ.update(spec["environment"])
module_spec = importlib.util.spec_from_file_location("app", spec["path"])
module = importlib.util.module_from_spec(module_spec)
module_spec.loader.exec_module(module)
imported = time.perf_counter()

class Context:
    function_name = spec["environment"]["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    aws_request_id = str(uuid.uuid4())
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "cold"
    def get_remaining_time_in_millis(self):
        return 900_000

sys.stdout = open(os.devnull, "w")  # the handler's logs and metrics
first, second = spec["events"]
module.handler(first, Context())
done = time.perf_counter()
module.handler(second, Context())  # the same work again, warm
warm = time.perf_counter()
sys.stdout = sys.__stdout__
print(json.dumps({"import_ms": (imported - started) * 1000, "first_event_ms": (done - imported) * 1000,
                  "warm_event_ms": (warm - done) * 1000}))
"""


def _events(stack: Any) -> dict[str, list[dict[str, Any]]]:
    """Two events of the same kind and size per handler (the first cold, the second warm),
    on a stack that holds what each needs."""
    from acktrack.synthetic.acknowledgments import respond
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    def file(members: int, control: int) -> bytes:
        buffer = io.BytesIO()
        write_834(EnrollmentSpec(seed=control, members=members, sets_per_group=2, sent_at=SENT,
                                 interchange_control=control, first_group_control=control),
                  buffer)  # fmt: skip
        return buffer.getvalue()

    outbound, inbound = stack.bucket("Outbound"), stack.bucket("Inbound")
    events: dict[str, list[dict[str, Any]]] = {"ingest_outbound": [], "ingest_inbound": []}
    for control in (3001, 3002):
        events["ingest_outbound"].append(
            stack.store(outbound, f"outbound/first{control}.834", file(40, control))
        )
        # A 999 for an 834 already tracked (in this process), so applying it does real work.
        tracked = file(40, control + 10)
        stack.put(outbound, f"outbound/tracked{control}.834", tracked)
        reply = respond(tracked, insurer_control=control, sent_at=SENT + timedelta(hours=4))
        events["ingest_inbound"].append(
            stack.store(inbound, f"inbound/HEALTHPLAN01/tracked{control}.999", reply)
        )
    # Part orders: a file cut in parts here; its workflow runs them, and two of its orders
    # are the part function's sample events (as the Distributed Map hands them over).
    cut = stack.store(outbound, "outbound/cut.834", file(400, 3100))
    stack.deliver_event(outbound, "outbound/cut.834", cut)
    work = stack.bucket("Reports")
    (listed,) = stack.client("s3").list_objects_v2(Bucket=work, Prefix="work/parts/")["Contents"]
    orders = json.loads(
        stack.client("s3").get_object(Bucket=work, Key=listed["Key"])["Body"].read()
    )
    events["ingest_part"] = [{"order": order} for order in orders[:2]]
    schedule = next(iter(stack.schedules.values()))
    events["report"] = [
        json.loads(schedule["input"].replace("<aws.scheduler.scheduled-time>",
                                             (AS_OF + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ")))
        for day in (0, 1)
    ]  # fmt: skip
    return events


def measure() -> dict[str, dict[str, float]]:
    from acktrack.local.stack import EmbeddedStack

    figures: dict[str, dict[str, float]] = {}
    with EmbeddedStack(ROOT / "template.yaml", {"PartBytes": 4096}) as stack:
        events = _events(stack)
        for handler, logical_id in HANDLERS.items():
            function = stack.functions[logical_id]
            spec = {
                "path": str(ROOT / "functions" / handler / "app.py"),
                "environment": {**function.environment, "AWS_LAMBDA_FUNCTION_NAME": function.name},
                "events": events[handler],
            }
            output = subprocess.run(
                [sys.executable, "-c", CHILD], input=json.dumps(spec), capture_output=True,
                text=True, check=True, env={**os.environ},
            ).stdout  # fmt: skip
            run = json.loads(output.strip().splitlines()[-1])
            # What a cold container pays: the import and the first event's extra over a warm one.
            run["cold_ms"] = run["import_ms"] + max(
                0.0, run["first_event_ms"] - run["warm_event_ms"]
            )
            figures[handler] = run
    return figures


if __name__ == "__main__":
    started = time.perf_counter()
    print(json.dumps(measure(), indent=1))
    print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
