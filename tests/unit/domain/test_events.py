"""Events (``domain.events``): which status moves are events, their identity (the same
answers give the same event, in any order), PHI-free details, and the report's findings
announced once per change."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acktrack.domain.events import (
    EventType,
    Notice,
    SetIdentity,
    announcements,
    published,
    reason_code,
    set_moved,
    to_announce,
    with_previous,
)
from acktrack.domain.hashing import Keyring
from acktrack.domain.status import Status

S = Status
SET = SetIdentity(our_id="EXCH", partner="PLAN01", interchange_control="000000101",
                  group_control="7", transaction_control="0003", key="GS#x|S#y", people=4)  # fmt: skip
REJECTED_999 = {"id": "a1", "kind": "999", "event": "set_rejected", "status": "R",
                "codes": ["5"], "errors": [{"code": "8", "segment": "DMG"}]}  # fmt: skip
ACCEPTED_999 = {"id": "a2", "kind": "999", "event": "set_accepted", "status": "A"}
KEYRING = Keyring.of(b"k" * 40)


def test_a_set_rejected_is_an_event_with_the_acknowledgment_s_codes() -> None:
    notice = set_moved(SET, S.SENT, S.REJECTED, {"a1": REJECTED_999}, "2024-01-02T00:00:00Z")  # type: ignore[dict-item]
    assert notice is not None and notice.type == EventType.ENROLLMENT_REJECTED
    assert notice.detail["codes"] == ["999:5", "999:IK3=8", "999:status=R"]
    assert notice.detail["people"] == 4 and notice.detail["previous_status"] == "sent"


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        (S.SENT, S.ACCEPTED, EventType.PERSON_CONFIRMED),
        (S.RECEIVED, S.ACCEPTED_WITH_ERRORS, EventType.PERSON_CONFIRMED),
        (S.ACCEPTED, S.REJECTED_AFTER_ACCEPT, EventType.ENROLLMENT_REJECTED),
        (S.ACCEPTED, S.REJECTED, EventType.ENROLLMENT_REJECTED),
        (S.ACCEPTED, S.ACCEPTED_WITH_ERRORS, None),  # confirmed already
        (S.REJECTED_AFTER_ACCEPT, S.REJECTED, None),  # rejected already
        (S.SENT, S.RECEIVED, None),  # a TA1 says nothing of the people
    ],
)
def test_only_moves_into_a_rejection_or_a_confirmation_are_events(
    before: Status, after: Status, kind: EventType | None
) -> None:
    notice = set_moved(SET, before, after, {}, None)
    assert (notice.type if notice else None) == kind


def test_the_same_answers_give_the_same_event_in_any_order() -> None:
    one = set_moved(SET, S.SENT, S.REJECTED, {"a1": REJECTED_999, "a2": ACCEPTED_999}, "t")  # type: ignore[dict-item]
    other = set_moved(SET, S.ACCEPTED, S.REJECTED, {"a2": ACCEPTED_999, "a1": REJECTED_999}, "t")  # type: ignore[dict-item]
    assert one is not None and other is not None and one.event_id == other.event_id
    revoked = {**REJECTED_999, "revoked": True}
    again = set_moved(SET, S.SENT, S.REJECTED, {"a1": revoked, "a3": {**REJECTED_999, "id": "a3"}},
                      "t")  # type: ignore[dict-item]  # fmt: skip
    assert again is not None and again.event_id != one.event_id  # rejected anew: a new event


def test_an_event_carries_only_control_numbers_counts_codes_and_keyed_references() -> None:
    notice = set_moved(SET, S.SENT, S.ACCEPTED, {}, "2024-01-02T00:00:00Z")
    assert notice is not None
    event = published(notice, KEYRING)
    assert set(event.detail) >= {"insurer", "interchange_control", "people", "enrollment_ref"}
    assert SET.key not in event.to_json()  # the reference is a keyed hash of it
    other_key = published(notice, Keyring.of(b"q" * 40)).detail["enrollment_ref"]
    assert other_key != event.detail["enrollment_ref"]
    assert "enrollment_ref" not in published(notice, Keyring()).detail  # no key: no reference
    leaking = Notice(EventType.PERSON_CONFIRMED, "x", "t", {"subscriber_id": "123"})
    with pytest.raises(ValueError, match="subscriber_id"):
        published(leaking, KEYRING)
    assert Notice.from_dict(json.loads(json.dumps(notice.to_dict()))) == notice


@given(st.text())
def test_a_quarantine_reason_becomes_a_code_that_quotes_no_value(reason: str) -> None:
    code = reason_code(reason)
    assert re.fullmatch(r"[a-z0-9_]+", code)
    assert not re.search(r"\d{4}", code)


def test_a_quarantine_reason_code_keeps_the_reason_s_words() -> None:
    assert reason_code("not readable as X12: ISA segment 106 characters") == "not_readable_as_x12"
    assert reason_code("") == "unreadable"


def _report(overdue: int = 0, never: int = 0, gaps: tuple[int, ...] = (),
            silent: str | None = None) -> dict[str, object]:  # fmt: skip
    return {
        "as_of": "2024-01-20T07:00:00+00:00",
        "by_partner": [{"partner": "PLAN01", "pending_overdue": overdue}],
        "never_sent_by_partner": [{"partner": "PLAN01", "never_sent": never}] if never else [],
        "control_gaps": [{"partner": "PLAN01", "direction": "outbound", "level": "group",
                          "missing": list(gaps), "more_missing": 0, "since": "t"}] if gaps else [],
        "silent_insurers": [{"partner": "PLAN01", "silent_since": silent,
                             "usual_interval_hours": 24.0, "awaiting_answer": 3}] if silent else [],
    }  # fmt: skip


def _announce(report: dict[str, object], known: dict[str, str]) -> list[Notice]:
    """One report's announcements against ``known`` (updated as the store would)."""
    published_now = []
    for one, before in to_announce(announcements(report), known, cleared=list(known)):
        notice = with_previous(one, before)
        known[one.key] = one.fingerprint
        if notice is not None:
            published_now.append(notice)
    return published_now


def test_the_report_s_findings_are_announced_when_they_appear_or_grow_only() -> None:
    known: dict[str, str] = {}
    first = _announce(_report(overdue=5, never=2, gaps=(7,), silent="s1"), known)
    assert sorted(n.type for n in first) == sorted([
        EventType.ACKNOWLEDGMENT_OVERDUE, EventType.NEVER_SENT, EventType.CONTROL_GAP,
        EventType.INSURER_SILENT])  # fmt: skip
    assert _announce(_report(overdue=5, never=2, gaps=(7,), silent="s1"), known) == []  # the same
    assert _announce(_report(overdue=3, never=1, gaps=(7,), silent="s1"), known) == []  # better
    (grown,) = _announce(_report(overdue=6, never=1, gaps=(7,), silent="s1"), known)
    assert grown.detail["people_overdue"] == 6 and grown.detail["people_overdue_before"] == 3
    (gap,) = _announce(_report(overdue=6, never=1, gaps=(7, 9), silent="s1"), known)
    assert gap.detail["missing"] == [9]  # only what is newly missing
    assert _announce(_report(overdue=6, never=1, gaps=(9,), silent="s1"), known) == []  # 7 came
    assert _announce(_report(overdue=6, never=1), known) == []  # cleared: remembered
    (silent,) = _announce(_report(overdue=6, never=1, silent="s2"), known)
    assert silent.type == EventType.INSURER_SILENT and silent.detail["silent_since"] == "s2"


def test_a_cleared_state_that_comes_back_is_announced_again() -> None:
    known: dict[str, str] = {}
    assert len(_announce(_report(never=2), known)) == 1
    assert _announce(_report(), known) == []
    assert known["NeverSent#PLAN01"] == ""
    (again,) = _announce(_report(never=2), known)
    assert again.detail["never_sent_before"] == 0


def _row(number: int, transaction: str) -> dict:
    return {"kind": "error_report", "event": "set_rejected_after_accept", "status": "R",
            "codes": ["E1"], "pinned": {"subscriber_id": "S1", "transaction": transaction}}  # fmt: skip


def test_an_error_report_s_rows_reject_as_many_people_as_they_name() -> None:
    from acktrack.domain.events import named_again

    entries = {"a2": ACCEPTED_999, "r1": _row(1, "1"), "r2": _row(2, "1")}
    notice = set_moved(SET, S.ACCEPTED, S.REJECTED_AFTER_ACCEPT, entries, "t")  # type: ignore[arg-type]
    assert notice is not None and notice.detail["people"] == 1  # of 4: one person, two rows
    more = {**entries, "r3": _row(3, "2"), "r4": _row(4, "3")}
    again = named_again(SET, S.REJECTED_AFTER_ACCEPT, more, ["r3", "r4"], "t")  # type: ignore[arg-type]
    assert again is not None and again.detail["people"] == 2
    same = {**entries, "r5": _row(5, "1")}  # a third row on the person named already
    assert named_again(SET, S.REJECTED_AFTER_ACCEPT, same, ["r5"], "t") is None  # type: ignore[arg-type]
    advice = {"kind": "824", "event": "set_rejected_after_accept", "status": "TR"}
    whole = {**entries, "824#1": advice}  # an 824 now rejects the set whole: 3 more of 4
    notice = named_again(SET, S.REJECTED_AFTER_ACCEPT, whole, ["824#1"], "t")  # type: ignore[arg-type]
    assert notice is not None and notice.detail["people"] == 3
    later = {**whole, "r6": _row(6, "4")}  # rejected whole already: nobody more
    assert named_again(SET, S.REJECTED_AFTER_ACCEPT, later, ["r6"], "t") is None  # type: ignore[arg-type]


def test_a_set_confirmed_again_after_its_rejection_is_revoked_is_a_new_event() -> None:
    """999 accepts, an 824 rejects, the 824 stops counting (its control number turned out
    ambiguous): confirmed anew, with an id a consumer has not seen."""
    first = set_moved(SET, S.SENT, S.ACCEPTED, {"a2": ACCEPTED_999}, "t")  # type: ignore[dict-item]
    advice = {"kind": "824", "event": "set_rejected_after_accept", "status": "TR", "revoked": True}
    again = set_moved(SET, S.REJECTED_AFTER_ACCEPT, S.ACCEPTED,
                      {"a2": ACCEPTED_999, "824#1": advice}, "t")  # type: ignore[dict-item]  # fmt: skip
    assert first is not None and again is not None and again.event_id != first.event_id
    assert again.type == first.type == EventType.PERSON_CONFIRMED
    # A confirmation that stopped counting changes no id: the last word is the same as in
    # the order where it was never applied.
    other = set_moved(SET, S.SENT, S.ACCEPTED, {"a2": ACCEPTED_999,
                      "a9": {**ACCEPTED_999, "id": "a9", "revoked": True}}, "t")  # type: ignore[dict-item]  # fmt: skip
    assert other is not None and other.event_id == first.event_id
