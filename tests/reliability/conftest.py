"""Print what the reliability suite tried at the end; with ACKTRACK_WRITE_FIGURES=1 (`make
reliability`), also write those figures into docs/RELIABILITY.md, naming the commit."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.reliability.support import FIGURES

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / ".acktrack" / "reliability.json"
DOC = ROOT / "docs" / "RELIABILITY.md"
START, END = "<!-- reliability:figures:start -->", "<!-- reliability:figures:end -->"
LABELS = {
    "clean_day_calls": "AWS calls the handlers make on the clean day",
    "permutations": "arrival orders tried, each against the first",
    "redeliveries": "extra deliveries in those orders",
    "faults_throttling": "faults injected: throttling after the SDK's retries",
    "faults_timeout": "faults injected: timeouts",
    "faults_crash": "faults injected: a crash between two writes",
    "faults_unprocessed": "faults injected: BatchWriteItem leaving items unprocessed",
    "faults_lost": "faults injected: a request applied whose response was lost",
    "start_faults_throttled": "file workflow: StartExecution throttled past the SDK's retries",
    "start_faults_stopped": "file workflow: the function stopping after the part orders were written",
    "start_faults_lost": "file workflow: the execution started, StartExecution's answer lost",
    "concurrent_days": "days delivered by four workers at once, each against one after another",
    "concurrent_deliveries": "deliveries in those days",
    "permissions_granted": "(function, action) grants in the template's roles",
    "permissions_unused_by_handlers": "of those, used by AWS for the function or on paths named in the test, not by these days' calls",
    "permission_resources": "(function, statement, resource) grants in the template's roles",
    "permission_resources_unused_by_handlers": "of those, named by no request of these days (listed with their reason)",
    "faults_resent": "faults injected: a request applied, its answer lost inside the SDK's retries, sent again by the SDK",
    "faults_lost_report": "report calls applied whose answer was lost after the SDK's retries, each date emailed once",
    "faults_resent_report": "report calls applied whose answer was lost inside the SDK's retries, each date emailed once",
    "faults_crash_batch": "report batches crashed at one of their calls, retried by the workflow, the report the clean one",
    "fault_redeliveries": "redeliveries after those faults",
    "recon_faults_crash": "faults in a reconciliation day (an audit 834 in parts, an extract): a crash",
    "recon_faults_lost": "faults in a reconciliation day: a request applied whose answer was lost",
    "recon_faults_throttling": "faults in a reconciliation day: throttling",
    "canaries_checked": "PHI canary checks (canary x place), none found",
    "fuzz_inputs": "fuzz inputs through the reader",
    "fanout_faults_throttling": "faults in a day of files cut in parts: throttling",
    "fanout_faults_timeout": "faults in a day of files cut in parts: timeouts",
    "fanout_faults_crash": "faults in a day of files cut in parts: a crash",
    "slice_faults_throttling": "faults in a 999 applied in slices: throttling",
    "slice_faults_crash": "faults in a 999 applied in slices: a crash",
    "fuzz_through_handlers": "of those, through the Lambda handlers",
}


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
            check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


COMMIT = _commit()  # at the start: the code measured, whatever is committed meanwhile


def figures_table(figures: dict[str, int], passed: bool) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        f"Measured at commit {COMMIT} on {when} by `make reliability` "
        f"({'every test passed' if passed else 'SOME TESTS FAILED'}).",
        "",
        "| what | figure |",
        "|---|---|",
    ]
    lines += [
        f"| {LABELS.get(name, name)} | {value:,} |" for name, value in sorted(figures.items())
    ]
    return "\n".join(lines)


def write_figures(figures: dict[str, int], passed: bool) -> None:
    text = DOC.read_text()
    if START not in text or END not in text:
        return
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    DOC.write_text(f"{before}{START}\n{figures_table(figures, passed)}\n{END}{after}")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int) -> None:
    if not FIGURES:
        return
    terminalreporter.write_sep("-", "reliability figures")
    for name, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{name}: {value:,}")
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text(json.dumps(dict(sorted(FIGURES.items())), indent=1) + "\n")
    if os.environ.get("ACKTRACK_WRITE_FIGURES") == "1":
        write_figures(dict(FIGURES), passed=exitstatus == 0)
