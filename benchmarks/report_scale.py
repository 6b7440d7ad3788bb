"""`make bench` (report section): the daily report's workflow over N open people, with the
request trace on, and the wall time it models on DynamoDB.

N members are sent in one synthetic 834 (``family``: one family a set, about 1.7 members
a set; ``set1000``: 1,000 members a set) ten days before the report (past the 48-hour
SLA, outside the 7-day window, before the 45-day effectuation SLA), ingested by the
outbound handler on the embedded stack (moto's server in a process of its own, so the
handlers' CPU and memory are their own). The family reconciliation of the ingest (and of
its parts, past PartMembers) is skipped while seeding (one query per family; the report
reads the family partition with one query whatever it holds). Then, traced: the report (its
workflow: plan, map batches, sections, deliver); every set marked accepted (the items
rewritten as a 999 leaves their status); the report right after, and once more
(everything closed).

Memory is each invocation's peak resident set over its start (the process's high-water
mark reset as it starts: ``trace.RequestTrace(memory=True)``). moto runs in a process of its
own (``benchmarks.ingest.moto_apart``: its server, its Step Functions interpreter calling
the tasks back here), so the figure is the handler's own, client libraries included.

    python benchmarks/report_scale.py --people 10000 --shape family    # one JSON line
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = datetime(2024, 3, 1, 7, 0, tzinfo=UTC)
SENT = (AS_OF - timedelta(days=10)).replace(tzinfo=None)
LATENCIES_MS = (3, 5, 8)
SHAPES = {"family": "one family a set", "set1000": "1,000 members a set"}
SIZES = (1_000, 10_000, 100_000)
TARGETS = {"requests_per_row": 2.5, "requests_per_invocation": 20_000, "mb_per_invocation": 512,
           "minutes_at_1m": 15.0, "closed_requests": 100}  # fmt: skip


def _sets(people: int, shape: str) -> int:
    return max(1, round(people / 1.7)) if shape == "family" else max(1, people // 1000)


def _seed(stack: Any, people: int, shape: str) -> float:
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    buffer = io.BytesIO()
    write_834(EnrollmentSpec(seed=2013, members=people, sets_per_group=_sets(people, shape),
                             sent_at=SENT, keep_members=False), buffer)  # fmt: skip
    started = time.perf_counter()
    with no_family_pass():
        results = stack.put(stack.bucket("Outbound"), "outbound/scale.834", buffer.getvalue())
    assert all(result.ok for result in results), [result.error for result in results]
    return time.perf_counter() - started


@contextmanager
def no_family_pass() -> Iterator[None]:
    """The ingest's family reconciliation skipped, the whole file's and its parts' (one query
    per family; the report reads the family partition with one query whatever it holds)."""
    skip = lambda *_, **__: None  # noqa: E731
    with (mock.patch("acktrack.ingest.outbound.reconcile_families", skip),
          mock.patch("acktrack.ingest.parts.reconcile_families", skip)):  # fmt: skip
        yield


def _close_everything(stack: Any) -> int:
    """Every open set accepted, as a 999 leaves it (its status and time, out of the report's
    index: ``store.set_acks``), written straight into the table."""
    from acktrack.handlers.wiring import open_repository
    from acktrack.store.models import SetItem

    store = open_repository(stack.table, "us-east-1")
    sets = list(store.open_sets())
    with SetItem.batch_write() as batch:
        for item in sets:
            item.status = "accepted"
            item.status_at = (SENT + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
            item.rk = item.rs = None
            batch.save(item)
    return len(sets)


def _run(stack: Any, trace: Any, moment: datetime) -> dict[str, Any]:
    trace.lines.clear()
    started = time.perf_counter()
    run = stack.run_schedule(moment)
    assert run.ok, run.error
    lines = list(trace.lines)
    summary = run.result["summary"]
    return {"seconds": round(time.perf_counter() - started, 1), "lines": lines,
            "open_rows": summary["pending_overdue"] + summary["rejected"],
            "people": summary["people_unconfirmed"]}  # fmt: skip


def measure(people: int, shape: str) -> dict[str, Any]:
    from acktrack.local.stack import EmbeddedStack
    from acktrack.local.trace import RequestTrace
    from benchmarks.ingest import moto_apart

    with ExitStack() as stop:
        endpoint = stop.enter_context(moto_apart())
        stack = stop.enter_context(EmbeddedStack(ROOT / "template.yaml", {}, endpoint=endpoint))
        seconds = _seed(stack, people, shape)
        trace = stack.trace = RequestTrace(memory=True)
        open_run = _run(stack, trace, AS_OF)
        stack.trace = None
        closed_sets = _close_everything(stack)
        stack.trace = trace
        after = _run(stack, trace, AS_OF + timedelta(days=1))
        closed = _run(stack, trace, AS_OF + timedelta(days=2))
    concurrency = next(int(function.environment["REPORT_MAP_CONCURRENCY"])
                       for function in stack.functions.values()
                       if "REPORT_MAP_CONCURRENCY" in function.environment)  # fmt: skip
    return {"people": people, "shape": shape, "sets": _sets(people, shape),
            "seed_seconds": round(seconds, 1), "map_concurrency": concurrency,
            "closed_sets": closed_sets, "open": open_run, "after_closing": after,
            "closed": closed}  # fmt: skip


# -- the model ---------------------------------------------------------------------------


def invocation_seconds(line: dict[str, Any], latency_ms: float) -> float:
    """An invocation on AWS: its requests one after another at ``latency_ms``, plus the CPU
    it used here."""
    return (line["dynamodb_requests"] * latency_ms + line["cpu_ms"]) / 1000


def workflow_seconds(lines: list[dict[str, Any]], latency_ms: float, concurrency: int) -> float:
    """plan + max(sections, ceil(batches / MaxConcurrency) x slowest batch) + deliver."""

    def of(function: str) -> list[float]:
        return [invocation_seconds(line, latency_ms) for line in lines
                if line["function"] == function]  # fmt: skip

    batches = of("ReportBatchFunction")
    waves = math.ceil(len(batches) / concurrency) * max(batches, default=0.0)
    return (
        sum(of("ReportPlanFunction"))
        + max(sum(of("ReportSectionsFunction")), waves)
        + sum(of("ReportFunction"))
    )


def summarise(run: dict[str, Any], concurrency: int) -> dict[str, Any]:
    lines = run["lines"]
    requests = sum(line["dynamodb_requests"] for line in lines)
    largest = max(lines, key=lambda line: line["dynamodb_requests"])
    cpu = sum(line["cpu_ms"] for line in lines)
    return {
        "requests": requests, "open_rows": run["open_rows"], "people": run["people"],
        "requests_per_row": requests / max(run["open_rows"], 1),
        "batches": sum(line["function"] == "ReportBatchFunction" for line in lines),
        "largest": {"function": largest["function"], "requests": largest["dynamodb_requests"]},
        "peak_mb": max(line.get("peak_mb", 0.0) for line in lines),
        "peak_function": max(lines, key=lambda line: line.get("peak_mb", 0.0))["function"],
        "cpu_ms_per_request": cpu / max(requests, 1),
        "modelled_s": {str(ms): workflow_seconds(lines, ms, concurrency) for ms in LATENCIES_MS},
        "parts": {name: [workflow_part(lines, name, ms) for ms in LATENCIES_MS]
                  for name in ("plan", "sections", "batch_max", "deliver")},
        "moto_seconds": run["seconds"],
    }  # fmt: skip


def workflow_part(lines: list[dict[str, Any]], name: str, latency_ms: float) -> float:
    function = {"plan": "ReportPlanFunction", "sections": "ReportSectionsFunction",
                "batch_max": "ReportBatchFunction", "deliver": "ReportFunction"}[name]  # fmt: skip
    found = [invocation_seconds(line, latency_ms) for line in lines if line["function"] == function]
    return max(found, default=0.0) if name == "batch_max" else sum(found)


def extrapolate(
    small: dict[str, Any], big: dict[str, Any], people: int, concurrency: int
) -> dict[str, Any]:
    """The workflow at ``people`` open, from the slope between two measured sizes: the plan,
    sections and deliver times and the batch count grow linearly; the slowest batch is
    bounded by ReportBatchSets/ReportBatchRows (the larger measured is kept)."""
    scale = (people - big["people_in"]) / (big["people_in"] - small["people_in"])

    def line(part: str, index: int) -> float:
        low, high = small["parts"][part][index], big["parts"][part][index]
        return high + (high - low) * scale

    batches = big["batches"] + (big["batches"] - small["batches"]) * scale
    result = {}
    for index, ms in enumerate(LATENCIES_MS):
        slowest = max(small["parts"]["batch_max"][index], big["parts"]["batch_max"][index])
        waves = math.ceil(batches / concurrency) * slowest
        result[str(ms)] = (
            line("plan", index) + max(line("sections", index), waves) + line("deliver", index)
        )
    return {"batches": round(batches), "modelled_s": result}


# -- the table ---------------------------------------------------------------------------


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def scale_table(figures: dict[str, list[dict[str, Any]]]) -> str:
    """The README's table (``figures``: shape -> a run per size, smallest first)."""
    rows = ["| shape | open people | open rows | requests | requests per open row | map batches "
            "| largest invocation (requests) | peak memory | CPU per request | modelled wall "
            "3 / 5 / 8 ms | report after closing (requests) |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    worst = {"per_row": 0.0, "requests": 0, "mb": 0.0, "closed": 0, "batch": 0}
    notes = []
    for shape, runs in figures.items():
        for run in runs:
            opened, closed = run["open"], run["closed"]
            wall = " / ".join(f"{opened['modelled_s'][str(ms)]:.0f} s" for ms in LATENCIES_MS)
            rows.append(
                f"| {SHAPES[shape]} | {run['people']:,} | {opened['open_rows']:,} "
                f"| {opened['requests']:,} | {opened['requests_per_row']:.2f} | {opened['batches']} "
                f"| {opened['largest']['requests']:,} ({opened['largest']['function']}) "
                f"| {opened['peak_mb']:.0f} MB ({opened['peak_function']}) "
                f"| {opened['cpu_ms_per_request']:.1f} ms | {wall} | {closed['requests']} |"
            )
            worst["per_row"] = max(worst["per_row"], opened["requests_per_row"])
            worst["requests"] = max(worst["requests"], opened["largest"]["requests"])
            worst["mb"] = max(worst["mb"], opened["peak_mb"], closed["peak_mb"])
            worst["closed"] = max(worst["closed"], closed["requests"])
            batches = opened.get("batch_requests") or [
                line["dynamodb_requests"] for line in opened.get("lines", [])
                if line["function"] == "ReportBatchFunction"]  # fmt: skip
            worst["batch"] = max([worst["batch"], *batches])
        if len(runs) >= 2:
            small, big = runs[-2], runs[-1]
            model = extrapolate({**small["open"], "people_in": small["people"]},
                                {**big["open"], "people_in": big["people"]}, 1_000_000,
                                big["map_concurrency"])  # fmt: skip
            minutes = model["modelled_s"]["8"] / 60
            notes.append(
                f"- {SHAPES[shape]}, 1,000,000 open people (extrapolated from the slope between "
                f"{small['people']:,} and {big['people']:,}): about {model['batches']:,} batches, "
                f"{minutes:.1f} min at 8 ms with MaxConcurrency {big['map_concurrency']} "
                f"(target ≤ {TARGETS['minutes_at_1m']:.0f} min): "
                f"{_verdict(minutes <= TARGETS['minutes_at_1m'])}."
            )
    lines = [
        "\n".join(rows), "",
        f"- Requests per open row ≤ {TARGETS['requests_per_row']}: "
        f"{_verdict(worst['per_row'] <= TARGETS['requests_per_row'])} (worst {worst['per_row']:.2f}).",
        f"- At most {TARGETS['requests_per_invocation']:,} requests per invocation: "
        f"{_verdict(worst['requests'] <= TARGETS['requests_per_invocation'])} "
        f"(largest {worst['requests']:,}; largest map batch {worst['batch']:,} with the default "
        "ReportBatchSets 500 and ReportBatchRows 5,000).",
        f"- At most {TARGETS['mb_per_invocation']} MB per invocation: "
        f"{_verdict(worst['mb'] <= TARGETS['mb_per_invocation'])} (largest {worst['mb']:.0f} MB "
        "over the invocation's start; moto in a process of its own). A batch is bounded by "
        "ReportBatchSets and ReportBatchRows whatever the backlog; Deliver, whose state grows "
        "with the people, is measured at 1,000,000 below.",
        f"- The report after everything closed ≤ {TARGETS['closed_requests']} requests: "
        f"{_verdict(worst['closed'] <= TARGETS['closed_requests'])} (at most {worst['closed']}).",
        *notes,
    ]  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="family")
    args = parser.parse_args()
    figures = measure(args.people, args.shape)
    concurrency = figures["map_concurrency"]
    for name in ("open", "after_closing", "closed"):
        figures[name] = {**summarise(figures[name], concurrency), "lines": figures[name]["lines"]}
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
