"""`make bench` (sections section): the report's sections task when the window is full, its
DynamoDB requests against the 20,000 an invocation may make.

``--insurers`` insurers are each sent one synthetic 834 (``--people`` in all, one family
a set) two days before the report, inside the 7-day window, and each answers with a 999
accepting every set. The sets leave the report's index, so the map has little to do; the
sections task walks the window for the first-pass rate (the sets listed and their
families read, up to FirstPassPeople) and reads the window's lists. The report runs on
the embedded stack, moto in a process of its own, with the request trace on.

    python benchmarks/report_sections.py --people 30000 --insurers 20
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE)]

from report_scale import AS_OF, no_family_pass  # noqa: E402

SENT = (AS_OF - timedelta(days=2)).replace(tzinfo=None)
BOUND = 20_000


def _files(people: int, insurers: int) -> list[tuple[str, bytes, bytes]]:
    """Each insurer's 834 and its 999 accepting every set."""
    from acktrack.synthetic.acknowledgments import GroupResponse, SetResponse, write_999
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    files = []
    for number in range(insurers):
        insurer = f"HEALTHPLAN{number:02d}"
        members = people // insurers
        sent = io.BytesIO()
        generated = write_834(EnrollmentSpec(
            seed=2029 + number, members=members, sets_per_group=max(1, round(members / 1.7)),
            receiver_id=insurer, interchange_control=1001 + number, sent_at=SENT,
            subscriber_id_start=100_000_001 + number * 1_000_000, keep_members=False), sent)  # fmt: skip
        accepted = [SetResponse(each.transaction_control) for each in generated.sets]
        reply = io.BytesIO()
        write_999(reply, sender_id=insurer, receiver_id="ACKTRACKEXCH", interchange_control=7001,
                  sent_at=SENT + timedelta(hours=3), groups=[GroupResponse("1", accepted)])  # fmt: skip
        files.append((insurer, sent.getvalue(), reply.getvalue()))
    return files


def measure(people: int, insurers: int) -> dict[str, Any]:
    from ingest import moto_apart

    from acktrack.local.stack import EmbeddedStack
    from acktrack.local.trace import RequestTrace

    with ExitStack() as stop:
        endpoint = stop.enter_context(moto_apart())
        stack = stop.enter_context(EmbeddedStack(ROOT / "template.yaml", {}, endpoint=endpoint))
        for insurer, sent, reply in _files(people, insurers):
            with no_family_pass():
                results = stack.put(stack.bucket("Outbound"), f"outbound/{insurer}.834", sent)
            results += stack.put(stack.bucket("Inbound"), f"inbound/{insurer}/reply.999", reply)
            assert all(result.ok for result in results), [result.error for result in results]
        trace = stack.trace = RequestTrace(memory=True)
        run = stack.run_schedule(AS_OF)
        assert run.ok, run.error
    (sections,) = [line for line in trace.lines if line["function"] == "ReportSectionsFunction"]
    largest = max(trace.lines, key=lambda line: line["dynamodb_requests"])
    summary = run.result["summary"]
    return {
        "people": people, "insurers": insurers,
        "sections": {"requests": sections["dynamodb_requests"], "by_operation": sections["by_operation"],
                     "peak_mb": sections.get("peak_mb"), "cpu_ms": sections["cpu_ms"]},
        "largest": {"function": largest["function"], "requests": largest["dynamodb_requests"]},
        "first_attempts_answered": summary.get("first_attempts_answered"),
        "first_pass_acceptance": summary.get("first_pass_acceptance"),
    }  # fmt: skip


def sections_table(runs: list[dict[str, Any]]) -> str:
    rows = ["| people in the window (one family a set) | insurers | sections task: requests | its peak memory "
            "| first attempts counted | largest invocation |", "|---|---|---|---|---|---|"]  # fmt: skip
    for run in runs:
        sections = run["sections"]
        rows.append(
            f"| {run['people']:,} | {run['insurers']} | {sections['requests']:,} "
            f"| {sections['peak_mb']:.0f} MB | {run['first_attempts_answered']:,} "
            f"| {run['largest']['requests']:,} ({run['largest']['function']}) |"
        )
    worst = max(run["sections"]["requests"] for run in runs)
    rows += ["", f"- The sections task at most {BOUND:,} requests with the window full: "
             f"{'met' if worst <= BOUND else 'MISSED'} (largest {worst:,})."]  # fmt: skip
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--insurers", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(measure(args.people, args.insurers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
