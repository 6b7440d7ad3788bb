"""Gaps in control numbers and an insurer's usual interval (``domain.sequences``)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from acktrack.domain.sequences import gaps, usual_interval

AT = "2026-01-15T12:00:00Z"


def _seen(numbers: list[int]) -> list[tuple[str, str]]:
    return [(f"{n:09d}", f"2026-01-{1 + n % 28:02d}T00:00:00Z") for n in numbers]


def test_a_number_missing_after_a_long_run_is_a_gap_until_it_comes() -> None:
    numbers = [*range(1, 25), *range(26, 30)]
    (gap,) = gaps("PLAN", "outbound", "interchange", _seen(numbers), history=20)
    assert (gap.missing, gap.more, gap.since) == ([25], 0, "2026-01-25T00:00:00Z")
    assert gaps("PLAN", "outbound", "interchange", _seen([*numbers, 25]), history=20) == []


def test_no_gap_before_the_run_is_long_enough_nor_at_a_restart() -> None:
    assert gaps("PLAN", "inbound", "interchange", _seen([*range(1, 10), 12]), history=20) == []
    restart = [*range(1, 30), 50_000, 50_001]
    assert gaps("PLAN", "inbound", "interchange", _seen(restart), history=20) == []
    assert gaps("PLAN", "inbound", "group", [("ABC", AT)] * 30, history=1) == []  # not numbers


@given(st.lists(st.integers(min_value=1, max_value=300), max_size=200), st.integers(1, 30),
       st.randoms())  # fmt: skip
def test_gaps_do_not_depend_on_the_order_numbers_come_in(numbers: list[int], history: int,
                                                         order: random.Random) -> None:  # fmt: skip
    shuffled = list(numbers)
    order.shuffle(shuffled)
    seen, again = _seen(numbers), _seen(shuffled)
    assert gaps("P", "outbound", "group", seen, history) == gaps(
        "P", "outbound", "group", again, history
    )
    for gap in gaps("P", "outbound", "group", seen, history):
        assert not set(gap.missing) & set(numbers)  # a gap never lists a number seen


def test_the_usual_interval_is_the_95th_percentile_of_the_last_30_days() -> None:
    now = datetime(2026, 1, 31, tzinfo=UTC)
    hourly = [(now - timedelta(hours=n)).isoformat() for n in range(100)]
    assert usual_interval(hourly, now) == timedelta(hours=1)
    with_pause = [*hourly, (now - timedelta(hours=130)).isoformat()]
    assert usual_interval(with_pause, now) == timedelta(hours=1)  # one long pause: under the 95th
    assert usual_interval(hourly[:4], now) is None  # too few to learn from
    old = [(now - timedelta(days=40, hours=n)).isoformat() for n in range(50)]
    assert usual_interval(old, now) is None


def test_a_control_number_of_other_digits_is_no_number() -> None:
    """'²' is a digit to str.isdigit, not to int(): such a number is skipped, not raised."""
    seen = [(f"{n:09d}", AT) for n in range(1, 30)] + [("00000800²", AT)]
    assert gaps("PLAN", "inbound", "interchange", seen, history=20) == []
