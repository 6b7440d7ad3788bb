"""`make bench`: the README tables, each computed from the figures it shows ("met" only
when the figure meets its target)."""

from __future__ import annotations

import os
import platform
import re
from typing import Any


def large_999_table(row: dict[str, Any]) -> str:
    stored = row["sets"] == 100_000
    applied = row["accepted"] == row["sets"] and row["state"] == "applied"
    transactions = row["apply_requests"].get("TransactWriteItems", 0)
    # An assumption, not a measurement: a 100-item transaction on DynamoDB within 150 ms.
    aws_seconds = transactions * 0.150 + (row["apply_total"] - transactions) * 0.020
    requests = ", ".join(
        f"{count:,} {name}" for name, count in sorted(row["apply_requests"].items())
    )
    return "\n".join([
        "| 999 answering | read and kept | stored | chunk items | applied (moto, this process) | "
        "DynamoDB requests to store and apply | sets accepted |",
        "|---|---|---|---|---|---|---|",
        f"| {row['sets']:,} sets | {row['read_seconds']:.2f} s | {row['store_seconds']:.2f} s "
        f"({row['requests']:,} requests) | {row['chunks']} | {row['apply_seconds']:.0f} s | {requests} | "
        f"{row['accepted']:,} |",
        "",
        f"- A 999 for 100,000 sets is stored, read back whole and applied: "
        f"{'met' if stored and applied else 'MISSED'} (it was quarantined from about 3,500 sets, then "
        "applied with two requests per set). Sets move in shared transactions of up to 100 items "
        f"(98 sets and their two counters): {transactions:,} transactions. At 150 ms per transaction "
        f"and 20 ms per other request (an assumption, not measured here) that is about "
        f"{aws_seconds / 60:.1f} minutes on DynamoDB, within Lambda's 15. moto's time is its own "
        "serialisation, about 5 ms per item.",
    ])  # fmt: skip


def _ending(row: dict[str, Any]) -> str:
    """How a file ends in a function: the finding code its quarantine reason names."""
    if row["outcome"] != "quarantined":
        return "read; handed to the store" if row["outcome"] == "stored" else row["outcome"]
    found = re.search(r"\b(?:TA1|AK9|IK5|IK3|IK4|ACK) ([a-z0-9_]+) \(", row["reason"])
    if found:
        return f"quarantined: `{found.group(1)}`"
    return "quarantined: " + re.split("[:;]", row["reason"])[0]


def hostile_table(figures: dict[str, Any]) -> str:
    """Peak RSS per hostile shape and path, against the bounds; how each file ends."""
    bounds = figures["bounds"]
    paths = [path for path in bounds if all(path in row for row in figures["shapes"].values())]
    names = {"outbound": "outbound function", "inbound": "inbound function",
             "planner": "part planner", "parse": "`parse`", "parse_json": "`parse --json`"}  # fmt: skip
    lines = [
        f"Hostile files of {figures['mb']:,} MiB, each path in a fresh process (peak RSS, MB; "
        "the functions: pass 1 and what follows, on a file-backed source):",
        "",
        "| file | " + " | ".join(names[path] for path in paths) + " | outbound / inbound |",
        "|---|" + "---|" * len(paths) + "---|",
        "| bound | " + " | ".join(f"≤ {bounds[path]}" for path in paths) + " | |",
    ]
    worst = dict.fromkeys(paths, 0.0)
    leaks = []
    for shape, row in figures["shapes"].items():
        cells = []
        for path in paths:
            peak = row[path]["peak_rss_mb"]
            worst[path] = max(worst[path], peak)
            cells.append(f"{peak:.0f}")
        endings = [_ending(row[path]) for path in ("outbound", "inbound") if path in row]
        leaks += [shape for path in ("outbound", "inbound")
                  if path in row and row[path]["canary_in_reason"]]  # fmt: skip
        lines.append(f"| {row['label']} | " + " | ".join(cells) + f" | {' / '.join(endings)} |")
    met = all(worst[path] <= bounds[path] for path in paths) and not leaks
    lines += [
        "",
        f"- Hostile shapes within their bounds: {'met' if met else 'MISSED'} (worst: "
        + ", ".join(f"{names[path]} {worst[path]:.0f} MB" for path in paths)
        + "). No reason quotes the file"
        + (f" (MISSED: {', '.join(leaks)})." if leaks else "."),
    ]
    return "\n".join(lines)


def cold_start_table(imports: dict[str, float], cold: dict[str, dict[str, float]]) -> str:
    lines = [
        "Each handler in a fresh process, as a new container runs it (`benchmarks/cold.py`): the "
        "import, then its first event against the local stack's server, then a second event of "
        "the same kind and size. A cold start costs the import plus what the first event takes "
        "over the warm one (deferred imports, the first boto3 and PynamoDB clients):",
        "",
        "| handler | import (best of 5) | first event | same event warm | cold start | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, run in cold.items():
        lines.append(
            f"| `functions/{name}/app.py` | {imports[name]:.0f} ms | {run['first_event_ms']:.0f} ms | "
            f"{run['warm_event_ms']:.0f} ms | {run['cold_ms']:.0f} ms | ≤ 300 ms |"
        )
    worst = max(run["cold_ms"] for run in cold.values())
    lines += [
        "",
        f"- Cold-start target (≤ 300 ms): {'met' if worst <= 300 else 'MISSED'} (worst {worst:.0f} ms). "
        "Most of it is botocore: importing it with PynamoDB and building each client from its "
        "JSON service model. Lambda's SnapStart for Python restores an initialised container "
        "instead; it is not turned on in template.yaml yet.",
    ]
    return "\n".join(lines)


def acknowledgment_table(figures: dict[str, Any]) -> str:
    """999s, TA1s and the report: DynamoDB requests and items read, against the targets."""
    one, ten = figures["sets_1"], figures["sets_10"]
    small, big = figures["small"], figures["big"]
    rows = [
        ("999 accepting 1,000 sets, 1 member each", one["ack_999"], "O(sets)"),
        ("999 accepting 1,000 sets, 10 members each", ten["ack_999"], "the same as 1 member each"),
        ("TA1 rejecting an interchange of 1,000 sets, 1 member each", one["ta1_reject"], "O(sets)"),
        ("TA1 rejecting an interchange of 1,000 sets, 10 members each", ten["ta1_reject"], "the same"),
        (f"999 accepting one {small['members']:,}-member set", small["ack_999"], "O(sets)"),
        (f"999 accepting one {big['members']:,}-member set", big["ack_999"], "the same"),
        (f"TA1 rejecting a {small['members']:,}-member interchange", small["ta1_reject"], "O(sets)"),
        (f"TA1 rejecting a {big['members']:,}-member interchange", big["ta1_reject"], "the same"),
        (f"report: {big['report']['confirmed']:,} confirmed, {big['report']['pending']:,} pending "
         "(FirstPassPeople 0: the backlog only)", big["report"],
         "about 2 items per open member, whatever is confirmed"),
    ]  # fmt: skip
    first_pass = big.get("report_first_pass")
    if first_pass:
        rows.append((f"the same report with the first-pass rate (FirstPassPeople "
                     f"{first_pass['first_pass_people']:,}, the default)", first_pass,
                     "one family query per person, up to FirstPassPeople"))  # fmt: skip
    lines = [
        "Acknowledgments and the report (DynamoDB requests counted with a botocore hook; items read "
        "are Query ScannedCount plus GetItem hits):",
        "",
        "| work | DynamoDB requests | items read | target |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {label} | {row['requests']:,} | {row['items_read']:,} | {target} |"
        for label, row, target in rows
    ]
    by_sets = one["ack_999"]["requests"] == ten["ack_999"]["requests"] and (
        one["ta1_reject"]["requests"] == ten["ta1_reject"]["requests"]
    )
    by_members = small["ack_999"]["requests"] == big["ack_999"]["requests"] and (
        small["ta1_reject"]["requests"] == big["ta1_reject"]["requests"]
    )
    # Each open member: its index entry and its family's partition (the ledger); confirmed
    # members add nothing (the 10,000- and 100,000-member runs read the same).
    report_ok = big["report"]["items_read"] == small["report"]["items_read"] and (
        big["report"]["items_read"] <= 2 * big["report"]["pending"] + 10
    )
    acks_ok = "met" if by_sets and by_members else "MISSED"
    lines += [
        "",
        f"- Acknowledgment targets (O(sets), whatever the member count): {acks_ok} "
        f"({one['ack_999']['requests']:,} requests for 1,000 sets with {one['members']:,} or {ten['members']:,} "
        f"members; {big['ta1_reject']['requests']:,} for a {big['members']:,}-member interchange, as for "
        f"{small['members']:,}). Sets are read by query and move in shared transactions of up to 100 "
        "items (the sets and the counters they move).",
        f"- Report target (about 2 items per open member, the same with {big['report']['confirmed']:,} "
        f"confirmed as with {small['report']['confirmed']:,}): {'met' if report_ok else 'MISSED'} "
        f"({big['report']['items_read']:,} items for {big['report']['pending']:,} pending members, in "
        f"{big['report']['requests']} queries: the sparse index, then each open member's family; "
        f"{small['report']['items_read']:,} with {small['report']['confirmed']:,} confirmed).",
    ]
    if first_pass:
        extra = first_pass["requests"] - big["report"]["requests"]
        # About one query per person: a family partition over 1 MB takes a second page.
        budget_ok = extra <= first_pass["first_pass_people"] * 1.05 + 10
        lines.append(
            f"- First-pass budget (about one family query per person, FirstPassPeople "
            f"{first_pass['first_pass_people']:,}): {'met' if budget_ok else 'MISSED'} ({extra:,} "
            f"queries and {first_pass['items_read'] - big['report']['items_read']:,} items more than the "
            "backlog alone)."
        )
    return "\n".join(lines)


def fanout_table(figures: dict[str, Any]) -> str:
    """A file cut in parts run by the file workflow, at a budget scaled down 100 times."""
    fan = figures["fanout"]
    ok = fan["failed_parts"] == 0 and fan["members_tracked"] == figures["members"]
    return "\n".join([
        "Larger than one Lambda, scaled down 100 times: a 1,000,000-member file (about 430 MB) is cut in "
        "parts of PartBytes = 32 MiB; here a 10,000-member file is cut in parts of 32 MiB / 100, on the "
        "local stack (the file workflow's Distributed Map and Finish, run by moto's interpreter from "
        "template.yaml; PartMembers set out of the way):",
        "",
        "| members | file | PartBytes | parts (Map items) | part function invocations (parts and Finish) | "
        "members tracked | member items per write request | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
        f"| {figures['members']:,} | {figures['file_mb']:.1f} MB | {fan['part_bytes']:,} | {fan['parts']} | "
        f"{fan['part_invocations']} | {fan['members_tracked']:,} | {figures['items_per_write_request']:.1f} | "
        f"{figures['peak_rss_mb']:.0f} MB |",
        "",
        f"- Fan-out: {'met' if ok else 'MISSED'}: every part ran once, the workflow's Finish finished the file "
        "once, and the counters show every member. tests/e2e/test_fanout.py proves the final state equals one "
        "invocation's whatever the files' order, delivered twice and with failed calls.",
    ])  # fmt: skip


def ingest_table(big: dict[str, Any], small: dict[str, Any]) -> str:
    flat = big["peak_rss_mb"] / small["peak_rss_mb"]
    ordered = sorted(big["requests"].items(), key=lambda item: -item[1])
    requests = ", ".join(f"{count:,} {operation}" for operation, count in ordered)
    lines = [
        "One outbound Lambda ingesting a large 834 (handler in this process, moto's server in another):",
        "",
        "| members | file | time (moto) | peak RSS | write requests | member items per write request | targets |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in (small, big):
        lines.append(
            f"| {row['members']:,} | {row['file_mb']:.1f} MB | {row['seconds']:.0f} s | {row['peak_rss_mb']:.0f} MB | "
            f"{row['write_requests']:,} | {row['items_per_write_request']:.1f} | ≤ 256 MB, ≥ 20 items per write |"
        )
    ok = big["peak_rss_mb"] <= 256 and big["items_per_write_request"] >= 20
    lines += [
        "",
        f"- Ingest targets: {'met' if ok else 'MISSED'} ({big['peak_rss_mb']:.0f} MB peak at "
        f"{big['members']:,} members, {flat:.2f}x the {small['members']:,}-member run; "
        f"{big['items_per_write_request']:.1f} member items per write request).",
        f"- Requests at {big['members']:,} members: {requests}. The queries are one consistent read of each "
        "family's partition, for the data-quality checks.",
        f"- Time is moto's, not DynamoDB's: moto's server answers in Python, one request at a time; it "
        f"needed {big.get('moto_rss_mb', 0) / 1024:.1f} GB at {big['members']:,} members in this run. "
        "docs/CAPACITY.md estimates the time on DynamoDB.",
    ]
    return "\n".join(lines)


def _row(
    label: str, result: dict[str, Any] | None, target: str = "", baseline: float | None = None
) -> str:
    if result is None:
        return f"| {label} | skipped | | | {target} |"
    ratio = ""
    if baseline:
        ratio = f"{result['seconds'] / baseline:.1f}x"
    return (
        f"| {label} | {result['seconds']:.2f} s | {result['mb_per_s']:.0f} MB/s | "
        f"{result['peak_rss_mb']:.0f} MB | {ratio} | {target} |"
    )


def parse_table(figures: dict[str, Any]) -> str:
    members = figures["acktrack_members"]
    parallel = figures["acktrack_parallel"]
    command = figures["acktrack_parse_json"]
    small = figures["acktrack_members_10k"]
    raw = figures["raw_scan"]["seconds"]
    flat = members["peak_rss_mb"] / small["peak_rss_mb"]
    best = max(members["mb_per_s"], parallel["mb_per_s"])
    memory_ok = members["peak_rss_mb"] <= 64 and flat <= 1.3
    lines = [
        f"Parsing a 100,000-member 834 ({figures['file_mb']:.1f} MB), whole process, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}:",
        "",
        "| reader | time | throughput | peak RSS | time vs raw scan | target |",
        "|---|---|---|---|---|---|",
        _row("raw `bytes.count` scan (floor)", figures["raw_scan"], "", raw),
        _row("acktrack, full member records, 1 process", members, "≥ 50 MB/s, ≤ 64 MB", raw),
        _row("acktrack, full member records, 2 processes", parallel, "≥ 50 MB/s", raw),
        _row("acktrack, envelopes and counts only", figures["acktrack_index"], "", raw),
        _row(
            "`acktrack parse --json` (the command; 2 processes)",
            command,
            "≥ 10x pyx12, ≤ 64 MB",
            raw,
        ),
        _row("pyx12 4.0 tokenizer (peer)", figures.get("pyx12_tokenizer"), "", raw),
        "",
        f"- Throughput target (≥ 50 MB/s on a 2-core machine): {'met' if best >= 50 else 'MISSED'} "
        f"({parallel['mb_per_s']:.0f} MB/s with the file split over 2 processes; "
        f"one process alone {members['mb_per_s']:.0f} MB/s).",
        f"- Memory target (≤ 64 MB, flat): {'met' if memory_ok else 'MISSED'} "
        f"({members['peak_rss_mb']:.0f} MB at 100k members vs {small['peak_rss_mb']:.0f} MB "
        f"at 10k: {flat:.2f}x).",
    ]
    command_small = figures["acktrack_parse_json_10k"]
    command_flat = command["peak_rss_mb"] / command_small["peak_rss_mb"]
    command_memory = command["peak_rss_mb"] <= 64 and command_flat <= 1.3
    lines.append(
        f"- `acktrack parse --json` memory (≤ 64 MB, flat; both processes added): "
        f"{'met' if command_memory else 'MISSED'} ({command['peak_rss_mb']:.0f} MB at 100k members vs "
        f"{command_small['peak_rss_mb']:.0f} MB at 10k: {command_flat:.2f}x)."
    )
    pyx12 = figures.get("pyx12_tokenizer")
    if pyx12:
        speedup = pyx12["seconds"] / command["seconds"]
        lines += [
            f"- `acktrack parse --json` vs pyx12's tokenizer on the same file (≥ 10x): "
            f"{'met' if speedup >= 10 else 'MISSED'} ({command['seconds']:.2f} s vs "
            f"{pyx12['seconds']:.2f} s: {speedup:.1f}x).",
            f"- One process building full member records is {pyx12['seconds'] / members['seconds']:.1f}x "
            f"faster than pyx12 tokenizes the file.",
        ]
    else:
        lines.append("- pyx12's tokenizer was skipped (--no-pyx12): no speed-up is claimed.")
    return "\n".join(lines)


def backlog_table(small: dict[str, Any], big: dict[str, Any]) -> str:
    """The report over a large backlog (benchmarks/report_backlog.py), two sizes in one run."""
    ok = big["peak_rss_mb"] <= 256
    lines = [
        "The daily report over a backlog of open rows, the store faked behind the reads the report "
        "makes (collect, archive JSON and CSV, build the email; one process):",
        "",
        "| open rows | people | time | peak RSS | archived JSON | archived CSV | email | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['rows']:,} | {row['people']:,} | {row['seconds']:.0f} s | {row['peak_rss_mb']:.0f} MB | "
        f"{row['json_mb']:.0f} MB | {row['csv_mb']:.0f} MB | {row['email_kb']:.0f} KB | ≤ 256 MB |"
        for row in (small, big)
    ]
    lines += [
        "",
        f"- Peak memory at or under 256 MB with 1,000,000 open rows: {'met' if ok else 'MISSED'}. "
        "Rows go to a temporary file as they are made; the email keeps the `EmailDetailRows` most "
        "urgent. What still grows with the backlog is one 8-byte hash per person (to count people "
        "once) and the list of open sets.",
    ]
    return "\n".join(lines)


def reconciliation_table(figures: dict[str, Any]) -> str:
    """An insurer's population held against ours (benchmarks/reconciliation.py): the largest
    invocation of a file fanned out in parts, against a smaller file held in one go."""
    lines = [
        f"An insurer's population of {figures['members']:,} members ({figures['file_mb']:.0f} MB audit 834) "
        f"held against ours, the store faked behind the ports, every member compared and every row "
        f"written; cut in {figures['parts']} parts of at most {figures['part_bytes'] // 2**20} MiB "
        f"and about {figures.get('part_members', 0):,} members (PartBytes, PartMembers), each part "
        "one invocation, then the workflow's Finish:",
        "",
        "| invocation | members compared | time | peak RSS |",
        "|---|---|---|---|",
    ]
    for name in ("first", "middle", "last"):
        part = figures[name]
        lines.append(
            f"| part {part['index'] + 1} of {part['parts']}{', then Finish' if name == 'last' else ''} "
            f"| {part['rows']:,} | {part['seconds']:.1f} s "
            f"| {part['peak_rss_mb']:.0f} MB |"
        )
    one = figures.get("one_go")
    if one:
        lines.append(
            f"| peer: a {one['members']:,}-member file ({one['file_mb']:.0f} MB) in one invocation "
            f"| {one['members']:,} | {one['seconds']:.1f} s | {one['peak_rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        "- A part holds only its own members, so its peak does not grow with the file; Finish "
        "(measured in the last part's process) holds the subscriber ids every part named (to find "
        "ours the insurer does not hold).",
    ]
    return "\n".join(lines)
