"""End to end through the embedded local stack (moto's threaded server, HTTP), as a user runs it."""

from __future__ import annotations

import email
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from acktrack.local.demo import DEMO_PARAMETERS, build_day, operator_resolutions
from acktrack.local.replay import ReplayError, ReplayResult, replay
from tests.support import SAMPLES

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_day_through_the_local_stack_one_by_one_then_in_parts_by_four_workers(
    tmp_path: Path,
) -> None:
    """The demo day through the stack's endpoint, each file in turn; then again cut in parts
    with four invocations at once (as Lambda runs them: files, their parts and a 999 meeting
    its 834), which reports exactly the same. (Whole files by four workers, and parts one
    after another in any order and delivered twice, are tests/reliability/test_concurrent_days.py's
    and tests/e2e/test_fanout.py's.)"""
    as_of = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    paths = build_day(tmp_path, as_of)
    result = replay(paths, as_of=as_of, template=ROOT / "template.yaml", parameters=DEMO_PARAMETERS,
                    before_report=operator_resolutions(as_of))  # fmt: skip
    _the_demo_day_s_report(result)
    at_once = replay(paths, as_of=as_of, template=ROOT / "template.yaml", part_bytes=8192,
                     concurrency=4, parameters=DEMO_PARAMETERS,
                     before_report=operator_resolutions(as_of))  # fmt: skip
    assert any(f.get("parts", 0) > 3 for f in at_once.files)  # the larger files went in parts
    assert at_once.failures == []
    assert sorted(f["outcome"] for f in at_once.files) == sorted(f["outcome"] for f in result.files)
    assert _stable(at_once.report) == _stable(result.report)
    assert len(at_once.emails) == 1


def _the_demo_day_s_report(result: ReplayResult) -> None:
    summary = result.report["summary"]
    # 365 members three days ago and this morning, 60 seven weeks ago, 30 re-sent by mistake,
    # Harbor's rejected set of 30, corrected and resent this morning, and Cedar's 8 files of 4.
    assert summary["members_sent"] == 517
    assert (
        summary["confirmed"]
        + summary["rejected"]
        + summary["pending_overdue"]
        + summary["pending_within_sla"]
        + summary["resolved_by_operator"]  # no 999 ever came; Summit confirmed by phone
        == 517
    )
    # Rejected: Harbor's set resent, and its third set refused by its 824 after the 999.
    assert (summary["rejected"], summary["pending_overdue"], summary["pending_within_sla"]) == (
        60,
        44,
        68,
    )
    # The rejected set's 30 transactions are closed by the confirmed resend.
    assert (summary["resolved_by_resend"], summary["resolved_by_operator"]) == (30, 1)
    # Pine effectuated all but six of its old file (past the 45-day SLA) and 119 of 120 new ones.
    assert (summary["effectuated"], summary["not_effectuated"]) == (54 + 119, 6)
    rows = result.report["unconfirmed"]
    assert {row["status"] for row in rows} == {
        "overdue",
        "not_effectuated",
        "rejected_after_accept",
    }
    assert len(rows) == 44 + 6 + 30 == summary["people_unconfirmed"]
    # Where no file was: two actions never sent, Cedar gone quiet, its ISA13 and GS06 never copied.
    assert (summary["never_sent"], summary["silent_insurers"], summary["control_gaps"]) == (2, 1, 2)
    assert "500000001" not in {row["subscriber_id"] for row in rows}  # resolved by the operator
    # The operator's resolution made during the day (before the report), as an auditor reads
    # it: each its own field, the claimed --by beside the identity that wrote it.
    assert result.report["resolutions"] == [{
        "at": "2026-03-02T06:00:00Z", "partner": "SUMMITCARE01", "subscriber_id": "500000001",
        "member_id": None, "reason": "Summit confirmed coverage by phone (demo call log 0042)",
        "by": "demo-operator", "caller": "os-user:acktrack-demo", "closed": 1,
    }]  # fmt: skip
    assert summary["resolutions"] == 1
    assert {row["partner"] for row in rows if row["status"] == "not_effectuated"} == {
        "PINEHEALTH01"
    }
    # Harbor's rejected set was resent and accepted; its third set was refused by an 824.
    assert [r["transaction_control"] for r in result.report["rejections"]] == ["0003"]
    kinds = {item["kind"] for item in result.report["data_quality"]}
    assert kinds == {
        "duplicate_enrollment",  # Harbor's first set sent again
        "aptc_exceeds_premium",
        "negative_amount",  # Summit's subsidy mistakes
        "effective_date_differs",
        "plan_differs",
        "insurer_termination",
        "never_sent",  # what Pine's effectuation says
    }
    assert [q["key"] for q in result.report["quarantined"]] == ["outbound/enrollments.xlsx"]
    assert [a["target_control"] for a in result.report["unmatched_acks"]] == ["77"]
    assert [f["outcome"] for f in result.files].count("duplicate") == 1
    assert len(result.emails) == 1
    message = email.message_from_bytes(result.emails[0])
    subject = " ".join(message["Subject"].split())  # unfolded
    attached = [part.get_filename() for part in message.walk() if part.get_filename()]
    assert attached == ["unconfirmed-2026-03-02.csv", "resolutions-2026-03-02.csv"]
    assert (
        "80 people not confirmed by their insurer (517 member transactions sent); 6 not effectuated, "
        "2 actions never sent, 1 insurer silent, 2 gaps in control numbers, 26 data-quality"
        in subject
    )
    assert result.failures == []


def _stable(report: dict[str, object]) -> str:
    """The report without what differs between two runs (wall-clock times, archive keys)."""
    text = json.dumps({k: v for k, v in report.items() if k not in ("archive", "generated_at")},
                      sort_keys=True)  # fmt: skip
    # A population held in parts archives its codes per part: the key names them all.
    for volatile in ("received_at", "rcno_key"):
        text = __import__("re").sub(rf'"{volatile}": "[^"]*"', f'"{volatile}": ""', text)
    # How many waiting enrollments a population confirmed when it arrived depends on what had
    # arrived before it (workers at once may answer a set later); the ledger's end is the same
    # (summary.confirmed_by_reconciliation, every row and code are compared).
    text = __import__("re").sub(
        r'"confirmed": \d+, "discrepancies"', '"confirmed": 0, "discrepancies"', text
    )
    return text


def test_replay_cli_prints_one_json_document(tmp_path: Path) -> None:
    outbound, inbound = tmp_path / "outbound", tmp_path / "inbound"
    outbound.mkdir()
    inbound.mkdir()
    (outbound / "834_bad_ins03.834").write_bytes((SAMPLES / "834_bad_ins03.834").read_bytes())
    (outbound / "834_5members.834").write_bytes((SAMPLES / "834_5members.834").read_bytes())
    (inbound / "999.x12").write_bytes((SAMPLES / "834_bad_ins03.pyx12.999").read_bytes())
    (inbound / "garbage.bin").write_bytes(b"\x00\x01\x02" * 50)
    paths = [
        outbound / "834_bad_ins03.834",
        outbound / "834_5members.834",
        inbound / "999.x12",
        inbound / "garbage.bin",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "acktrack.cli", "replay", "--json", "--as-of", "2024-01-20T07:00", "--sla-hours", "24",
         "--parameter", "TrackedUsage=T",  # the pyx12-made samples are test files (ISA15 T)
         "--email-dir", str(tmp_path / "mail"), *map(str, paths)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # stdout holds the document and nothing else
    summary = document["summary"]
    # Both 834s share ISA13 000001001 and GS06 1: the 999 for GS06 1 is ambiguous.
    assert summary["members_sent"] == 10
    assert [a["state"] for a in document["unmatched_acks"]] == ["ambiguous"]
    assert {n["kind"] for n in document["notices"]} == {
        "interchange_control_reused",
        "group_control_reused",
    }
    assert document["quarantined"] == [
        {"key": "inbound/garbage.bin", "reason": "not readable as X12: the file is binary, not X12 text",
         "received_at": document["quarantined"][0]["received_at"], "quarantine_key": "quarantine/inbound/garbage.bin"}
    ]  # fmt: skip
    row = document["unconfirmed"][0]
    assert set(row) >= {"partner", "subscriber_id", "member_id", "maintenance_type", "interchange_control",
                        "group_control", "transaction_control", "status", "reason", "sent_at", "age_hours"}  # fmt: skip
    assert document["sla_hours"] == 24
    assert list((tmp_path / "mail").glob("*.eml"))
    assert "Traceback" not in result.stderr


def test_replay_refuses_paths_outside_outbound_or_inbound(tmp_path: Path) -> None:
    path = tmp_path / "misc" / "a.834"
    path.parent.mkdir()
    path.write_bytes(b"x")
    with pytest.raises(ReplayError, match="folder named outbound/"):
        replay([path])
    result = subprocess.run(
        [sys.executable, "-m", "acktrack.cli", "replay", str(path)], capture_output=True, text=True
    )
    assert (
        result.returncode == 2
        and result.stderr.startswith("acktrack: ")
        and "Traceback" not in result.stderr
    )


def test_replay_effectuation_days_lists_accepted_additions_not_effectuated(tmp_path: Path) -> None:
    import io

    from acktrack.synthetic.acknowledgments import respond
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    outbound, inbound = tmp_path / "outbound", tmp_path / "inbound"
    outbound.mkdir()
    inbound.mkdir()
    buffer = io.BytesIO()
    write_834(
        EnrollmentSpec(members=6, seed=61, dependents=0.0, sent_at=datetime(2024, 1, 15, 12)),
        buffer,
    )
    (outbound / "a.834").write_bytes(buffer.getvalue())
    (inbound / "a.999").write_bytes(
        respond(buffer.getvalue(), insurer_control=5001, sent_at=datetime(2024, 1, 15, 18))
    )

    def run(days: str) -> dict[str, object]:
        result = subprocess.run(
            [sys.executable, "-m", "acktrack.cli", "replay", "--json", "--as-of", "2024-01-26T07:00",
             "--effectuation-days", days, str(outbound / "a.834"), str(inbound / "a.999")],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    late = run("10")  # ten and a half days after sending
    rows = late["unconfirmed"]
    assert [row["status"] for row in rows] == ["not_effectuated"] * 6
    assert late["summary"]["not_effectuated"] == 6 and late["summary"]["confirmed"] == 6
    assert run("11")["unconfirmed"] == []
    assert run("0")["summary"]["not_effectuated"] == 0
