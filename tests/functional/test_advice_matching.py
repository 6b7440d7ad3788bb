"""An 824 where it meets what was sent, on the in-memory store (no moto): a rejection after
an accepting 999 makes the set ``rejected_after_accept``, in any order; a TA1 or 999
rejection still outranks it; a GS06 sent twice makes the 824 ambiguous, applied nowhere."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from acktrack.correlate.acknowledgments import apply_group_ack, apply_ta1
from acktrack.correlate.advice import apply_advice
from tests.functional.memory import MemoryStore, StoredAck
from tests.functional.test_matching import PLAN, US, a_999, a_ta1, sent

_numbers = itertools.count(1)


def an_824(
    store: MemoryStore, group: str = "1", controls: tuple[str, ...] = ("0002",)
) -> StoredAck:
    detail = {"sets": [{"verdict": "TR", "control": control, "reference": "", "qualifier": "TN",
                        "codes": ["007"], "messages": ["missing"], "more_errors": 0,
                        "subscriber_id": None, "member_id": None} for control in controls]}  # fmt: skip
    return store.receive(StoredAck("824", US, PLAN, group, f"824-{PLAN}-{next(_numbers)}", detail))


@pytest.mark.parametrize("first_824", [False, True])
def test_an_824_rejects_after_the_999_in_either_order(first_824: bool) -> None:
    store = MemoryStore()
    interchange = sent(store)
    steps: list[Callable[[], str]] = [
        lambda: apply_group_ack(store, a_999(store, sets=[("0001", "A"), ("0002", "A")])),
        lambda: apply_advice(store, an_824(store)),
    ]
    for step in reversed(steps) if first_824 else steps:
        assert step() == "applied"
    assert store.status_of(interchange) == ["accepted", "rejected_after_accept"]


def test_a_ta1_rejection_outranks_an_824() -> None:
    store = MemoryStore()
    interchange = sent(store)
    apply_advice(store, an_824(store))
    apply_ta1(store, a_ta1(store, "1001", "R"))
    assert store.status_of(interchange) == ["rejected", "rejected"]


@pytest.mark.parametrize("controls", [("0009",), ()])
def test_an_824_for_nothing_sent_is_unmatched_and_a_group_rejection_takes_every_set(
    controls: tuple[str, ...],
) -> None:
    store = MemoryStore()
    interchange = sent(store)
    ack = an_824(store, controls=controls or ("",))
    state = apply_advice(store, ack)
    if controls:
        assert state == "unmatched" and "ST02 0009 (never sent)" in ack.reason
        assert store.status_of(interchange) == ["sent", "sent"]
    else:  # OTI01 GR names the group alone: every set of it
        assert state == "applied"
        assert store.status_of(interchange) == ["rejected_after_accept"] * 2


def test_a_gs06_sent_twice_leaves_the_824_ambiguous() -> None:
    store = MemoryStore()
    sent(store, control="1001")
    sent(store, control="1002")
    ack = an_824(store)
    assert apply_advice(store, ack) == "ambiguous"


def test_an_824_that_names_a_set_by_its_bgn02_alone_rejects_that_set() -> None:
    """OTI02 TN, OTI03 the 834's BGN02, no OTI09: the set of the group that carried it."""
    store = MemoryStore()
    interchange = sent(store)
    interchange.sets[0].reference, interchange.sets[1].reference = "REF-A", "REF-B"

    def by_bgn02(reference: str) -> StoredAck:
        detail = {"sets": [{"verdict": "TR", "control": "", "reference": reference,
                            "qualifier": "TN", "by_reference": True, "codes": ["007"],
                            "messages": [], "more_errors": 0, "subscriber_id": None,
                            "member_id": None}]}  # fmt: skip
        return store.receive(StoredAck("824", US, PLAN, "1", f"824-{next(_numbers)}", detail))

    assert apply_advice(store, by_bgn02("REF-B")) == "applied"
    assert store.status_of(interchange) == ["sent", "rejected_after_accept"]
    unknown = by_bgn02("REF-Z")
    assert apply_advice(store, unknown) == "unmatched" and "BGN02 REF-Z (no set" in unknown.reason
    assert unknown.reason.startswith("824 OTI for BGN02 REF-Z")


def test_a_bgn02_carried_by_several_sets_of_the_group_rejects_none_and_says_so() -> None:
    """A sender that puts one file-level id in every set's BGN02: which set an OTI that names
    only it means is unknown, so nothing is reopened on a guess."""
    store = MemoryStore()
    interchange = sent(store)
    for item in interchange.sets:
        item.reference = "FILE-1"
    detail = {"sets": [{"verdict": "TR", "control": "", "reference": "FILE-1", "qualifier": "TN",
                        "by_reference": True, "codes": ["007"], "messages": [], "more_errors": 0,
                        "subscriber_id": None, "member_id": None}]}  # fmt: skip
    ack = store.receive(StoredAck("824", US, PLAN, "1", f"824-{next(_numbers)}", detail))
    assert apply_advice(store, ack) == "unmatched"
    assert "carried by 2 sets" in ack.reason
    assert store.status_of(interchange) == ["sent", "sent"]
