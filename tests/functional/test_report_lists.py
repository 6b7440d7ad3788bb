"""The email's lists are capped (issue 27, item 4): a thousand acknowledgments that match
nothing and two hundred junk files make an email of bounded size that says how many more
the archive holds; the archived JSON keeps every row of the window (no moto)."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy
from types import SimpleNamespace
from typing import Any

from acktrack.report.collect import collect_report
from acktrack.report.outputs import Outputs, render
from tests.functional.report_memory import ReportMemory

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
DETAIL_ROWS = 500  # the EmailDetailRows default: the lists are capped by it too
EMAIL_BOUND = (
    700_000  # bytes: the lists at their cap and the rest (998 KB uncapped), far under SES's 10 MB
)


def _at(seconds: float, days_ago: int = 6) -> str:
    """Within the week's window: ``seconds`` after its sixth day before the report began."""
    moment = AS_OF - timedelta(days=days_ago) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def crowded(unmatched: int = 1_000, junk: int = 200) -> ReportMemory:
    """A week with ``unmatched`` stray 999 groups and ``junk`` files that are not X12."""
    store = ReportMemory()
    store.send(1, [("S1", "E1")], status="rejected")
    store.unmatched = [
        SimpleNamespace(kind="999", partner="HEALTHPLAN01", target_control=str(70_000 + n),
                        status="A", state="unmatched", source_key=f"inbound/HEALTHPLAN01/"
                        f"999_{n:06d}.x12", received_at=_at(n),
                        reason=f"no functional group GS06 {70_000 + n} was sent to HEALTHPLAN01")
        for n in range(unmatched)
    ]  # fmt: skip
    store.junk = [
        SimpleNamespace(key=f"outbound/enrollments_{n:04d}.xlsx", received_at=_at(n),
                        reason="not readable as X12: the file is a ZIP archive, not X12",
                        quarantine_key=f"quarantine/outbound/enrollments_{n:04d}.xlsx")
        for n in range(junk)
    ]  # fmt: skip
    return store


def outputs(store: ReportMemory, detail_rows: int = DETAIL_ROWS) -> Outputs:
    report = collect_report(store, AS_OF, 48.0, 7, 0)
    return render(report, timezone="UTC", detail_rows=detail_rows)


def message(rendered: Outputs) -> bytes:
    return rendered.email("a@example.org", ["b@example.org"], detail=b"", csv_link=None,
                          csv_location=None, resolutions_location=None)  # fmt: skip


def _parts(raw: bytes) -> tuple[str, str]:
    parsed: Any = email.message_from_bytes(raw, policy=policy.default)
    return parsed.get_body(("plain",)).get_content(), parsed.get_body(("html",)).get_content()


def test_a_thousand_unmatched_acks_make_a_bounded_email_that_names_the_rest() -> None:
    rendered = outputs(crowded())
    raw = message(rendered)
    assert len(raw) < EMAIL_BOUND, f"{len(raw):,} bytes"
    text, html = _parts(raw)
    for part in (text, html):
        assert "Acknowledgments that match nothing sent (1000)" in part
        assert "... and 500 more in the archive (the report" in part
        assert "Quarantined files (200)" in part
    assert "for 70499 " in text and "for 70500 " not in text  # the oldest first
    assert "999_000499.x12" in html and "999_000500.x12" not in html
    assert html.count("enrollments_0199.xlsx") == 2  # listed whole (file and copy): under the cap
    # The archived JSON keeps every row of the window.
    archived = json.loads(rendered.json_head + rendered.json_tail)
    assert len(archived["unmatched_acks"]) == 1_000 and len(archived["quarantined"]) == 200
    assert archived["summary"]["unmatched_acks"] == 1_000


def test_the_email_stays_bounded_however_long_the_lists_grow() -> None:
    small, large = (len(message(outputs(crowded(n, n)))) for n in (DETAIL_ROWS, 20 * DETAIL_ROWS))
    assert large - small < 2_000  # only the counts in the titles and the "more" lines grow


def test_under_the_cap_nothing_is_said_of_more() -> None:
    text, html = _parts(message(outputs(crowded(3, 2))))
    assert "more in the archive" not in text and "more in the archive" not in html
    assert "Acknowledgments that match nothing sent (3)" in text


def test_last_month_s_unmatched_acks_are_not_read_into_this_week_s_report() -> None:
    store = crowded(2, 0)
    store.unmatched[0].received_at = _at(0, days_ago=31)
    rendered = outputs(store)
    archived = json.loads(rendered.json_head + rendered.json_tail)
    assert [a["target_control"] for a in archived["unmatched_acks"]] == ["70001"]
