"""Acknowledgments move many sets per transaction; a set changed meanwhile, or a write whose
response was lost, falls back to one set at a time and counts once (moto)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from acktrack.handlers import wiring
from acktrack.store.models import SetItem
from acktrack.store.repository import Repository
from tests.integration.conftest import Day, requests

US, INSURER = "ACKTRACKEXCH", "HEALTHPLAN01"


def _sets(day: Day, members: int, seed: int) -> list[SetItem]:
    _, generated = day.send(f"s{seed}.834", members=members, sets_per_group=members, seed=seed,
                            dependents=0.0)  # fmt: skip
    repository = wiring.repository()
    (group,) = generated.group_controls
    return sorted(repository.sets_of_group(US, INSURER, group), key=lambda item: item.sk)


def _accepted(entry_id: str) -> dict[str, Any]:
    return {"id": entry_id, "kind": "999", "event": "set_accepted", "status": "A",
            "at": "2024-01-15T17:00:00+00:00", "codes": [], "errors": []}  # fmt: skip


def _accepted_members(repository: Repository) -> tuple[int, int]:
    counter = repository.counters(US, INSURER)["ALL"]
    return int(counter.members_accepted), int(counter.sets_accepted)


def test_a_999_for_250_sets_moves_99_sets_and_their_one_counter_item_per_transaction(
    day: Day,
) -> None:
    data, generated = day.send("many.834", members=250, sets_per_group=250, seed=51, dependents=0.0)
    with requests() as calls:
        day.answer(f"{INSURER}/many.999", data, with_ta1=False)
    assert calls["TransactWriteItems"] == 3, calls  # 99 + 99 + 52 sets (one counter shard each)
    assert _accepted_members(wiring.repository()) == (250, 250)
    statuses = {item.status for item in wiring.repository().sets_of_group(
        US, INSURER, generated.group_controls[0])}  # fmt: skip
    assert statuses == {"accepted"}


def test_sets_changed_since_they_were_read_fall_back_to_one_at_a_time(day: Day) -> None:
    repository = wiring.repository()
    stale = _sets(day, 30, seed=52)
    # Another 999 lands on every third set after these were read: their revisions move.
    for item in stale[::3]:
        repository.apply_to_set(item, "999-OTHER#0", _accepted("999-OTHER#0"))
    assert _accepted_members(repository) == (10, 10)
    applied = list(repository.apply_to_sets((item, "999-THIS#0", _accepted("999-THIS#0"))
                                            for item in stale))  # fmt: skip
    assert [result.status for result in applied] == ["accepted"] * 30
    assert _accepted_members(repository) == (30, 30)  # the ten are not counted twice
    for item in stale:
        after = SetItem.get(item.pk, item.sk, consistent_read=True)
        assert set(after.acks.as_dict()) >= {"999-THIS#0"}


@pytest.mark.parametrize(("operation", "count"), [("TransactWriteItems", 30), ("UpdateItem", 1)])
def test_a_write_applied_whose_response_is_lost_counts_once_on_redelivery(
    day: Day, operation: str, count: int
) -> None:
    """DynamoDB applies the write, the response never arrives; the retry finds it done."""
    repository = wiring.repository()
    stale = _sets(day, count, seed=53 + count)
    if operation == "UpdateItem":  # a set whose status does not move: one UpdateItem
        for item in stale:
            repository.apply_to_set(item, "999-FIRST#0", _accepted("999-FIRST#0"))
        stale = [SetItem.get(item.pk, item.sk, consistent_read=True) for item in stale]
    lost: list[str] = []

    def lose(model: Any, **_: Any) -> None:
        if model.name == operation and not lost:
            lost.append(model.name)
            raise ReadTimeoutError(endpoint_url="injected: applied, response lost")

    entries = [(item, "999-THIS#0", _accepted("999-THIS#0")) for item in stale]
    client = repository.client
    client.meta.events.register("after-call.dynamodb", lose)
    try:
        with pytest.raises(Exception):  # noqa: B017 (PynamoDB wraps the lost response)
            list(repository.apply_to_sets(entries))
    finally:
        client.meta.events.unregister("after-call.dynamodb", lose)
    assert lost == [operation]
    # Lambda delivers the event again: the same stale reads, the same entries.
    applied = list(repository.apply_to_sets(entries))
    assert [result.status for result in applied] == ["accepted"] * count
    assert _accepted_members(repository) == (count, count)
    for item in stale:
        after = SetItem.get(item.pk, item.sk, consistent_read=True)
        assert "999-THIS#0" in after.acks.as_dict() and after.revision == item.revision + 1
