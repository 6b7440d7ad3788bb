"""`acktrack replay --report-at T` (the scheduled report at each T, as on those days) and
`--trace-requests FILE` (one line per invocation, the workflow's tasks included)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from acktrack.cli import main
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SENT = datetime(2024, 1, 15, 12)
TASKS = {"ReportPlanFunction", "ReportBatchFunction", "ReportSectionsFunction", "ReportFunction"}


def _day(folder: Path) -> list[str]:
    paths = []
    for number, sent in enumerate((SENT, SENT + timedelta(days=2))):
        buffer = io.BytesIO()
        write_834(EnrollmentSpec(members=6, sets_per_group=3, seed=80 + number, sent_at=sent,
                                 interchange_control=1001 + number,
                                 first_group_control=1 + 10 * number,
                                 subscriber_id_start=100000001 + 1000 * number), buffer)  # fmt: skip
        path = folder / "outbound" / f"{number}.834"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
        paths.append(str(path))
    return paths


def test_a_report_at_each_time_given_and_every_invocation_traced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two scheduled reports: the first (the second file not yet 48 hours old) lists the
    first file's as overdue; the later one both. The trace has a line per invocation: each
    file's, then each report's plan, batches (two sets a batch), sections and delivery, at
    its schedule's time."""
    trace = tmp_path / "trace.jsonl"
    argv = ["replay", "--json", "--template", str(ROOT / "template.yaml"),
            "--report-at", "2024-01-18T07:00", "--report-at", "2024-01-20T07:00",
            "--trace-requests", str(trace), "--parameter", "ReportBatchSets=2",
            *_day(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    first, second = document["reports"]
    assert first["as_of"].startswith("2024-01-18T07:00") and second["as_of"].startswith(
        "2024-01-20T07:00"
    )
    pending = [(report["summary"]["pending_overdue"], report["summary"]["pending_within_sla"])
               for report in (first, second)]  # fmt: skip
    assert pending == [(6, 6), (12, 0)]
    assert len(document["files"]) == 2 and document["failed_events"] == 0
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert [line["invocation"] for line in lines] == list(range(1, len(lines) + 1))
    assert [line["function"] for line in lines[:2]] == ["IngestOutboundFunction"] * 2
    for moment in ("2024-01-18T07:00:00Z", "2024-01-20T07:00:00Z"):
        run = [line for line in lines if line["at"] == moment]
        # The report's tasks, then the events publisher (its every-minute schedule).
        assert {line["function"] for line in run} == TASKS | {"PublishEventsFunction"}
        assert all(line["ok"] and line["dynamodb_requests"] >= 0 for line in run)
    batches = [line for line in lines if line["function"] == "ReportBatchFunction"]
    assert len(batches) == 3 + 3  # every open set (within the SLA too), two a batch
    assert all(line["dynamodb_requests"] > 0 for line in batches)


def test_report_at_and_as_of_are_one_or_the_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outbound" / "a.834"
    path.parent.mkdir()
    path.write_bytes(b"ISA")
    assert main(["replay", "--as-of", "2024-01-20T07:00", "--report-at", "2024-01-20T07:00",
                 str(path)]) == 2  # fmt: skip
    assert "give --as-of (one report) or --report-at (each a report), not both" in (
        capsys.readouterr().err
    )
