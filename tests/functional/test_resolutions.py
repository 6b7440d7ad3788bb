"""Operators' resolutions on an in-memory store (no moto): a dry run, what is refused, a CSV
of many (all or none), and the report's list of the window's resolutions for an auditor."""

from __future__ import annotations

import csv
import email
import io
import re
from datetime import UTC, datetime, timedelta
from email import policy
from typing import Any

import pytest

from acktrack.domain.ledger import ClosedBy, Resolution
from acktrack.ingest.resolution import Closing, Planner, ResolveRefused, resolve
from acktrack.ingest.resolution_csv import (
    MAX_ROWS,
    BulkRefused,
    apply,
    plan_rows,
    read_rows,
)
from acktrack.report.collect import collect_report
from acktrack.report.email import build_email
from acktrack.report.text import render_text
from tests.functional.report_memory import ReportMemory

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
AT = datetime(2024, 1, 19, 9, 0, tzinfo=UTC)
PLAN = "HEALTHPLAN01"
REJECTED = {"status": "rejected", "status_at": "2024-01-15T14:00:00Z"}
HEADER = "insurer_id,subscriber_id,member_id,reason\n"


def day() -> ReportMemory:
    """S1 has two members rejected, E1 resent since (still unanswered); S2 one rejected; S3 one
    accepted: nothing open."""
    store = ReportMemory()
    store.send(1, [("S1", "E1"), ("S1", "E2"), ("S2", "E3")], **REJECTED)  # type: ignore[arg-type]
    store.send(2, [("S1", "E1")], sent_at="2024-01-17T12:00:00Z")
    store.send(3, [("S3", "E4")], status="accepted", status_at="2024-01-15T14:00:00Z")
    return store


def planner(store: ReportMemory, **extra: Any) -> Planner:
    return Planner(store, by="ana", caller="os-user:ana", at=AT, **extra)  # type: ignore[arg-type]


def test_a_dry_run_names_each_enrollment_it_would_close_and_writes_nothing() -> None:
    store = day()
    said = resolve(store, partner=PLAN, subscriber_id="S1", reason="withdrew", by="ana",  # type: ignore[arg-type]
                   caller="os-user:ana", at=AT, dry_run=True)  # fmt: skip
    assert said.dry_run and not said.recorded and store.resolutions == []
    assert (said.enrollments, said.attempts) == (2, 3)
    assert said.closings == (
        Closing(PLAN, "S1", "E1", "HLT", 2, "pending"),  # the rejected attempt and its resend
        Closing(PLAN, "S1", "E2", "HLT", 1, "rejected"),
    )
    done = resolve(store, partner=PLAN, subscriber_id="S1", reason="withdrew", by="ana",  # type: ignore[arg-type]
                   caller="os-user:ana", at=AT)  # fmt: skip
    assert done.recorded and done.closings == said.closings
    (kept,) = store.resolutions
    assert (kept.resolution.by, kept.resolution.caller, kept.closed) == ("ana", "os-user:ana", 3)


@pytest.mark.parametrize(
    ("by", "reason", "why"),
    [
        ("ana\x1b[2K", "withdrew", "--by has control character U+001B"),
        ("ana\nresolved by admin", "withdrew", "--by has a line break"),
        ("ana", "withdrew\n2024-01-19 resolved by admin", "--reason has a line break"),
        ("ana", "SSN 123-45-6789", "looks like an SSN"),
        ("ana", "DOB 1985-03-02", "could be a birth date"),
    ],
)
def test_what_is_refused_writes_nothing(by: str, reason: str, why: str) -> None:
    store = day()
    with pytest.raises(ResolveRefused, match=re.escape(why)):
        resolve(store, partner=PLAN, subscriber_id="S1", reason=reason, by=by, at=AT)  # type: ignore[arg-type]
    assert store.resolutions == []


def bulk(store: ReportMemory, text: str, *, dry_run: bool = False) -> list[Any]:
    worker = planner(store)
    return apply(worker, plan_rows(worker, read_rows(io.StringIO(text))), dry_run=dry_run)


def test_a_csv_closes_every_row_and_says_what_each_did() -> None:
    store = day()
    text = "\ufeffsubscriber_id,reason,insurer_id,member_id\n" + (  # a spreadsheet's BOM, any order
        f'S1,"withdrew, call log 0042",{PLAN},E2\n\nS2,insurer confirmed by phone,{PLAN},\n'
    )
    said = bulk(store, text, dry_run=True)
    assert [(row.line, done.enrollments, done.dry_run) for row, done in said] == [
        (2, 1, True), (4, 1, True),
    ]  # fmt: skip
    assert store.resolutions == []  # a dry run writes nothing
    done = bulk(store, text)
    assert [(row.line, d.subscriber_id, d.attempts, d.recorded) for row, d in done] == [
        (2, "S1", 1, True), (4, "S2", 1, True),
    ]  # fmt: skip
    assert [(r.resolution.member_id, r.resolution.reason, r.resolution.caller)
            for r in store.resolutions] == [("E2", "withdrew, call log 0042", "os-user:ana"),
                                            (None, "insurer confirmed by phone", "os-user:ana")]  # fmt: skip


def test_one_bad_row_writes_nothing_and_each_bad_row_is_named_by_its_line() -> None:
    store = day()
    text = HEADER + "\n".join([
        f"{PLAN},S2,,insurer confirmed by phone",  # line 2: valid
        f"{PLAN},S9,,withdrew",  # line 3: not tracked
        f"{PLAN},S3,,withdrew",  # line 4: nothing open
        f"{PLAN},S1,E1,SSN 123-45-6789",  # line 5: personal data
        f"{PLAN},S1,E2,withdrew,again",  # line 6: five fields
        "NOBODY,S1,,withdrew",  # line 7: unknown insurer
        f"{PLAN},S1,E7,withdrew",  # line 8: unknown member
        f"{PLAN},S1,E2,",  # line 9: no reason
    ])  # fmt: skip
    with pytest.raises(BulkRefused) as refused:
        bulk(store, text)
    problems = refused.value.problems
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in range(3, 10)]
    assert "subscriber S9 is not tracked with HEALTHPLAN01" in problems[0]
    assert "nothing is open for subscriber S3" in problems[1]
    assert "reason refused: character 5 starts what looks like an SSN" in problems[2]
    assert "5 fields, the header names 4 (quote a reason that holds a comma)" in problems[3]
    assert "no insurer 'NOBODY' is tracked" in problems[4]
    assert "member 'E7' is not tracked" in problems[5]
    assert "give a reason (the reason column)" in problems[6]
    assert str(refused.value) == "7 of 8 rows refused; nothing was written"
    assert store.resolutions == []


def test_two_rows_closing_the_same_transactions_are_refused() -> None:
    store = day()
    for text, earlier in (
        (f"{PLAN},S2,,withdrew\n{PLAN},S2,,withdrew\n", 2),  # the same row twice
        (f"{PLAN},S1,,withdrew\n{PLAN},S1,E2,phoned\n", 2),  # the subscriber, then one member
    ):
        with pytest.raises(BulkRefused) as refused:
            bulk(store, HEADER + text)
        assert refused.value.problems == [
            f"line 3: closes what line {earlier} closes already (the same open enrollments); "
            "keep one of the two rows"
        ]
    assert store.resolutions == []
    # Two members of one subscriber on two rows close different transactions: both fine.
    assert len(bulk(store, HEADER + f"{PLAN},S1,E1,withdrew\n{PLAN},S1,E2,phoned\n")) == 2


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "the file is empty: its first line must name the columns"),
        ("\n\n", "the file is empty"),
        (HEADER, "the file has a header and no rows"),
        ("insurer_id,subscriber_id,member_id,reason,name\n", "unknown: 'name'"),
        ("insurer_id,subscriber_id,reason\n", "missing: member_id"),
        (HEADER + f'{PLAN},S1,,"withdrew\n', "not readable as CSV"),
        (HEADER + f"{PLAN},S2,,withdrew\n" * (MAX_ROWS + 1), f"more than {MAX_ROWS:,} rows"),
    ],
)
def test_a_file_that_is_no_list_of_resolutions_is_refused(text: str, why: str) -> None:
    with pytest.raises(BulkRefused) as refused:
        read_rows(io.StringIO(text))
    assert why in refused.value.problems[0]


def test_the_report_lists_the_window_s_operator_resolutions_each_field_its_own() -> None:
    store = day()
    store.send(4, [("S4", "E5")], **REJECTED)  # type: ignore[arg-type]
    resolve(store, partner=PLAN, subscriber_id="S1", member_id="E2", reason="=HYPERLINK(\"x\")",  # type: ignore[arg-type]
            by="@ops", caller="arn:aws:sts::123456789012:assumed-role/Ops/ana", at=AT)  # fmt: skip
    resolve(store, partner=PLAN, subscriber_id="S2", reason="phoned", by="ana",  # type: ignore[arg-type]
            caller="os-user:ana", at=AT + timedelta(hours=1))  # fmt: skip
    # Before the window, and after the report's time: not listed.
    resolve(store, partner=PLAN, subscriber_id="S4", reason="withdrew", by="ana",  # type: ignore[arg-type]
            caller="os-user:ana", at=AS_OF - timedelta(days=8))  # fmt: skip
    store.resolve("S3", Resolution("R9", "2024-01-21T10:00:00Z", "ops", "after the report"))
    # Reconciliation's own confirmations are reported in their own section.
    store.resolve("S3", Resolution("RCN-1", "2024-01-19T11:00:00Z", "reconciliation with X",
                                   "held", kind=ClosedBy.RECONCILIATION))  # fmt: skip
    result = collect_report(store, AS_OF, 48.0, 7, 0)
    document = result.to_json()
    assert document["resolutions"] == [
        {"at": "2024-01-19T09:00:00Z", "partner": PLAN, "subscriber_id": "S1", "member_id": "E2",
         "reason": "=HYPERLINK(\"x\")", "by": "@ops",
         "caller": "arn:aws:sts::123456789012:assumed-role/Ops/ana", "closed": 1},
        {"at": "2024-01-19T10:00:00Z", "partner": PLAN, "subscriber_id": "S2", "member_id": None,
         "reason": "phoned", "by": "ana", "caller": "os-user:ana", "closed": 1},
    ]  # fmt: skip
    assert document["summary"]["resolutions"] == 2
    text = render_text(document, detail_limit=1)
    assert "Resolved by operators in the last 7 days (2):" in text
    assert (
        "  2024-01-19 10:00  HEALTHPLAN01 subscriber S2 (every open enrollment): 1 closed; by ana, "
        "written by os-user:ana; reason: phoned"
    ) in text.splitlines()
    assert "... and 1 more in the archive (the resolutions CSV and the JSON)" in text
    message = email.message_from_bytes(
        build_email(document, "a@example.com", ["b@example.com"], detail_rows=1),
        policy=policy.default,
    )
    attachments = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
    assert set(attachments) == {"unconfirmed-2024-01-20.csv", "resolutions-2024-01-20.csv"}
    rows = list(
        csv.DictReader(io.StringIO(attachments["resolutions-2024-01-20.csv"].lstrip("\ufeff")))
    )
    assert [(r["insurer"], r["subscriber_id"], r["reason"], r["by"], r["caller"]) for r in rows] == [
        (PLAN, "S1", "'=HYPERLINK(\"x\")", "'@ops", "arn:aws:sts::123456789012:assumed-role/Ops/ana"),
        (PLAN, "S2", "phoned", "ana", "os-user:ana"),
    ]  # formula-like cells neutralised, as in the unconfirmed CSV  # fmt: skip
    html = message.get_body(("html",)).get_content()
    assert "Resolved by operators in the last 7 days (2)" in html
    assert "os-user:ana" in html and "assumed-role/Ops/ana" not in html  # the most recent only
    assert "... and 1 more in the archive" in html


def test_a_day_without_resolutions_says_nothing_of_them_and_attaches_no_empty_csv() -> None:
    document = collect_report(day(), AS_OF, 48.0, 7, 0).to_json()
    assert document["resolutions"] == [] and document["summary"]["resolutions"] == 0
    assert "Resolved by operators" not in render_text(document)
    message = email.message_from_bytes(
        build_email(document, "a@example.com", ["b@example.com"]), policy=policy.default
    )
    assert [p.get_filename() for p in message.iter_attachments()] == ["unconfirmed-2024-01-20.csv"]
