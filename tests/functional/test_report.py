"""The report's rules about people, on an in-memory store (no moto): one row per open
enrollment, resends and operators closing attempts, the email's bounded detail."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from typing import Any

import pytest

from acktrack.domain.ledger import Resolution
from acktrack.report import backlog, sections
from acktrack.report.collect import collect_report
from acktrack.report.email import build_email, most_urgent
from acktrack.report.model import Report
from acktrack.report.people import first_pass_budget
from acktrack.report.text import render_text
from tests.functional.report_memory import ReportMemory

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)


def report(store: ReportMemory, keep_rows: int = 500) -> Report:
    return collect_report(store, AS_OF, 48.0, 7, 0, keep_rows=keep_rows)


def rows(result: Report) -> list[dict[str, Any]]:
    return list(result.unconfirmed)


def test_a_confirmed_resend_closes_the_rejected_attempt_and_the_person_leaves_the_list() -> None:
    store = ReportMemory()
    store.send(1, [("S1", "E1"), ("S2", "E2")], status="rejected", status_at="2024-01-15T14:00:00Z")
    store.send(2, [("S1", "E1")], sent_at="2024-01-17T12:00:00Z", status="accepted",
               status_at="2024-01-17T13:00:00Z")  # fmt: skip
    result = report(store)
    assert [(r["subscriber_id"], r["status"], r["attempts"]) for r in rows(result)] == [
        ("S2", "rejected", 1)
    ]
    assert result.summary["resolved_by_resend"] == 1
    assert result.summary["people_unconfirmed"] == 1


def test_a_resend_still_waiting_is_one_row_aged_from_the_first_attempt() -> None:
    store = ReportMemory()
    store.send(1, [("S1", "E1")], status="rejected", status_at="2024-01-15T14:00:00Z")
    store.send(2, [("S1", "E1")], sent_at="2024-01-17T12:00:00Z")  # past the SLA by the 20th
    (row,) = rows(report(store))
    assert (row["interchange_control"], row["attempts"], row["first_sent_at"]) == (
        "000000002", 2, "2024-01-15T12:00:00Z",
    )  # fmt: skip
    assert row["age_hours"] == 115.0  # from the first attempt
    assert "resending ISA13 000000001 ST02 0001" in row["reason"]


def test_an_operator_resolution_closes_what_was_sent_before_it() -> None:
    store = ReportMemory()
    store.send(1, [("S1", "E1"), ("S1", "E2")])
    store.resolve("S1", Resolution("R1", "2024-01-18T09:00:00Z", "ops", "withdrew", member_id="E2"))
    result = report(store)
    assert [r["member_id"] for r in rows(result)] == ["E1"]
    assert result.summary["resolved_by_operator"] == 1
    assert result.summary["pending_overdue"] == 1  # the transaction figures count what is open


def test_one_person_with_two_coverages_is_two_rows_and_one_person() -> None:
    store = ReportMemory()
    store.send(1, [("S1", "E1")], status="rejected", line="HLT")
    store.send(2, [("S1", "E1")], status="rejected", line="DEN")
    result = report(store)
    assert sorted(r["insurance_line"] for r in rows(result)) == ["DEN", "HLT"]
    assert result.summary["people_unconfirmed"] == 1


def test_the_email_shows_the_most_urgent_rows_and_counts_the_rest() -> None:
    store = ReportMemory()
    store.send(1, [(f"P{n}", f"E{n}") for n in range(30)], sent_at="2024-01-16T12:00:00Z")
    store.send(2, [(f"R{n}", f"F{n}") for n in range(5)], status="rejected",
               sent_at="2024-01-18T12:00:00Z")  # fmt: skip
    store.send(3, [(f"O{n}", f"G{n}") for n in range(3)], sent_at="2024-01-10T12:00:00Z")
    result = report(store, keep_rows=10)
    document = result.to_json(rows=False)
    assert document["unconfirmed_total"] == 38 and len(document["unconfirmed"]) == 10
    # The rejected first, then the longest waiting.
    assert [r["status"] for r in document["unconfirmed"]][:5] == ["rejected"] * 5
    assert {r["subscriber_id"] for r in document["unconfirmed"][5:8]} == {"O0", "O1", "O2"}
    assert most_urgent(list(result.unconfirmed))[:10] == document["unconfirmed"]
    message = email.message_from_bytes(
        build_email(document, "a@example.org", ["b@example.org"], detail_rows=10),
        policy=policy.default,
    )
    assert message["Subject"].startswith(
        "acktrack 2024-01-20: 38 people not confirmed by their insurer"
    )
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "People not confirmed (38 open enrollments)" in html and "and 28 more in the CSV" in html


def first_pass_row(result: Report) -> dict[str, Any]:
    (partner,) = result.to_json(rows=False)["by_partner"]
    return dict(partner)


def test_first_pass_counts_people_whose_first_attempt_was_accepted_as_sent() -> None:
    store = ReportMemory()
    # S1 accepted at once; S2 rejected, resent and accepted; S3 never answered.
    store.send(1, [("S2", "E2")], status="rejected", status_at="2024-01-15T14:00:00Z")
    store.send(2, [("S1", "E1")], sent_at="2024-01-14T12:00:00Z", status="accepted",
               status_at="2024-01-14T13:00:00Z")  # fmt: skip
    store.send(3, [("S2", "E2")], sent_at="2024-01-17T12:00:00Z", status="accepted",
               status_at="2024-01-17T13:00:00Z")  # fmt: skip
    store.send(4, [("S3", "E3")], sent_at="2024-01-19T12:00:00Z")
    result = report(store)
    partner = first_pass_row(result)
    # S2's first attempt was rejected: the resend's acceptance is no first pass.
    assert (partner["first_attempts_answered"], partner["first_pass_acceptance"]) == (2, 0.5)
    assert partner["first_pass_partial"] is False
    assert result.summary["first_pass_acceptance"] == 0.5
    text = render_text(result.to_json(rows=False))
    assert "first pass   50.0%" in text
    assert "first attempt was accepted as sent: 50.0% of 2 answered" in text


def test_first_pass_ignores_people_whose_first_attempt_came_before_the_window() -> None:
    store = ReportMemory()
    store.send(1, [("S1", "E1")], sent_at="2024-01-05T12:00:00Z", status="rejected",
               status_at="2024-01-05T14:00:00Z")  # fmt: skip
    store.send(2, [("S1", "E1")], sent_at="2024-01-16T12:00:00Z", status="accepted",
               status_at="2024-01-16T13:00:00Z")  # fmt: skip
    partner = first_pass_row(report(store))
    assert (partner["first_attempts_answered"], partner["first_pass_acceptance"]) == (0, None)
    assert "first pass       -" in render_text(report(store).to_json(rows=False))


def test_a_first_pass_rate_over_the_deployment_s_budget_is_marked_partial() -> None:
    store = ReportMemory()
    for number, subscriber in enumerate(("S1", "S2", "S3"), start=1):
        store.send(number, [(subscriber, f"E{number}")], sent_at=f"2024-01-1{number + 4}T12:00:00Z",
                   status="accepted", status_at=f"2024-01-1{number + 4}T13:00:00Z")  # fmt: skip
    # Four reads: two one-family sets, each listed and its family read.
    result = collect_report(store, AS_OF, 48.0, 7, 0, first_pass_people=4)
    partner = first_pass_row(result)
    assert partner["first_pass_partial"] is True and partner["first_attempts_answered"] == 2
    text = render_text(result.to_json(rows=False))
    assert "first pass 100.0%*" in text
    assert "counted over the window's first people only" in text and "20,000" not in text


def test_the_first_pass_budget_holds_inside_one_large_set() -> None:
    """The budget counts reads inside a set too: one set of 40 people (listed once) reads 4
    families when the budget is 5 (it once read all 40, and a 100,000-member file every
    family in it)."""
    store = ReportMemory()
    store.send(1, [(f"S{n}", f"E{n}") for n in range(40)], sent_at="2024-01-16T12:00:00Z",
               status="accepted", status_at="2024-01-16T13:00:00Z")  # fmt: skip
    result = collect_report(store, AS_OF, 48.0, 7, 0, first_pass_people=5)
    partner = first_pass_row(result)
    assert partner["first_pass_partial"] is True and partner["first_attempts_answered"] == 4
    assert store.families_read == 4


def _document(store: ReportMemory, **sizes: int) -> dict[str, Any]:
    result = collect_report(store, AS_OF, 48.0, 7, 45, keep_rows=3, **sizes)
    document = dict(result.to_json())
    document["unconfirmed"] = list(result.unconfirmed)
    return document


def _busy_store() -> ReportMemory:
    store = ReportMemory()
    store.send(1, [("S1", "E1"), ("S2", "E2"), ("S3", None)], status="rejected",
               status_at="2024-01-15T14:00:00Z")  # fmt: skip
    store.send(2, [("S1", "E1")], sent_at="2024-01-17T12:00:00Z", status="accepted",
               status_at="2024-01-17T13:00:00Z")  # fmt: skip
    store.send(3, [("S4", "E4"), ("S5", "E5")], sent_at="2024-01-16T12:00:00Z")
    store.send(4, [("S6", "E6")], sent_at="2024-01-19T12:00:00Z")  # within the SLA
    store.send(5, [("S7", "E7"), ("S8", "E8")], sent_at="2023-11-01T12:00:00Z",
               status="accepted", status_at="2023-11-01T13:00:00Z")  # fmt: skip
    for number in range(6, 12):
        store.send(number, [(f"T{number}", f"F{number}")], sent_at="2024-01-14T12:00:00Z",
                   status="rejected", status_at="2024-01-14T13:00:00Z")  # fmt: skip
    # A large set over four lookup partitions: read in chunks when batches are small.
    store.send(12, [(f"U{n}", f"G{n}") for n in range(5)], sent_at="2024-01-13T12:00:00Z",
               status="rejected", status_at="2024-01-13T13:00:00Z", position_step=15_000)  # fmt: skip
    store.send(13, [("U1", "G1")], sent_at="2024-01-17T12:00:00Z", status="accepted",
               status_at="2024-01-17T13:00:00Z")  # fmt: skip
    return store


def test_batches_of_any_size_make_the_same_report() -> None:
    """The workflow's batches (any number of sets, any rows each) add up to one pass."""
    whole = _document(_busy_store(), batch_sets=500, batch_rows=5_000)
    assert whole["summary"]["people_unconfirmed"] > 5 and whole["rejections"]
    for sets, rows in ((1, 1), (2, 3), (3, 1), (1, 100)):
        assert _document(_busy_store(), batch_sets=sets, batch_rows=rows) == whole, (sets, rows)


def test_a_set_found_closed_leaves_the_index_and_is_not_read_again() -> None:
    store = ReportMemory()
    store.send(1, [("S1", "E1")], status="rejected", status_at="2024-01-15T14:00:00Z")
    store.send(2, [("S1", "E1")], sent_at="2024-01-17T12:00:00Z", status="accepted",
               status_at="2024-01-17T13:00:00Z")  # fmt: skip
    first = report(store)
    assert first.summary["resolved_by_resend"] == 1
    assert not store.sets[0].listed  # every member closed: out of the index
    assert store.reopen_on == {(store.sets[1].pk, store.sets[1].sk)}  # unless its resend changes
    second = report(store)
    assert second.summary["resolved_by_resend"] == 0 and list(second.unconfirmed) == []


def test_rejected_sets_past_the_list_are_counted_and_every_member_stays_a_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The report lists the first LISTED rejected sets (the reduce step's memory
    holds no more, whatever the backlog), counts them all, and keeps each member's row; the
    email shows the first ``detail_rows`` and says what it left out, and where."""
    monkeypatch.setattr(backlog, "LISTED", 4)
    store = ReportMemory()
    for number in range(1, 8):
        store.send(number, [(f"R{number}", f"F{number}"), (f"Q{number}", None)], status="rejected",
                   sent_at=f"2024-01-1{number}T12:00:00Z")  # fmt: skip
    whole = _document(store, batch_sets=2, batch_rows=5_000)
    assert len(whole["rejections"]) == 4 and whole["rejections_total"] == 7
    assert [r["transaction_control"] for r in whole["rejections"]] == [
        r["transaction_control"]
        for r in _document(store, batch_sets=500, batch_rows=5_000)["rejections"]
    ]  # the same first four, whatever the batches
    assert whole["summary"]["rejected"] == 14 and len(whole["unconfirmed"]) == 14
    message = email.message_from_bytes(
        build_email(whole, "a@example.org", ["b@example.org"], detail_rows=2), policy=policy.default
    )
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for part in (html, text):
        assert "Rejections (7 transaction sets)" in part
        assert "and 5 more rejected sets: the archived JSON lists the first 4" in part
    monkeypatch.setattr(backlog, "LISTED", 10_000)
    listed = _document(store, batch_sets=2, batch_rows=5_000)
    assert len(listed["rejections"]) == 7 and "rejections_total" not in listed


def test_data_quality_findings_past_the_list_are_counted_by_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Findings of the window and additions with their cancellation both open: the report
    lists the first LISTED of each and counts every one, by kind, in the summary, the JSON
    and the email, whatever the batches."""
    from types import SimpleNamespace

    monkeypatch.setattr(backlog, "LISTED", 4)
    store = ReportMemory()
    for number in range(1, 7):  # an addition and its cancellation, neither answered
        store.send(number, [(f"S{number}", f"E{number}")], sent_at="2024-01-16T12:00:00Z")
        store.send(100 + number, [(f"S{number}", f"E{number}")], sent_at="2024-01-16T13:00:00Z",
                   maintenance_type="024")  # fmt: skip
    store.findings = [
        SimpleNamespace(kind="aptc_without_premium", detail="APTC without a premium",
                        partner="HEALTHPLAN01", subscriber_id=f"A{n}", member_id=None,
                        maintenance_type="021", interchange_control=f"{n:09d}", group_control="1",
                        transaction_control="0001", ordinal=1, sent_at=f"2024-01-1{n}T12:00:00Z")
        for n in range(3, 10)
    ]  # fmt: skip
    whole = _document(store, batch_sets=2, batch_rows=5_000)
    assert whole["data_quality_by_kind"] == {
        "add_and_cancel_unconfirmed": 6,
        "aptc_without_premium": 7,
    }
    assert whole["summary"]["data_quality_findings"] == 13
    kinds = [item["kind"] for item in whole["data_quality"]]
    assert (
        kinds.count("aptc_without_premium") == 4 and kinds.count("add_and_cancel_unconfirmed") == 4
    )
    assert (
        _document(store, batch_sets=1, batch_rows=1)["data_quality_by_kind"]
        == whole["data_quality_by_kind"]
    )
    message = email.message_from_bytes(
        build_email(whole, "a@example.org", ["b@example.org"], detail_rows=2), policy=policy.default
    )
    for part in (message.get_body(("html",)).get_content(),  # type: ignore[union-attr]
                 message.get_body(("plain",)).get_content()):  # type: ignore[union-attr]  # fmt: skip
        assert "Data quality (13 findings)" in part
        assert "and 11 more; the archived JSON lists the first 8" in part
    monkeypatch.setattr(backlog, "LISTED", 10_000)
    listed = _document(store, batch_sets=2, batch_rows=5_000)
    assert len(listed["data_quality"]) == 13 and "data_quality_by_kind" not in listed


def test_the_first_pass_reads_count_each_set_listed_and_pass_what_one_insurer_leaves_on() -> None:
    """One-family sets cost two reads each (the set listed, the family read); an insurer
    that uses little of its share leaves the rest to the next."""
    store = ReportMemory()
    for number in range(1, 9):
        store.send(number, [(f"S{number}", f"E{number}")], sent_at="2024-01-16T12:00:00Z",
                   status="accepted", status_at="2024-01-16T13:00:00Z")  # fmt: skip
    before = store.families_read
    result = collect_report(store, AS_OF, 48.0, 7, 0, first_pass_people=10)
    assert first_pass_row(result)["first_attempts_answered"] == 5  # 5 sets + 5 families
    assert store.families_read - before == 5


def test_the_first_pass_reads_stay_within_the_budget_however_many_insurers() -> None:
    """An equal share each, at least one: 300 insurers read about FirstPassPeople families,
    not 300 x 1,000 (the floor there was)."""
    assert first_pass_budget(300, 15_000) * 300 <= 15_000
    assert first_pass_budget(1, 15_000) == 15_000
    assert first_pass_budget(20_000, 15_000) == 1
    assert first_pass_budget(3, 0) == 0


def test_duplicate_findings_past_the_budget_are_counted_as_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first DUPLICATES_JUDGED duplicate findings are judged again (one family read
    each); the rest are counted as ingest found them, and the report says how many."""
    from types import SimpleNamespace

    monkeypatch.setattr(sections, "DUPLICATES_JUDGED", 2)
    store = ReportMemory()
    store.send(1, [("S1", "E1")], sent_at="2024-01-16T12:00:00Z")
    store.findings = [
        SimpleNamespace(kind="duplicate_enrollment", detail="already added", our_id="ACKTRACKEXCH",
                        partner="HEALTHPLAN01", subscriber_id=f"D{n}", member_id=f"M{n}",
                        maintenance_type="021", interchange_control=f"{n:09d}", group_control="1",
                        transaction_control="0001", ordinal=1, sent_at=f"2024-01-1{n}T12:00:00Z",
                        target_pk=f"SET#{n}", target_sk="M#1")
        for n in range(3, 8)
    ]  # fmt: skip

    def document(budget: int) -> tuple[dict[str, Any], int]:
        monkeypatch.setattr(sections, "DUPLICATES_JUDGED", budget)
        before = store.families_read
        made = _document(store, batch_sets=500, batch_rows=5_000)
        return made, store.families_read - before

    whole, reads = document(2)
    # The two judged are no longer duplicates (their families hold no such attempt).
    assert whole["summary"]["data_quality_findings"] == 3 and whole["duplicates_not_judged"] == 3
    assert "3 duplicate_enrollment findings past the first 2 are counted as found at ingest" in (
        render_text(whole)
    )
    none, reads_none = document(0)
    assert reads - reads_none == 2 and none["duplicates_not_judged"] == 5
    judged, reads_all = document(2_000)
    assert reads_all - reads_none == 5
    assert judged["summary"]["data_quality_findings"] == 0 and "duplicates_not_judged" not in judged
