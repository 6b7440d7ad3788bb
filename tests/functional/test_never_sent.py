"""The report's never-sent actions, on the in-memory report source (no moto): listed after
the people not confirmed, in the JSON, the text, the HTML and the detail CSV, with counts
per insurer; only what is due; bounded however many there are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from acktrack.report import never_sent as never_sent_module
from acktrack.report.collect import collect_report
from acktrack.report.detail_csv import detail_csv
from acktrack.report.outputs import render
from acktrack.report.text import render_text
from tests.functional.report_memory import ReportMemory

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)


def _action(number: int, partner: str = "HEALTHPLAN01", due: timedelta = timedelta(hours=-1),
            sent_at: str | None = None) -> SimpleNamespace:  # fmt: skip
    return SimpleNamespace(
        partner=partner, subscriber_id=f"S{number}", member_id=None if number % 2 else f"M{number}",
        maintenance_type="021", action_id=f"A-{number:05d}", sent_at=sent_at,
        expected_by=(AS_OF + due + timedelta(seconds=number)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )  # fmt: skip


def _store() -> ReportMemory:
    store = ReportMemory()
    store.send(1, [("S1", "E1")], status="rejected")
    store.expected = [
        _action(1), _action(2, "OTHERPLAN02"), _action(3),
        _action(4, due=timedelta(hours=1)),  # not due yet
        _action(5, sent_at="2024-01-19T00:00:00Z"),  # sent: closed
    ]  # fmt: skip
    return store


def test_due_unsent_actions_are_listed_after_the_people_with_counts_per_insurer() -> None:
    report = collect_report(_store(), AS_OF, 48.0, 7, 0)
    document = render(report, timezone="UTC", detail_rows=500).document
    assert document["summary"]["never_sent"] == 3
    assert [a["action_id"] for a in document["never_sent"]] == ["A-00001", "A-00002", "A-00003"]
    assert document["never_sent"][1] == {
        "partner": "OTHERPLAN02", "subscriber_id": "S2", "member_id": "M2",
        "maintenance_type": "021", "action_id": "A-00002", "expected_by": "2024-01-20T06:00:02Z"}  # fmt: skip
    assert document["never_sent_by_partner"] == [{"partner": "HEALTHPLAN01", "never_sent": 2},
                                                 {"partner": "OTHERPLAN02", "never_sent": 1}]  # fmt: skip
    text = render_text(document)
    assert text.index("Not confirmed") < text.index("Never sent") < len(text)
    assert "Never sent: enrollment actions with no 834" in text and "action A-00002" in text
    html = render(report, timezone="UTC", detail_rows=500).html.decode()
    assert html.index("People not confirmed") < html.index("Never sent") and "A-00003" in html
    rows = detail_csv(document).decode("utf-8-sig").splitlines()
    assert [r.split(",")[2] for r in rows[1:]][-3:] == ["never_sent"] * 3  # after the people
    assert rows[1].split(",")[2] != "never_sent"


def test_a_day_of_actions_sent_nowhere_is_counted_whole_and_listed_to_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = _store()
    store.expected = [_action(n) for n in range(2_000, 0, -1)]
    monkeypatch.setattr(never_sent_module, "LISTED", 100)
    document = collect_report(store, AS_OF, 48.0, 7, 0).to_json(rows=False)
    assert document["summary"]["never_sent"] == 2_000
    assert len(document["never_sent"]) == 100
    assert document["never_sent"][0]["action_id"] == "A-00001"  # the oldest due first
