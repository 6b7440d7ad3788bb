"""Order independence and redelivery, on moto: any arrival order of a day's files, any file
delivered any number of times, gives the same final table and the same report."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.reliability.support import FIGURES, budget, build_day, run_day

pytestmark = pytest.mark.slow
DAY = build_day()


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """The clean run: every file once, in the order it was written."""
    return run_day((file, 1) for file in DAY)


def test_the_reference_day_has_something_in_every_section(reference: dict[str, Any]) -> None:
    report = reference["report"]
    summary = report["summary"]
    assert summary["members_sent"] == 14 + 6 + 5 + 7  # the rejected set's 7 members resent
    assert summary["rejected"] > 0 and summary["pending_overdue"] > 0 and summary["confirmed"] > 0
    assert summary["resolved_by_resend"] == 7  # the ledger is part of every arrival order
    assert summary["effectuated"] > 0 and report["data_quality"]
    assert [item["key"] for item in report["quarantined"]] == ["outbound/enrollments.xlsx"]
    assert [ack["target_control"] for ack in report["unmatched_acks"]] == ["77"]
    assert {notice["kind"] for notice in report["notices"]} == {"duplicate_interchange"}
    assert reference["late_report"]["summary"]["not_effectuated"] > 0


@settings(max_examples=budget("permutations", 6), deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],  # a full day per example: report, do not shrink
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(
    order=st.permutations(DAY),
    deliveries=st.lists(st.integers(1, 3), min_size=len(DAY), max_size=len(DAY)),
)
def test_any_order_and_any_redelivery_give_the_same_final_state(
    reference: dict[str, Any], order: list[Any], deliveries: list[int]
) -> None:
    state = run_day(zip(order, deliveries, strict=True))
    FIGURES["permutations"] += 1
    FIGURES["redeliveries"] += sum(deliveries) - len(deliveries)
    assert state["report"] == reference["report"]
    assert state["late_report"] == reference["late_report"]
    assert state["table"] == reference["table"]
