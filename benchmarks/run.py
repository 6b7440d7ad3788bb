"""`make bench`: throughput and memory figures, each against its target, peers in the same run.

Every measurement runs in a fresh child process so peak RSS is the whole process's
(``ru_maxrss``), as Lambda would see it. Figures go to stdout, to
``benchmarks/results.json`` and, with ``--update-readme``, into the README table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from late_paths import table as late_paths_table
from report_deliver import VARIANTS as DELIVER_VARIANTS
from report_deliver import deliver_table
from report_scale import SHAPES, scale_table
from report_sections import sections_table
from tables import (
    acknowledgment_table,
    backlog_table,
    cold_start_table,
    fanout_table,
    hostile_table,
    ingest_table,
    large_999_table,
    parse_table,
    reconciliation_table,
)
from write_paths import SHAPES as WRITE_SHAPES
from write_paths import table as write_paths_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
RESULTS = HERE / "results.json"
README = ROOT / "README.md"
# Sections of the README's performance part, in the order they are measured (ingest also
# measures the acknowledgments and the fan-out).
SECTIONS = ("parse", "hostile", "large999", "ingest", "backlog", "report", "deliver", "sections", "writes", "late",
            "reconciliation", "cold")  # fmt: skip


# -- workloads (each runs inside a child process) --------------------------------------------


def _peak_rss_mb() -> float:
    """Peak RSS of this process plus the largest of the workers it waited for (Linux: KiB):
    the sum of both processes when a workload runs on two."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + workers) / 1024


def work_raw_scan(path: Path) -> dict[str, Any]:
    """The floor: read the file and count segment terminators with bytes.count."""
    count = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            count += chunk.count(b"~")
    return {"segments": count}


def work_acktrack_members(path: Path) -> dict[str, Any]:
    """acktrack: full member records (every field parsed), one process."""
    from acktrack.x12 import MemberTransaction, read_x12

    members = categories = 0
    with path.open("rb") as stream:
        for record in read_x12(stream):
            if type(record) is MemberTransaction:
                members += 1
                categories += len(record.reporting_categories)
    return {"members": members, "categories": categories}


def work_acktrack_parallel(path: Path) -> dict[str, Any]:
    """acktrack: full member records, the file split by byte range over two processes."""
    from acktrack.x12.parallel import count_members_parallel

    return {"members": count_members_parallel(path, workers=2)}


def work_acktrack_index(path: Path) -> dict[str, Any]:
    """acktrack: envelope and member counts only (the index pass)."""
    from acktrack.x12 import TransactionEnd, read_x12

    members = 0
    with path.open("rb") as stream:
        for record in read_x12(stream, members=False):
            if type(record) is TransactionEnd:
                members += record.members
    return {"members": members}


def work_acktrack_parse_json(path: Path) -> dict[str, Any]:
    """`acktrack parse --json FILE`: the command's own code path, output to /dev/null."""
    from acktrack.x12.describe import describe

    with path.open("rb") as stream, open(os.devnull, "w") as out:
        summary = describe(stream, out, name=path.name, as_json=True, path=path)
    return {"members": summary.members}


def work_pyx12_tokenizer(path: Path) -> dict[str, Any]:
    """pyx12 (peer): its X12Reader segment iterator over the same file."""
    import pyx12.x12file

    count = 0
    with pyx12.x12file.X12Reader(str(path)) as reader:
        for _ in reader:
            count += 1
    return {"segments": count}


def work_large_999(path: Path) -> dict[str, Any]:
    """A 999 answering 100,000 sets: read, stored in chunks, then applied to 100,000 sent
    sets on moto (in this process), as the inbound handler does; requests counted by
    operation with a hook on the handler's own client."""
    from collections import Counter

    from moto import mock_aws

    from acktrack.correlate.acknowledgments import apply_group_ack
    from acktrack.correlate.responses import ack_detail
    from acktrack.domain.ports import Outcome
    from acktrack.handlers import wiring
    from acktrack.local.stack import EmbeddedStack
    from acktrack.x12 import GroupAcknowledgment, read_x12

    started = time.perf_counter()
    with path.open("rb") as stream:
        (ack,) = [r for r in read_x12(stream, members=False) if type(r) is GroupAcknowledgment]
    detail = ack_detail(ack)
    read_seconds = time.perf_counter() - started
    for name, value in (
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
    ):  # moto only: no account is reached
        os.environ.setdefault(name, value)
    with mock_aws():
        stack = EmbeddedStack(ROOT / "template.yaml", {}, server=False).start()
        os.environ["TABLE_NAME"] = stack.table
        store = wiring.repository()
        _sent_sets(len(ack.sets))
        calls: Counter[str] = Counter()
        store.client.meta.events.register(
            "before-call.dynamodb", lambda model, **_: calls.update([model.name])
        )
        stored = store.put_ack({
            "kind": "999", "our_id": "US", "partner": "THEM", "target_control": "1",
            "ack_id": "999-THEM-1-1-0001", "source_bucket": "b", "source_key": "k",
            "received_at": "2024-01-16T00:00:00Z", "acknowledged_at": "2024-01-16T00:00:00+00:00",
            "status": ack.status, "detail": detail,
        })  # fmt: skip
        store_seconds = time.perf_counter() - started
        store_requests = sum(calls.values())
        back = store.ack_detail(stored)
        chunks = stored.detail.get("set_chunks", 0)
        applying = time.perf_counter()
        outcome = Outcome("acknowledgments")
        state = apply_group_ack(store, stored, outcome)
        apply_seconds = time.perf_counter() - applying
        accepted = int(store.counters("US", "THEM")["ALL"].sets_accepted)
        stack.stop()
    return {"sets": len(back["sets"]), "chunks": chunks, "requests": store_requests,
            "read_seconds": read_seconds, "store_seconds": store_seconds, "state": state,
            "accepted": accepted, "apply_seconds": apply_seconds,
            "apply_requests": dict(calls), "apply_total": sum(calls.values()) - store_requests}  # fmt: skip


def _sent_sets(count: int) -> None:
    """``count`` sent sets of one group (what ingesting their 834 leaves), written in batches."""
    from acktrack.store import keys
    from acktrack.store.models import GroupVersionItem, SetItem

    digest = "d" * 20
    pk = keys.group_pk("US", "THEM", "1")
    GroupVersionItem(pk, keys.group_version_sk("7", digest), our_id="US", partner="THEM",
                     group_control="1", interchange_control="7", digest=digest, sets=count,
                     sent_at="2024-01-15T12:00:00Z", source_key="outbound/big.834").save()  # fmt: skip
    with SetItem.batch_write() as batch:
        for number in range(1, count + 1):
            control = f"{number:09d}"
            set_id = keys.set_id("US", "THEM", "1", "7", digest, control)
            batch.save(SetItem(
                pk, keys.set_sk("7", digest, control), set_id=set_id, our_id="US", partner="THEM",
                interchange_control="7", group_control="1", transaction_control=control,
                digest=digest, interchange_pk="ISA#US#THEM#7", interchange_sk="V#" + digest,
                sent_at="2024-01-15T12:00:00Z", sent_day="2024-01-15", members=1,
                rk=keys.open_shard(set_id), rs=f"2024-01-15T12:00:00Z#{set_id}",
            ))  # fmt: skip


WORKLOADS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "raw_scan": work_raw_scan,
    "acktrack_members": work_acktrack_members,
    "acktrack_parallel": work_acktrack_parallel,
    "acktrack_index": work_acktrack_index,
    "acktrack_parse_json": work_acktrack_parse_json,
    "large_999": work_large_999,
    "pyx12_tokenizer": work_pyx12_tokenizer,
}


def _child(name: str, path: str) -> None:
    started = time.perf_counter()
    result = WORKLOADS[name](Path(path))
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


def measure(name: str, path: Path, repeat: int = 1) -> dict[str, Any]:
    """Run a workload in fresh processes; keep the fastest run (and its RSS)."""
    best: dict[str, Any] | None = None
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, __file__, "--child", name, str(path)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        result = json.loads(output.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    best["mb_per_s"] = path.stat().st_size / 1e6 / best["seconds"]
    return best


# -- inputs ------------------------------------------------------------------------------


def sample_file(members: int, sets: int = 1) -> Path:
    """A seeded synthetic 834, generated once and kept under benchmarks/.data."""
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    DATA.mkdir(exist_ok=True)
    path = DATA / f"834_{members}m_{sets}s.834"
    if not path.exists():
        print(f"  generating {path.name} ...", file=sys.stderr, flush=True)
        with path.open("wb") as stream:
            write_834(
                EnrollmentSpec(seed=2013, members=members, sets_per_group=sets, keep_members=False),
                stream,
            )
    return path


def large_999_file(sets: int = 100_000) -> Path:
    """A 999 accepting ``sets`` transaction sets (an AK2 loop each)."""
    from acktrack.synthetic.acknowledgments import GroupResponse, SetResponse, write_999

    DATA.mkdir(exist_ok=True)
    path = DATA / f"999_{sets}sets.x12"
    if not path.exists():
        with path.open("wb") as stream:
            write_999(stream, sender_id="THEM", receiver_id="US", interchange_control=1,
                      sent_at=datetime(2024, 1, 16), groups=[GroupResponse(
                          "1", [SetResponse(f"{n:09d}") for n in range(1, sets + 1)])])  # fmt: skip
    return path


# -- cold start ----------------------------------------------------------------------------

HANDLERS = ("ingest_outbound", "ingest_part", "ingest_inbound", "report")


def import_ms(handler: str, repeat: int = 5) -> float:
    """Importing one handler module in a fresh interpreter (`python -X importtime`), best of
    ``repeat``: what a Lambda cold start pays before the first event."""
    code = (
        "import importlib.util; "
        f"spec = importlib.util.spec_from_file_location('app', '{ROOT}/functions/{handler}/app.py'); "
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))"
    )
    best = float("inf")
    for _ in range(repeat):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            check=True, capture_output=True, text=True, env={**os.environ, "TABLE_NAME": "t"},
        )  # fmt: skip
        total = 0
        for line in result.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            _, cumulative, name = line.split("|")
            if not name.startswith("  "):  # top-level imports only: their cumulative time
                total += int(cumulative)
        best = min(best, total / 1000)
    return best


def cold_figures() -> dict[str, dict[str, float]]:
    """benchmarks/cold.py in its own process (it runs the local stack's server)."""
    output = subprocess.run(
        [sys.executable, str(HERE / "cold.py")], check=True, capture_output=True, text=True
    ).stdout  # fmt: skip
    figures: dict[str, dict[str, float]] = json.loads(output)
    return figures


# -- ingest ----------------------------------------------------------------------------------


def ingest_figures(members: int, *options: str) -> dict[str, Any]:
    """benchmarks/ingest.py: the handler's peak RSS alone."""
    return script_figures("ingest.py", "--members", str(members), *options)


# -- the report ----------------------------------------------------------------------------


def script_figures(script: str, *arguments: str) -> dict[str, Any]:
    """A benchmark script in a fresh process (its peak RSS is its own); its last JSON line."""
    output = subprocess.run(
        [sys.executable, str(HERE / script), *arguments], check=True, capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    return dict(json.loads(output.strip().splitlines()[-1]))


def backlog_figures(rows: int) -> dict[str, Any]:
    """benchmarks/report_backlog.py: the report's peak RSS alone."""
    return script_figures("report_backlog.py", "--rows", str(rows))


def _no_lines(figures: dict[str, Any]) -> dict[str, Any]:
    """A report-scale run without its trace lines, but each run's map batches' requests."""
    for name in ("open", "after_closing", "closed"):
        lines = figures[name].pop("lines", [])
        figures[name]["batch_requests"] = [line["dynamodb_requests"] for line in lines
                                           if line["function"] == "ReportBatchFunction"]  # fmt: skip
    return figures


def reconciliation_figures(members: int) -> dict[str, Any]:
    """benchmarks/reconciliation.py (each invocation in a fresh process of its own)."""
    return script_figures("reconciliation.py", "--members", str(members))


def parse_benchmark(repeat: int, with_pyx12: bool) -> dict[str, Any]:
    big, small = sample_file(100_000), sample_file(10_000)
    print(f"parse: {big.name} ({big.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    figures: dict[str, Any] = {"file_mb": big.stat().st_size / 1e6, "members": 100_000}
    names = ("raw_scan", "acktrack_index", "acktrack_members", "acktrack_parallel",
             "acktrack_parse_json")  # fmt: skip
    for name in names:
        print(f"  {name} ...", file=sys.stderr, flush=True)
        figures[name] = measure(name, big, repeat)
    figures["acktrack_members_10k"] = measure("acktrack_members", small, repeat)
    figures["acktrack_parse_json_10k"] = measure("acktrack_parse_json", small, repeat)
    if with_pyx12:
        print("  pyx12_tokenizer (slow) ...", file=sys.stderr, flush=True)
        figures["pyx12_tokenizer"] = measure("pyx12_tokenizer", big, 1)
    return figures


def update_readme(section: str, table: str) -> None:
    start, end = f"<!-- bench:{section}:start -->", f"<!-- bench:{section}:end -->"
    text = README.read_text()
    if start not in text or end not in text:
        print(f"README has no {start} ... {end} markers; not updated", file=sys.stderr)
        return
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    README.write_text(f"{before}{start}\n{table}\n{end}{after}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per figure; the fastest is kept"
    )
    parser.add_argument("--no-pyx12", action="store_true", help="skip the slow pyx12 peer run")
    parser.add_argument(
        "--ingest-members", type=int, default=100_000, metavar="N",
        help="members in the ingest benchmark's large file (0 skips it; it takes minutes on moto)",
    )  # fmt: skip
    parser.add_argument(
        "--hostile-mb", type=int, default=512, metavar="MIB",
        help="size of each hostile file (MaxObjectBytes is 2048 by default)",
    )  # fmt: skip
    parser.add_argument(
        "--update-readme", action="store_true", help="write the tables into README.md"
    )
    parser.add_argument("--report-people", default="1000,10000,100000", metavar="N,N,N",
                        help="open people in the report section's runs (each shape)")  # fmt: skip
    parser.add_argument("--write-members", default="1000,5000,20000", metavar="N,N,N",
                        help="members of each file in the writes section's runs (each shape)")  # fmt: skip
    parser.add_argument(
        "--only", metavar="SECTIONS",
        help=f"comma-separated sections to measure again ({', '.join(SECTIONS)}); the others keep "
        "their figures in benchmarks/results.json (example: --only ingest,cold)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    only = set(SECTIONS) if args.only is None else {name for name in args.only.split(",") if name}
    unknown = only - set(SECTIONS)
    if unknown or not only:
        named = f" (not {', '.join(sorted(unknown))})" if unknown else ""
        parser.error(f"--only: name sections among {', '.join(SECTIONS)}{named}")
    if "ingest" in only and not args.ingest_members:
        parser.error("--only ingest measures nothing with --ingest-members 0")
    # A partial run keeps the other sections' figures from the last run, if there was one.
    partial = only != set(SECTIONS) and RESULTS.exists()
    figures: dict[str, Any] = json.loads(RESULTS.read_text()) if partial else {}
    tables: dict[str, str] = {}

    def show(section: str, text: str) -> None:
        tables[section] = text
        print(text, flush=True)  # as measured: a late failure loses no table

    if "parse" in only:
        figures["parse"] = parse_benchmark(args.repeat, not args.no_pyx12)
        show("parse", parse_table(figures["parse"]))
    if "hostile" in only:
        print(f"hostile files of {args.hostile_mb:,} MiB, each path apart (minutes) ...",
              file=sys.stderr, flush=True)  # fmt: skip
        figures["hostile"] = script_figures("hostile.py", "--mb", str(args.hostile_mb))
        show("hostile", hostile_table(figures["hostile"]))
    if "large999" in only:
        figures["large_999"] = measure("large_999", large_999_file(), 1)
        show("large999", large_999_table(figures["large_999"]))
    if "ingest" in only and args.ingest_members:
        print(
            f"ingest 10,000 and {args.ingest_members:,} members (moto; minutes) ...",
            file=sys.stderr,
            flush=True,
        )
        figures["ingest"] = {
            "small": ingest_figures(10_000),
            "big": ingest_figures(args.ingest_members),
        }
        show("ingest", ingest_table(figures["ingest"]["big"], figures["ingest"]["small"]))
        print("acknowledgments for 1,000 sets (moto; minutes) ...", file=sys.stderr, flush=True)
        figures["acks"] = {
            "sets_1": ingest_figures(1_000, "--sets", "1000"),
            "sets_10": ingest_figures(10_000, "--sets", "1000"),
            **figures["ingest"],
        }
        show("acks", acknowledgment_table(figures["acks"]))
        print("fan-out at a budget scaled down 100 times ...", file=sys.stderr, flush=True)
        figures["fanout"] = ingest_figures(
            10_000, "--part-bytes", str(32 * 1024 * 1024 // 100), "--no-follow"
        )
        show("fanout", fanout_table(figures["fanout"]))
    if "backlog" in only:
        print("the report over 100,000 and 1,000,000 open rows (minutes) ...", file=sys.stderr,
              flush=True)  # fmt: skip
        figures["backlog"] = {"small": backlog_figures(100_000), "big": backlog_figures(1_000_000)}
        show("backlog", backlog_table(figures["backlog"]["small"], figures["backlog"]["big"]))
    if "report" in only:
        sizes = [int(n) for n in args.report_people.split(",") if n]
        print(f"the report's workflow over {sizes} open people, two shapes (moto; many minutes) ...",
              file=sys.stderr, flush=True)  # fmt: skip
        figures["report_scale"] = {shape: [_no_lines(script_figures(
            "report_scale.py", "--people", str(n), "--shape", shape)) for n in sizes]
            for shape in SHAPES}  # fmt: skip
        show("report", scale_table(figures["report_scale"]))
    if "deliver" in only:
        print("the report's Deliver over 1,000,000 open people, three backlogs (minutes) ...",
              file=sys.stderr, flush=True)  # fmt: skip
        figures["report_deliver"] = [
            script_figures("report_deliver.py", "--people", "1000000", "--shape", shape,
                           "--seed", str(seed), *(["--rejected"] if rejected else []))
            for shape, rejected, seed in DELIVER_VARIANTS
        ]  # fmt: skip
        show("deliver", deliver_table(figures["report_deliver"]))
    if "sections" in only:
        print("the report's sections task with the window full, 1 and 20 insurers (minutes) ...",
              file=sys.stderr, flush=True)  # fmt: skip
        figures["report_sections"] = [
            script_figures("report_sections.py", "--people", "30000", "--insurers", str(insurers))
            for insurers in (1, 20)
        ]  # fmt: skip
        show("sections", sections_table(figures["report_sections"]))
    if "writes" in only:
        sizes = [int(n) for n in args.write_members.split(",") if n]
        print(f"the write paths at {sizes} members, two shapes (moto; many minutes) ...",
              file=sys.stderr, flush=True)  # fmt: skip
        figures["write_paths"] = [
            script_figures("write_paths.py", "--members", str(n), "--shape", shape)
            for n in sizes for shape in WRITE_SHAPES
        ]  # fmt: skip
        show("writes", write_paths_table(figures["write_paths"]))
    if "late" in only:
        sizes = [int(n) for n in args.write_members.split(",") if n]
        print(f"what was never sent or rejected after the 999, and the events, at {sizes} members "
              "(moto; many minutes) ...", file=sys.stderr, flush=True)  # fmt: skip
        figures["late_paths"] = [
            script_figures("late_paths.py", "--members", str(n), "--shape", shape)
            for n in sizes for shape in WRITE_SHAPES
        ]  # fmt: skip
        show("late", late_paths_table(figures["late_paths"]))
    if "reconciliation" in only:
        print("an insurer's population of 1,000,000 members (minutes) ...", file=sys.stderr,
              flush=True)  # fmt: skip
        figures["reconciliation"] = reconciliation_figures(1_000_000)
        show("reconciliation", reconciliation_table(figures["reconciliation"]))
    if "cold" in only:
        print("cold start ...", file=sys.stderr, flush=True)
        figures["cold_start_ms"] = {name: import_ms(name) for name in HANDLERS}
        figures["cold_start"] = cold_figures()
        show("cold", cold_start_table(figures["cold_start_ms"], figures["cold_start"]))
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    if args.update_readme:
        for section, text in tables.items():
            update_readme(section, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
