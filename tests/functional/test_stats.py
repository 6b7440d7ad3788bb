"""`acktrack stats` on an in-memory store: the counts and hours come from the counters of
the sent days since --since (one read per insurer), the per-person figures from the history
since then, within a budget, and the output says which is which."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from acktrack.report.insights import render_stats, stats
from tests.functional.report_memory import ReportMemory

SINCE = datetime(2024, 1, 15, tzinfo=UTC)


def store_of_a_week() -> ReportMemory:
    store = ReportMemory()
    store.send(1, [("500000001", "A"), ("500000002", "B")], sent_at="2024-01-10T12:00:00Z",
               status="accepted", status_at="2024-01-10T13:00:00Z")  # before --since  # fmt: skip
    store.send(2, [("500000003", "C"), ("500000004", "D")], status="accepted",
               status_at="2024-01-15T14:30:00Z")  # 2.5 h  # fmt: skip
    store.send(3, [("500000005", "E")], status="accepted", status_at="2024-01-15T17:00:00Z")
    store.send(4, [("500000006", "F"), ("500000007", "G"), ("500000008", "H")],
               status="rejected", status_at="2024-01-16T14:00:00Z")  # 26 h  # fmt: skip
    store.send(5, [("500000009", "I")])  # no answer yet
    return store


def test_counts_codes_and_hours_come_from_the_counters_of_the_period() -> None:
    store = store_of_a_week()
    result = stats(store, SINCE, people=0)
    assert (result["members_sent"], result["rejected"], result["unconfirmed"]) == (7, 3, 4)
    assert result["error_codes"][0] | {"meaning": ""} == {
        "code": "IK5 5", "meaning": "", "members": 3, "share_of_rejected": 1.0
    }  # fmt: skip
    (insurer,) = result["insurers"]
    # Sets answered in 2.5 h, 5 h and 26 h: the median is in [5, 6), the p95 in [26, 27).
    assert insurer["sets_with_999"] == 3
    assert insurer["hours_to_999_median_bucket"] == [5.0, 6.0]
    assert (insurer["hours_to_999_median"], insurer["hours_to_999_p95"]) == (5.0, 26.0)
    # Member transactions confirmed: two at 2.5 h, one at 5 h.
    assert insurer["confirmed"] == 3
    assert insurer["hours_sent_to_confirmed_median_bucket"] == [2.0, 3.0]
    assert store.tallies_read == 1 and store.families_read == 0  # no history read
    assert "first_pass_acceptance" not in insurer
    text = render_stats(result)
    assert "Sent since 2024-01-15: 7 member transactions, 3 rejected" in text
    assert "from the counters" in text and "lower edge of the bucket" in text
    assert "per person: not read" in text
    assert "999 in 5-6 h median, 26-27 h p95 (3 sets)" in text


def test_the_per_person_figures_read_the_period_within_the_budget_and_say_so() -> None:
    store = store_of_a_week()
    result = stats(store, SINCE, people=200)
    (insurer,) = result["insurers"]
    # People sent since the 15th: C, D, E accepted, F, G, H rejected, I unanswered.
    assert (insurer["first_attempts_answered"], insurer["first_pass_acceptance"]) == (6, 0.5)
    assert insurer["people_read"] == 7 and insurer["people_capped"] is False
    assert (
        "first attempts sent since 2024-01-15T00:00:00Z, read from their history"
        in (result["people"])
    )
    capped = stats(store_of_a_week(), SINCE, people=2)
    (insurer,) = capped["insurers"]
    assert insurer["people_read"] == 2 and insurer["people_capped"] is True
    assert "(2 people read, capped)" in render_stats(capped)
    json.dumps(capped)  # --json


def test_nothing_sent_in_the_period_is_zeros_and_no_hours() -> None:
    result = stats(store_of_a_week(), datetime(2024, 2, 1, tzinfo=UTC), people=0)
    (insurer,) = result["insurers"]
    assert result["members_sent"] == 0 and insurer["hours_to_999_median"] is None
    assert "no 999 yet" in render_stats(result)
