"""A family's effectuation moves cut into transactions of at most 100 items (no AWS)."""

from __future__ import annotations

import pytest

from acktrack.store.effectuations import TRANSACTION_ITEMS, Move, chunks
from acktrack.store.models import MemberItem

US, INSURER = "ACKTRACKEXCH", "HEALTHPLAN01"


def moves(count: int, days: int = 1, delta: int = -1) -> list[Move]:
    """Members no longer effectuated (an update and a marker deleted each), over ``days``."""
    return [
        Move(MemberItem("FAM#f", f"M#{n:05d}", sent_at=f"2024-01-{15 + n % days:02d}T12:00:00Z"),
             "EFF-1", None, delta)
        for n in range(count)
    ]  # fmt: skip


def items(chunk: list[Move]) -> int:
    counters = {m.counter_key(US, INSURER) for m in chunk if m.count}
    return sum(m.items for m in chunk) + len(counters)


@pytest.mark.parametrize(("members", "days", "expected"), [
    (1, 1, [1]), (49, 1, [49]), (50, 1, [49, 1]), (120, 1, [49, 49, 22]), (100, 3, [48, 48, 4]),
])  # fmt: skip
def test_a_family_is_cut_where_one_more_move_would_pass_100_items(
    members: int, days: int, expected: list[int]
) -> None:
    found = chunks(moves(members, days), US, INSURER)
    assert [len(chunk) for chunk in found] == expected  # three sent days: three counter items
    assert all(items(chunk) <= TRANSACTION_ITEMS for chunk in found)
    assert [m.member.sk for chunk in found for m in chunk] == [
        m.member.sk for m in moves(members, days)
    ]  # all, once, in order


def test_moves_that_count_nothing_take_no_counter_item() -> None:
    found = chunks(moves(100, delta=0), US, INSURER)  # member updates only
    assert [len(chunk) for chunk in found] == [100]
