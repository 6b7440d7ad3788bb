"""A large 999 applied in slices (on the in-memory store): in any slice size, in any order,
with slices run again, the sets, their entries and the 999's state and notes are those of
one application in one go."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from acktrack.correlate.acknowledgments import (
    apply_group_ack,
    apply_group_ack_slice,
    finish_group_ack,
    group_ack_slices,
    revoke_group_acks,
)
from tests.functional.memory import MemoryStore
from tests.functional.test_matching import PLAN, US, a_999, sent

SENT = tuple(f"{n:04d}" for n in range(1, 13))


def _answers(statuses: list[str], extra: list[str]) -> list[tuple[str, str]]:
    """Set responses: one per sent set (a status each, duplicates kept), then ST02s never sent."""
    return [*zip(SENT, statuses, strict=False), *((control, "A") for control in extra)]


def _state(store: MemoryStore) -> Any:
    (interchange,) = store.interchanges
    (ack,) = store.acks
    return ([(s.status, s.first_999_at, copy.deepcopy(s.acks)) for s in interchange.sets],
            ack.state, ack.reason)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    statuses=st.lists(st.sampled_from("AERMW"), min_size=0, max_size=12),
    twice=st.lists(st.sampled_from(SENT), max_size=3),
    extra=st.lists(st.sampled_from(["0900", "0901"]), max_size=2),
    size=st.integers(min_value=1, max_value=5),
    order=st.randoms(use_true_random=False),
    again=st.integers(min_value=0, max_value=3),
    ak9=st.sampled_from("AERP"),
)
def test_slices_in_any_order_and_size_run_again_give_the_one_go_result(
    statuses: list[str], twice: list[str], extra: list[str], size: int, order: Any, again: int,
    ak9: str,
) -> None:  # fmt: skip
    """No set response at all: the AK9 speaks for every set of the group (12 here)."""
    answers = _answers(statuses, extra) + [(control, "R") for control in twice]
    one_go, sliced = MemoryStore(), MemoryStore()
    for store in (one_go, sliced):
        sent(store, sets=SENT)
        a_999(store, sets=answers or None, ak9=ak9)
    (whole,) = one_go.acks
    (ack,) = sliced.acks
    ack.sk = whole.sk  # one 999: its entries' ids follow its key
    state = apply_group_ack(one_go, whole)
    slices = list(range(group_ack_slices(sliced, ack, ack.detail, size)))
    runs = slices + [order.choice(slices) for _ in range(again)]  # a slice retried
    order.shuffle(runs)
    for index in runs:
        apply_group_ack_slice(sliced, ack, index, size)
        assert ack.state == "pending"  # until Finish
    assert finish_group_ack(sliced, ack) == state
    assert _state(sliced) == _state(one_go)


def test_a_slice_past_the_last_set_response_applies_nothing() -> None:
    store = MemoryStore()
    interchange = sent(store, sets=SENT[:2])
    ack = a_999(store, sets=[("0001", "A"), ("0002", "R")])
    apply_group_ack_slice(store, ack, 5, 2)
    assert store.status_of(interchange) == ["sent", "sent"]
    apply_group_ack_slice(store, ack, 0, 2)
    assert store.status_of(interchange) == ["accepted", "rejected"]
    assert finish_group_ack(store, ack) == "applied"


def test_a_gs06_sent_again_while_slices_run_leaves_nothing_of_the_999() -> None:
    """Revoked by the ingest that reuses the GS06 (the 999 was pending), or, for a slice
    that wrote after that, by Finish: as in one go, none of the 999 counts."""
    for revoked_at_ingest in (True, False):
        store = MemoryStore()
        first = sent(store, sets=SENT[:4])
        ack = a_999(store, sets=[(control, "A") for control in SENT[:4]])
        apply_group_ack_slice(store, ack, 0, 2)
        assert store.status_of(first)[:2] == ["accepted", "accepted"]
        second = sent(store, control="1002", sets=SENT[:4])  # the same GS06, again
        if revoked_at_ingest:
            revoke_group_acks(store, US, PLAN, "1")
        apply_group_ack_slice(store, ack, 1, 2)
        assert finish_group_ack(store, ack) == "ambiguous"
        assert store.status_of(first) == store.status_of(second) == ["sent"] * 4
