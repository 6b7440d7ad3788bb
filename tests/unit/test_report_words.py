"""The report's words: waits in hours then days, counts with their plural, ISO dates."""

from __future__ import annotations

from typing import Any

from acktrack.report.text import plural, waited


def test_a_wait_reads_in_hours_then_days() -> None:
    assert waited(5.4) == "5 h"
    assert waited(47.9) == "48 h"
    assert waited(1200) == "50 days"


def test_a_count_takes_its_plural() -> None:
    assert plural(1, "file") == "1 file"
    assert plural(3, "file") == "3 files"
    assert plural(1, "person", "people") == "1 person"


def test_the_subject_counts_one_file_as_one_file() -> None:
    from acktrack.report.email import subject

    summary = {"members_sent": 3, "confirmed": 0, "all_confirmed": False, "unmatched_acks": 1,
               "quarantined": 1, "people_unconfirmed": 1}  # fmt: skip
    text = subject({"as_of": "2024-01-20T07:00:00+00:00", "summary": summary})  # type: ignore[typeddict-item]
    assert "1 file quarantined" in text and "1 unmatched ack" in text
    assert "1 person not confirmed" in text


def test_a_member_s_reason_names_only_the_error_report_rows_about_it() -> None:
    from acktrack.report.reasons import member_reason

    def row(code: str, transaction: str) -> dict[str, Any]:
        return {"id": code, "kind": "error_report", "event": "set_rejected_after_accept",
                "status": "R", "codes": [code], "note": "",
                "pinned": {"subscriber_id": "S1", "transaction": transaction}}  # fmt: skip

    acks = {"a": row("E17", "0000002"), "b": row("E20", "0000003")}
    reason = member_reason(acks, 2, "rejected_after_accept")  # type: ignore[arg-type]
    assert "E17" in reason and "E20" not in reason
