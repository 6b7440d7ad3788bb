"""`make bench` (ingest part): one Lambda ingesting a large outbound 834, memory and requests.

The outbound handler runs in this process exactly as the local stack runs it, against
moto's server in a separate process, so the peak RSS measured is the handler's (S3
streaming, batched writes, family reconciliation), not moto's storage. DynamoDB requests
are counted with a botocore hook on the handler's own client.

    python benchmarks/ingest.py --members 100000          # prints one JSON document
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_apart() -> Iterator[str]:
    """moto's server (with the local stack's fixes) in its own process."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", f"from acktrack.local.moto_speed import serve; serve({port})"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def sample(members: int) -> Path:
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    DATA.mkdir(exist_ok=True)
    path = DATA / f"ingest_{members}m.834"
    if not path.exists():
        with path.open("wb") as stream:
            write_834(EnrollmentSpec(seed=2013, members=members, keep_members=False,
                                     sent_at=datetime(2024, 1, 15, 12)), stream)  # fmt: skip
    return path


def measure(members: int) -> dict[str, Any]:
    from acktrack import runtime
    from acktrack.local.stack import LocalStack

    path = sample(members)
    calls: Counter[str] = Counter()
    items = [0]

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls[model.name] += 1
        if model.name == "BatchWriteItem":
            items[0] += sum(len(r) for r in json.loads(params["body"])["RequestItems"].values())

    with moto_apart() as endpoint:
        stack = LocalStack(ROOT / "template.yaml", {}, endpoint=endpoint).start()
        os.environ["TABLE_NAME"] = stack.table
        runtime.repository().client.meta.events.register("before-call.dynamodb", count)
        bucket = stack.bucket("Outbound")
        stack.client("s3").upload_file(str(path), bucket, "outbound/big.834")  # streamed from disk
        started = time.perf_counter()
        (result,) = stack.redeliver(bucket, "outbound/big.834")
        seconds = time.perf_counter() - started
        assert result.ok, result.error
        stack.stop()
    writes = sum(n for op, n in calls.items() if op not in ("Query", "GetItem"))
    return {
        "members": members,
        "file_mb": path.stat().st_size / 1e6,
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "requests": dict(calls),
        "write_requests": writes,
        "member_items_written": items[0],
        "items_per_write_request": items[0] / max(writes, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(measure(args.members)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
