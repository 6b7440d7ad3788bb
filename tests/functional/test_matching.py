"""The matching rules, on the in-memory store (no moto): where a TA1 or 999 meets what
was sent, and what each set becomes. The same rules run on DynamoDB in
tests/integration/test_pipeline.py; here each one takes milliseconds."""

from __future__ import annotations

import itertools
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acktrack.correlate.acknowledgments import (
    apply_group_ack,
    apply_stored_acks,
    apply_ta1,
    revoke_group_acks,
)
from tests.functional.memory import Interchange, MemoryStore, SentSet, StoredAck

US, PLAN = "ACKTRACKEXCH", "HEALTHPLAN01"
_numbers = itertools.count(1)


def sent(store: MemoryStore, control: str = "1001", group: str = "1", sets: tuple[str, ...] = ("0001", "0002"),
         date: str = "240115", time: str = "1200") -> Interchange:  # fmt: skip
    interchange = Interchange(US, PLAN, control, date, time)
    interchange.sets = [SentSet(US, PLAN, control, group, st02, members=3) for st02 in sets]
    return store.send(interchange)


def a_999(store: MemoryStore, group: str = "1", sets: list[tuple[str, str]] | None = None,
          ak9: str = "A", functional_id: str = "BE") -> StoredAck:  # fmt: skip
    detail = {
        "functional_id": functional_id, "group_control": group, "status": ak9, "error_codes": [],
        "sets": [{"control": control, "set_id": "834", "status": status, "error_codes": [],
                  "segment_errors": []} for control, status in (sets or [])],
    }  # fmt: skip
    return store.receive(StoredAck("999", US, PLAN, group, f"999-{PLAN}-{next(_numbers)}", detail))


def a_ta1(
    store: MemoryStore, control: str, status: str, date: str = "240115", time: str = "1200"
) -> StoredAck:
    detail = {"control": control, "date": date, "time": time, "status": status, "note": "000"}
    return store.receive(
        StoredAck("TA1", US, PLAN, control, f"TA1-{PLAN}-{next(_numbers)}", detail)
    )


def test_a_999_decides_each_set_it_names() -> None:
    store = MemoryStore()
    interchange = sent(store)
    ack = a_999(store, sets=[("0001", "A"), ("0002", "R")], ak9="P")
    assert apply_group_ack(store, ack) == "applied"
    assert store.status_of(interchange) == ["accepted", "rejected"]


def test_an_ak2_for_a_set_never_sent_is_named_and_the_others_apply() -> None:
    store = MemoryStore()
    interchange = sent(store)
    ack = a_999(store, sets=[("0001", "A"), ("0009", "A")])
    assert apply_group_ack(store, ack) == "applied"
    assert store.status_of(interchange) == ["accepted", "sent"]
    assert "AK2 for ST02 0009 never sent in GS06 1" in ack.reason
    assert "no AK2 for ST02 0002" in ack.reason


def test_a_999_naming_only_sets_never_sent_is_unmatched() -> None:
    store = MemoryStore()
    interchange = sent(store)
    assert apply_group_ack(store, a_999(store, sets=[("0009", "A")])) == "unmatched"
    assert store.status_of(interchange) == ["sent", "sent"]


@pytest.mark.parametrize(("ak9", "expected"), [("A", "accepted"), ("E", "accepted_with_errors"),
                                                ("R", "rejected"), ("P", "sent")])  # fmt: skip
def test_ak9_without_ak2_loops_speaks_for_every_set_when_it_decides(
    ak9: str, expected: str
) -> None:
    store = MemoryStore()
    interchange = sent(store)
    ack = a_999(store, sets=None, ak9=ak9)
    assert apply_group_ack(store, ack) == "applied"
    assert store.status_of(interchange) == [expected, expected]
    assert ("no set can be confirmed or rejected" in ack.reason) == (ak9 == "P")


def test_a_999_for_a_group_that_is_not_834_is_unmatched() -> None:
    store = MemoryStore()
    interchange = sent(store)
    ack = a_999(store, sets=[("0001", "A")], functional_id="HP")
    assert apply_group_ack(store, ack) == "unmatched"
    assert "acknowledges a HP group, not an 834 (BE) group" in ack.reason
    assert store.status_of(interchange) == ["sent", "sent"]


def test_a_999_that_came_first_is_applied_when_its_834_arrives() -> None:
    store = MemoryStore()
    ack = a_999(store, sets=[("0001", "A"), ("0002", "A")])
    assert apply_group_ack(store, ack) == "unmatched"
    assert "no functional group GS06 1 was sent to HEALTHPLAN01" in ack.reason
    interchange = sent(store)
    planned = SimpleNamespace(
        our_id=US, partner=PLAN, group_controls=["1"], interchange_control="1001"
    )
    apply_stored_acks(store, planned)  # type: ignore[arg-type]
    assert ack.state == "applied" and store.status_of(interchange) == ["accepted", "accepted"]


def test_a_gs06_used_by_two_interchanges_makes_its_999s_ambiguous_and_revokes_them() -> None:
    store = MemoryStore()
    first = sent(store, control="1001")
    ack = a_999(store, sets=[("0001", "A"), ("0002", "A")])
    assert apply_group_ack(store, ack) == "applied"
    second = sent(store, control="1002")  # the same GS06 again, in another interchange
    revoke_group_acks(store, US, PLAN, "1")
    assert ack.state == "ambiguous" and "cannot tell them apart" in ack.reason
    assert store.status_of(first) == ["sent", "sent"] and store.status_of(second) == [
        "sent",
        "sent",
    ]
    assert apply_group_ack(store, ack) == "ambiguous"


def test_one_999_answering_a_set_twice_keeps_both_answers() -> None:
    store = MemoryStore()
    interchange = sent(store, sets=("0001",))
    assert apply_group_ack(store, a_999(store, sets=[("0001", "A"), ("0001", "R")])) == "applied"
    (item,) = interchange.sets
    assert item.status == "rejected" and len(item.acks) == 2


def test_a_reused_isa13_is_told_apart_by_the_ta1s_date_and_time() -> None:
    store = MemoryStore()
    morning = sent(store, control="1001", group="1", time="0800")
    evening = sent(store, control="1001", group="2", time="2000")
    assert apply_ta1(store, a_ta1(store, "1001", "R", time="2000")) == "applied"
    assert store.status_of(morning) == ["sent", "sent"]
    assert store.status_of(evening) == ["rejected", "rejected"]
    same = a_ta1(store, "1001", "R", time="1200")  # neither: it cannot tell them apart
    assert apply_ta1(store, same) == "ambiguous"


def test_applying_an_acknowledgment_again_changes_nothing() -> None:
    store = MemoryStore()
    interchange = sent(store)
    ack = a_999(store, sets=[("0001", "A"), ("0002", "E")])
    apply_group_ack(store, ack)
    before = [dict(item.acks) for item in interchange.sets]
    apply_group_ack(store, ack)
    assert [dict(item.acks) for item in interchange.sets] == before
    assert store.status_of(interchange) == ["accepted", "accepted_with_errors"]


ANSWERS = ["999 A", "999 R", "999 E", "TA1 A", "TA1 R"]


@settings(max_examples=60, deadline=None)
@given(answers=st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=5), data=st.data())
def test_any_order_of_the_answers_gives_the_same_statuses(answers: list[str], data: Any) -> None:
    """The fold does not care about arrival order; a TA1 rejection outranks every 999."""

    def run(order: list[str]) -> list[str]:
        store = MemoryStore()
        interchange = sent(store)
        for answer in order:
            kind, status = answer.split()
            if kind == "999":
                apply_group_ack(store, a_999(store, sets=[("0001", status), ("0002", status)]))
            else:
                apply_ta1(store, a_ta1(store, "1001", status))
        return store.status_of(interchange)

    shuffled = data.draw(st.permutations(answers))
    assert run(shuffled) == run(answers)
    if "TA1 R" in answers:
        assert run(answers) == ["rejected", "rejected"]
