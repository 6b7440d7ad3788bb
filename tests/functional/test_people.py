"""People, exactly (on an in-memory store): a dependent without a member id is its own person
unless its first name and birth date (a keyed hash) say otherwise; every figure about people
counts each person once; a duplicate never reopens a confirmed person."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from acktrack.report.collect import collect_report
from acktrack.report.model import Report
from tests.functional.report_memory import ReportMemory

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
CHILD = {"subscriber_indicator": "N", "relationship": "19"}


def child(name: str | None = None, **fields: Any) -> dict[str, Any]:
    """A dependent without REF*17; ``name``: its keyed first-name-and-birth-date hash."""
    hashes = {"v1": {"person": name}} if name else {}
    return {**CHILD, "hashes": hashes, **fields}


def report(store: ReportMemory, first_pass: int = 20_000) -> Report:
    return collect_report(store, AS_OF, 48.0, 7, 0, first_pass_people=first_pass)


def test_a_siblings_acceptance_never_closes_a_rejected_child() -> None:
    """BOB rejected on the 15th, AMY accepted on the 17th, neither with a REF*17: BOB stays."""
    for bob, amy in ((child(), child()), (child("b0b"), child("a4y"))):
        store = ReportMemory()
        store.send(
            1, [("500000001", None, bob)], status="rejected", status_at="2024-01-15T14:00:00Z"
        )
        store.send(2, [("500000001", None, amy)], sent_at="2024-01-17T12:00:00Z",
                   status="accepted", status_at="2024-01-17T13:00:00Z")  # fmt: skip
        result = report(store)
        assert [(r["subscriber_id"], r["status"]) for r in result.unconfirmed] == [
            ("500000001", "rejected")
        ]
        assert result.summary["people_unconfirmed"] == 1
        assert result.summary["resolved_by_resend"] == 0
        assert result.summary["all_confirmed"] is False


def test_the_same_child_resent_and_accepted_is_closed_by_the_resend() -> None:
    store = ReportMemory()
    store.send(1, [("500000001", None, child("b0b"))], status="rejected",
               status_at="2024-01-15T14:00:00Z")  # fmt: skip
    store.send(2, [("500000001", None, child("b0b"))], sent_at="2024-01-17T12:00:00Z",
               status="accepted", status_at="2024-01-17T13:00:00Z")  # fmt: skip
    result = report(store)
    assert list(result.unconfirmed) == []
    assert result.summary["resolved_by_resend"] == 1
    assert result.summary["people_unconfirmed"] == 0


def test_a_family_of_four_without_member_ids_is_four_rows_and_four_people() -> None:
    store = ReportMemory()
    store.send(1, [("500000001", None), ("500000001", None, child()),
                   ("500000001", None, child()), ("500000001", None, child("c4l"))])  # fmt: skip
    result = report(store)  # sent on the 15th: overdue by the 20th
    assert len(list(result.unconfirmed)) == 4
    assert result.summary["people_unconfirmed"] == 4
    assert {r["status"] for r in result.unconfirmed} == {"overdue"}


def test_a_true_duplicate_never_reopens_a_confirmed_family() -> None:
    """Accepted on its first send, then sent again by mistake (no answer yet, overdue)."""
    family = [("S1", "E1"), ("S1", "E2", CHILD), ("S1", "E3", CHILD), ("S1", "E4", CHILD)]
    store = ReportMemory()
    store.send(1, family, sent_at="2024-01-14T12:00:00Z", status="accepted",
               status_at="2024-01-14T13:00:00Z")  # fmt: skip
    store.send(2, family, sent_at="2024-01-16T12:00:00Z")
    result = report(store)
    assert list(result.unconfirmed) == []
    assert result.summary["people_unconfirmed"] == 0
    assert result.summary["closed_as_duplicate"] == 4
    # The copy answered later, even rejected, leaves the family confirmed.
    store.sets[1].status, store.sets[1].status_at = "rejected", "2024-01-16T14:00:00Z"
    again = report(store)
    assert again.summary["people_unconfirmed"] == 0


def test_first_pass_counts_each_person_once() -> None:
    """Four people accepted on the first send, then a duplicate accepted too: 100% of 4."""
    family = [("S1", "E1"), ("S1", "E2", CHILD), ("S1", "E3", CHILD), ("S1", "E4", CHILD)]
    store = ReportMemory()
    store.send(1, family, sent_at="2024-01-14T12:00:00Z", status="accepted",
               status_at="2024-01-14T13:00:00Z")  # fmt: skip
    store.send(2, family, sent_at="2024-01-16T12:00:00Z", status="accepted",
               status_at="2024-01-16T13:00:00Z")  # fmt: skip
    (line,) = report(store).by_partner
    assert (line["first_attempts_answered"], line["first_pass_acceptance"]) == (4, 1.0)


def test_a_not_effectuated_addition_and_an_open_change_are_one_person() -> None:
    """A child without REF*17: its accepted addition awaits effectuation and its rejected
    change is open; the person is counted once (as the ledger names them)."""
    store = ReportMemory()
    store.send(1, [("S1", None, child("k1d"))], sent_at="2023-12-01T12:00:00Z",
               status="accepted", status_at="2023-12-01T13:00:00Z")  # fmt: skip
    store.send(2, [("S1", None, child("k1d", maintenance_type="001"))],
               sent_at="2024-01-16T12:00:00Z", status="rejected",
               status_at="2024-01-16T13:00:00Z")  # fmt: skip
    result = collect_report(store, AS_OF, 48.0, 7, 45)
    statuses = sorted(r["status"] for r in result.unconfirmed)
    assert statuses == ["not_effectuated", "rejected"]
    assert result.summary["people_unconfirmed"] == 1
