"""Concurrency, on moto: Lambda runs invocations at the same time. A day's files (some
delivered again later, among the others) go to four workers at once, whole or cut in
parts; the final table and reports must be those of the files one after another.

The day holds what meets at once: a 999 and the 834 it answers, two copies of one 834
(the same families and the same interchange), the insurer's effectuation for those
families, and several sets moving one insurer's counters.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.reliability.support import (
    FIGURES,
    budget,
    build_day,
    run_concurrently,
    run_day,
    without_jobs,
)

pytestmark = pytest.mark.slow
DAY = build_day()
PARTS = {"PartBytes": 1024}


@pytest.fixture(scope="module")
def one_after_another() -> dict[str, Any]:
    return without_jobs(run_day((file, 1) for file in DAY))


@pytest.fixture(scope="module")
def one_after_another_in_parts() -> dict[str, Any]:
    from tests.reliability.support import deliver, final_state, fresh_stack

    with fresh_stack(PARTS) as stack:
        for file in DAY:
            deliver(stack, file)
        return without_jobs(final_state(stack))


@pytest.fixture(autouse=True)
def switch_often() -> Iterator[None]:
    """Threads take turns every 0.1 ms instead of 5 ms: many more interleavings."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0001)
    yield
    sys.setswitchinterval(interval)


def _with_late_repeats(order: list[Any], repeats: list[int], seed: int) -> list[Any]:
    """The order given, with files delivered again at random later positions."""
    rng = random.Random(seed)
    result = list(order)
    for index in repeats:
        file = order[index % len(order)]
        first = result.index(file)
        result.insert(rng.randint(first + 1, len(result)), file)
    return result


@settings(max_examples=budget("concurrent_days", 4), deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate],  # a full day per example: report, do not shrink
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@example(order=DAY[::-1], repeats=[0, 2], seed=7, in_parts=False)  # whole files, always
@given(
    order=st.permutations(DAY),
    repeats=st.lists(st.integers(0, len(DAY) - 1), max_size=4),
    seed=st.integers(0, 2**16),
    in_parts=st.booleans(),
)
def test_four_workers_at_once_end_as_one_after_another(
    one_after_another: dict[str, Any],
    one_after_another_in_parts: dict[str, Any],
    order: list[Any],
    repeats: list[int],
    seed: int,
    in_parts: bool,
) -> None:
    deliveries = _with_late_repeats(order, repeats, seed)
    state = without_jobs(
        run_concurrently(deliveries, workers=4, parameters=PARTS if in_parts else None)
    )
    expected = one_after_another_in_parts if in_parts else one_after_another
    FIGURES["concurrent_days"] += 1
    FIGURES["concurrent_deliveries"] += len(deliveries)
    assert state["report"] == expected["report"]
    assert state["late_report"] == expected["late_report"]
    assert _differences(state["table"], expected["table"]) == {}  # items' fields that differ


def _differences(got: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """Each item that differs, by field: (this run's, one after another's). A whole item's
    repr is cut short in a failure's message; its differing fields are not."""
    found: dict[str, Any] = {}
    for key in sorted(set(got) | set(want)):
        mine, theirs = got.get(key) or {}, want.get(key) or {}
        if mine != theirs:
            found[key] = {field: (mine.get(field), theirs.get(field))
                          for field in sorted(set(mine) | set(theirs))
                          if mine.get(field) != theirs.get(field)}  # fmt: skip
    return found
