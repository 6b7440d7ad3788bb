"""`make bench` (write paths, issue 29): each write path at a size, with the request trace
on, and the wall time it models on DynamoDB.

N members are sent in one synthetic 834 (``family``: one family a set, about 1.7 members
a set; ``set1000``: 1,000 members a set), ingested by the outbound function on the
embedded stack with the template's defaults (PartMembers 5,000: larger files are cut in
parts); then a 999 rejects every set with one IK3 error in a member; then the insurer's
effectuation 834 confirms every member. For each path: its invocations, the largest
one's DynamoDB requests and peak memory, the most-written item's writes per 1,000
members (over every invocation of that file), and the wall time it models.

The model: an invocation's requests one after another at 3, 5 or 8 ms each, plus the CPU
it used here; a file's first invocation, then its parts in the file workflow's
Distributed Map, ten at a time (FileMapConcurrency), each wave as long as the longest
part, then the workflow's Finish.
Memory is each invocation's peak resident set over its start; moto answers in this
process, so its memory is in the figure (an upper bound of the handler's).

    python benchmarks/write_paths.py --members 5000 --shape family    # one JSON line
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SENT = datetime(2024, 2, 1, 12)
LATENCIES_MS = (3, 5, 8)
SHAPES = {"family": "one family a set", "set1000": "1,000 members a set"}
SIZES = (1_000, 5_000, 20_000)
PATHS = ("outbound 834", "999 rejecting every set (one IK3 each)", "effectuation 834")
# On a second stack that holds the outbound 834 only (every enrollment awaiting its answer):
# the insurer's population, all of it as sent, confirms each enrollment it holds.
RECON_PATHS = ("reconciliation, audit 834", "reconciliation, CSV extract")
MAP_CONCURRENCY = 10  # the template's FileMapConcurrency
TARGETS = {
    "requests_per_invocation": 20_000,
    "writes_per_1000_members": 10,
    "mb_per_invocation": 512,
}


def _sets(members: int, shape: str) -> int:
    return max(1, round(members / 1.7)) if shape == "family" else max(1, members // 1000)


def reject_every_set(generated: Any, sent_at: datetime) -> bytes:
    """The insurer's 999 rejecting every set of a generated 834, one IK3 error in a member
    of each, five hours after ``sent_at``."""
    from acktrack.synthetic.acknowledgments import (
        GroupResponse,
        SegmentErrorSpec,
        SetResponse,
        write_999,
    )

    responses = [
        SetResponse(each.transaction_control, "R", ["5"],
                    [SegmentErrorSpec("INS", each.member_detail[-1].first_position, "8", "2000")])
        for each in generated.sets
    ]  # fmt: skip
    reply = io.BytesIO()
    write_999(reply, sender_id="HEALTHPLAN01", receiver_id="ACKTRACKEXCH", interchange_control=7001,
              sent_at=sent_at + timedelta(hours=5), groups=[GroupResponse("1", responses)])  # fmt: skip
    return reply.getvalue()


def _files(members: int, shape: str) -> dict[str, bytes]:
    from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    sent = io.BytesIO()
    generated = write_834(EnrollmentSpec(seed=2029, members=members,
                                         sets_per_group=_sets(members, shape), sent_at=SENT),
                          sent)  # fmt: skip
    insurer = io.BytesIO()
    write_effectuation(sent.getvalue(), insurer, EffectuationSpec(sent_at=SENT + timedelta(days=6)))
    return {PATHS[0]: sent.getvalue(), PATHS[1]: reject_every_set(generated, SENT),
            PATHS[2]: insurer.getvalue()}  # fmt: skip


def _populations(sent: bytes) -> dict[str, bytes]:
    """The insurer's population of what was sent: as an audit 834 and as a CSV extract."""
    from acktrack.synthetic.population import (
        PopulationSpec,
        held_members,
        write_audit_834,
        write_extract,
    )

    spec = PopulationSpec(as_of=SENT + timedelta(days=7))
    held = held_members([sent], spec)
    audit, extract = io.BytesIO(), io.StringIO()
    write_audit_834(held, audit, spec, insurer="HEALTHPLAN01", us="ACKTRACKEXCH")
    write_extract(held, extract)
    return {RECON_PATHS[0]: audit.getvalue(), RECON_PATHS[1]: extract.getvalue().encode()}


def _summary(lines: list[dict[str, Any]], members: int) -> dict[str, Any]:
    items: Counter[tuple[str, str]] = Counter()
    for line in lines:
        items.update({(hot["kind"], hot["key"]): hot["writes"] for hot in line["hot_items"]})
    ((kind, _), most) = items.most_common(1)[0] if items else (("-", ""), 0)
    largest = max(lines, key=lambda line: line["dynamodb_requests"])
    # The file's first invocation; its parts, FileMapConcurrency (10) at a time; its Finish.
    first, parts, finish = lines[0], lines[1:-1], lines[1:][-1:]
    waves = -(-len(parts) // MAP_CONCURRENCY)
    return {
        "invocations": len(lines),
        "requests": sum(line["dynamodb_requests"] for line in lines),
        "largest_requests": largest["dynamodb_requests"],
        "largest_function": largest["function"],
        "peak_mb": max(line.get("peak_mb", 0.0) for line in lines),
        "most_written_kind": kind,
        "most_written_per_1000": round(most * 1000 / members, 1),
        "modelled_s": {str(ms): round(_seconds(first, ms)
                                      + waves * max((_seconds(p, ms) for p in parts), default=0.0)
                                      + sum(_seconds(f, ms) for f in finish), 1)
                       for ms in LATENCIES_MS},
    }  # fmt: skip


def _seconds(line: dict[str, Any], latency_ms: float) -> float:
    return float(line["dynamodb_requests"] * latency_ms + line["cpu_ms"]) / 1000


def measure(members: int, shape: str, reconciliation_only: bool = False) -> dict[str, Any]:
    from acktrack.local.stack import EmbeddedStack
    from acktrack.local.trace import RequestTrace

    files = _files(members, shape)
    found: dict[str, Any] = {"members": members, "shape": shape, "sets": _sets(members, shape)}
    populations = _populations(files[PATHS[0]])
    days = [files, {PATHS[0]: files[PATHS[0]], **populations}]
    for day in days[1:] if reconciliation_only else days:
        with ExitStack() as stop:
            stack = stop.enter_context(EmbeddedStack(ROOT / "template.yaml", {}))
            stack.clock = lambda: datetime(2024, 2, 8, 12, tzinfo=UTC)
            for path, data in day.items():
                trace = stack.trace = RequestTrace(memory=True)
                started = time.perf_counter()
                bucket, key = (("Outbound", "outbound/sent.834") if path == PATHS[0]
                               else ("Inbound", _inbound_key(path, len(found))))  # fmt: skip
                results = stack.put(stack.bucket(bucket), key, data)
                assert all(result.ok for result in results), [r.error for r in results]
                if path in found or (reconciliation_only and path == PATHS[0]):
                    continue  # the outbound 834 again, under the populations
                found[path] = {**_summary(trace.lines, members),
                               "moto_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
                stack.trace = None
    return found


def _inbound_key(path: str, number: int) -> str:
    if path == RECON_PATHS[1]:
        return "inbound/HEALTHPLAN01/population-2024-02-08.csv"
    return f"inbound/HEALTHPLAN01/{number}.x12"


def table(results: list[dict[str, Any]], paths: tuple[str, ...] = (*PATHS, *RECON_PATHS),
          note: Any = lambda row: "") -> str:  # fmt: skip
    """The README's table: a row per path, size and shape (``note``: more to say of a row's
    largest invocation)."""
    rows = [
        "| path | shape | members | invocations | largest invocation (requests) | peak memory "
        "| most-written item (writes per 1,000 members) | modelled wall 3 / 5 / 8 ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for path in paths:
        for result in results:
            if path not in result:
                continue
            row = result[path]
            wall = " / ".join(f"{row['modelled_s'][str(ms)]:.0f} s" for ms in LATENCIES_MS)
            rows.append(
                f"| {path} | {SHAPES[result['shape']]} | {result['members']:,} "
                f"| {row['invocations']} | {row['largest_requests']:,} ({row['largest_function']}{note(row)}) "
                f"| {row['peak_mb']:.0f} MB | {row['most_written_per_1000']} "
                f"({row['most_written_kind']}) | {wall} |"
            )
    return "\n".join(rows)


def cli(doc: str | None, measure_one: Any, make_table: Any) -> int:
    """A size and shape per JSON line, then the README's table (``--table``)."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, action="append",
                        help=f"members in the file (repeat; default {', '.join(map(str, SIZES))})")  # fmt: skip
    parser.add_argument("--shape", choices=SHAPES, action="append", help="default: both shapes")
    parser.add_argument("--table", action="store_true", help="print the README's table at the end")
    if measure_one is measure:
        parser.add_argument("--reconciliation-only", action="store_true",
                            help="only the reconciliation rows (on a stack holding the 834)")  # fmt: skip
    args = parser.parse_args()
    extra = {"reconciliation_only": True} if getattr(args, "reconciliation_only", False) else {}
    results = []
    for members in args.members or SIZES:
        for shape in args.shape or SHAPES:
            results.append(measure_one(members, shape, **extra))
            print(json.dumps(results[-1]), flush=True)
    if args.table:
        print(make_table(results))
    return 0


def main() -> int:
    return cli(__doc__, measure, table)


if __name__ == "__main__":
    sys.exit(main())
