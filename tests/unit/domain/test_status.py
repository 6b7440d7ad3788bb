"""The status table, tested exhaustively: a join-semilattice, so order and repetition do not matter."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from acktrack.domain.status import (
    CONFIRMED,
    OPEN,
    RANK,
    TRANSITIONS,
    Event,
    Status,
    apply,
    event_for_ik5,
    event_for_ta1,
    fold,
)


def test_the_table_covers_every_status_and_event() -> None:
    assert set(TRANSITIONS) == set(itertools.product(Status, Event))


def test_states_only_move_forward() -> None:
    for (status, event), result in TRANSITIONS.items():
        assert RANK[result] >= RANK[status], (status, event)


def test_expected_outcomes() -> None:
    assert apply(Status.SENT, Event.TA1_ACCEPTED) is Status.RECEIVED
    assert apply(Status.RECEIVED, Event.SET_ACCEPTED) is Status.ACCEPTED
    assert (
        apply(Status.ACCEPTED, Event.TA1_ACCEPTED) is Status.ACCEPTED
    )  # a late TA1 changes nothing
    assert (
        apply(Status.ACCEPTED, Event.TA1_REJECTED) is Status.REJECTED
    )  # TA1 R rejects whatever the 999 said
    assert apply(Status.REJECTED, Event.SET_ACCEPTED) is Status.REJECTED
    assert apply(Status.ACCEPTED, Event.SET_ACCEPTED_WITH_ERRORS) is Status.ACCEPTED_WITH_ERRORS


def test_each_event_applied_twice_is_applied_once() -> None:
    for status, event in itertools.product(Status, Event):
        once = apply(status, event)
        assert apply(once, event) is once


@given(st.lists(st.sampled_from(list(Event)), max_size=12), st.randoms())
def test_any_order_of_the_same_events_gives_the_same_status(
    events: list[Event], shuffler: object
) -> None:
    shuffled = list(events)
    shuffler.shuffle(shuffled)  # type: ignore[attr-defined]
    assert fold(events) is fold(shuffled) is fold(events + events)


def test_open_and_confirmed_partition_the_statuses() -> None:
    assert set(Status) == OPEN | CONFIRMED and not OPEN & CONFIRMED


def test_codes_to_events() -> None:
    assert [event_for_ik5(code) for code in "AERMWXP"] == [
        Event.SET_ACCEPTED, Event.SET_ACCEPTED_WITH_ERRORS, *[Event.SET_REJECTED] * 4, None,
    ]  # fmt: skip
    assert [event_for_ta1(code) for code in "AERQ"] == [
        Event.TA1_ACCEPTED,
        Event.TA1_ACCEPTED,
        Event.TA1_REJECTED,
        None,
    ]
