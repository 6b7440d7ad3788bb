"""`make bench` (ingest part): one Lambda ingesting a large outbound 834, memory and requests.

The outbound handler runs in this process exactly as the local stack runs it, against
moto's server in a separate process, so the peak RSS measured is the handler's (S3
streaming, batched writes, family reconciliation), not moto's storage. DynamoDB requests
are counted with a botocore hook on the handler's own client.

    python benchmarks/ingest.py --members 100000          # prints one JSON document
"""

from __future__ import annotations

import argparse
import io
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
from datetime import UTC, datetime, timedelta
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
    from acktrack.local import workflow

    port = _free_port()
    callback, stop = workflow.answer_tasks()  # the state machines' tasks: this process's handlers
    process = subprocess.Popen(
        [sys.executable, "-c",
         f"from acktrack.local.moto_speed import serve; serve({port}, {callback!r})"],
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
        stop()


def sample(members: int, sets: int = 1) -> Path:
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    DATA.mkdir(exist_ok=True)
    path = DATA / (f"ingest_{members}m.834" if sets == 1 else f"ingest_{members}m_{sets}s.834")
    if not path.exists():
        with path.open("wb") as stream:
            write_834(EnrollmentSpec(seed=2013, members=members, sets_per_group=sets, keep_members=False,
                                     sent_at=SENT), stream)  # fmt: skip
    return path


SENT = datetime(2024, 1, 15, 12)


class Requests:
    """DynamoDB requests by operation, and items read (ScannedCount; GetItem: 1), counted with
    botocore event hooks on the handlers' own client."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read = 0
        self.items_written = 0
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name == "BatchWriteItem":
            requests = json.loads(params["body"])["RequestItems"].values()
            self.items_written += sum(len(r) for r in requests)

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.name in ("Query", "Scan"):
            self.items_read += int(parsed.get("ScannedCount", 0))
        elif model.name == "GetItem" and parsed.get("Item"):
            self.items_read += 1

    def take(self) -> dict[str, Any]:
        """What was counted since the last take, and start again."""
        taken = {"requests": sum(self.calls.values()), "by_operation": dict(self.calls),
                 "items_read": self.items_read}  # fmt: skip
        self.calls, self.items_read = Counter(), 0
        return taken


def _ta1_rejecting(control: int) -> bytes:
    from acktrack.synthetic.acknowledgments import write_ta1

    buffer = io.BytesIO()
    write_ta1(buffer, sender_id="HEALTHPLAN01", receiver_id="ACKTRACKEXCH", interchange_control=8001,
              sent_at=SENT + timedelta(hours=8), acknowledged_control=f"{control:09d}",
              acknowledged_date=SENT.strftime("%y%m%d"), acknowledged_time=SENT.strftime("%H%M"),
              status="R", note="024")  # fmt: skip
    return buffer.getvalue()


def _members_tracked() -> int:
    """Members the counters say were sent (what the report's headline counts read)."""
    from acktrack.handlers import wiring

    counters = wiring.repository().counters("ACKTRACKEXCH", "HEALTHPLAN01")
    return int(counters["ALL"].members_sent) if "ALL" in counters else 0


def measure(
    members: int, sets: int = 1, follow: bool = True, part_bytes: int = 0
) -> dict[str, Any]:
    """Ingest one file (``part_bytes``: cut in parts of that size, run by the file workflow);
    then (``follow``) a 999 accepting it, 1,000 more members left pending, the report, and a
    TA1 rejecting the first interchange, each with its request count."""
    from acktrack.handlers import wiring
    from acktrack.local.stack import EmbeddedStack
    from acktrack.synthetic.acknowledgments import respond
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    path = sample(members, sets)
    with moto_apart() as endpoint:
        stack = EmbeddedStack(
            # One invocation's throughput, or the cut by bytes alone: PartMembers out of the way.
            ROOT / "template.yaml",
            {"PartBytes": part_bytes, "PartMembers": 0},
            endpoint=endpoint,
        ).start()
        os.environ["TABLE_NAME"] = stack.table
        counter = Requests(wiring.repository().client)
        outbound, inbound = stack.bucket("Outbound"), stack.bucket("Inbound")
        stack.client("s3").upload_file(
            str(path), outbound, "outbound/big.834"
        )  # streamed from disk
        started = time.perf_counter()
        result, *parts = stack.redeliver(outbound, "outbound/big.834")
        seconds = time.perf_counter() - started
        assert result.ok and all(part.ok for part in parts), result.error
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ingest = counter.take()
        written = counter.items_written
        figures: dict[str, Any] = {
            "members": members, "sets": sets, "file_mb": path.stat().st_size / 1e6,
            "seconds": seconds, "peak_rss_mb": peak, "requests": ingest["by_operation"],
            "write_requests": sum(n for op, n in ingest["by_operation"].items() if op not in ("Query", "GetItem")),
            "member_items_written": written,
        }  # fmt: skip
        figures["items_per_write_request"] = written / max(figures["write_requests"], 1)
        if part_bytes:
            (entry,) = result.result["objects"]
            tasks = [p for p in parts if p.function == "IngestPartFunction"]  # parts and Finish
            failed = [p for p in tasks if not p.ok]
            figures["fanout"] = {"part_bytes": part_bytes, "parts": entry.get("parts", 0),
                                 "part_invocations": len(tasks), "failed_parts": len(failed),
                                 "members_tracked": _members_tracked()}  # fmt: skip
            counter.take()  # that read is the benchmark's, not the handlers'
        if follow:
            reply = respond(path.read_bytes(), insurer_control=7001, sent_at=SENT + timedelta(hours=5),
                            with_ta1=False)  # fmt: skip
            assert all(r.ok for r in stack.put(inbound, "inbound/big.999", reply))
            figures["ack_999"] = counter.take()
            pending = io.BytesIO()
            write_834(EnrollmentSpec(seed=7, members=1000, interchange_control=5001, first_group_control=501,
                                     subscriber_id_start=700000001, sent_at=SENT + timedelta(hours=1),
                                     keep_members=False), pending)  # fmt: skip
            assert all(
                r.ok for r in stack.put(outbound, "outbound/pending.834", pending.getvalue())
            )
            counter.take()
            # The report twice: the backlog only (FirstPassPeople 0), then with the template's
            # first-pass budget, which reads one family per person up to that many people.
            # The report's workflow tasks that read the budget (each in its own environment).
            readers = [f for f in stack.functions.values() if "FIRST_PASS_PEOPLE" in f.environment]
            budget = readers[0].environment["FIRST_PASS_PEOPLE"]
            for name, people in (("report", "0"), ("report_first_pass", budget)):
                for function in readers:
                    function.environment["FIRST_PASS_PEOPLE"] = people
                run = stack.run_schedule(datetime(2024, 1, 20, 7, tzinfo=UTC))
                assert run.ok, run.error
                figures[name] = {**counter.take(), "confirmed": run.result["summary"]["confirmed"],
                                 "pending": run.result["summary"]["pending_overdue"],
                                 "first_pass_people": int(people)}  # fmt: skip
            assert all(r.ok for r in stack.put(inbound, "inbound/big.ta1", _ta1_rejecting(1001)))
            figures["ta1_reject"] = counter.take()
            # `acktrack stats` over the whole table: the counters, and the per-person figures
            # within their default budget (issue 28: at most 500 requests).
            from acktrack.report.insights import STATS_PEOPLE, stats

            found = stats(wiring.repository(), datetime(2024, 1, 1, tzinfo=UTC))
            figures["stats"] = {**counter.take(), "members_sent": found["members_sent"],
                                "people": STATS_PEOPLE}  # fmt: skip
        stack.stop()
    # moto's server was this process's child and has been waited for: its peak RSS.
    figures["moto_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000, help="members in the file")
    parser.add_argument("--sets", type=int, default=1, help="transaction sets they are spread over")
    parser.add_argument("--no-follow", action="store_true",
                        help="ingest only (no 999, report and TA1 afterwards)")  # fmt: skip
    parser.add_argument("--part-bytes", type=int, default=0, metavar="N",
                        help="cut the file in parts of N bytes, run by the file workflow (0: never)")  # fmt: skip
    args = parser.parse_args()
    print(json.dumps(measure(args.members, args.sets, not args.no_follow, args.part_bytes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
