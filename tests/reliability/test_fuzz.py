"""A small fuzzing budget in `make test`; `make fuzz` runs 100,000+ inputs (tests/reliability/fuzz.py)."""

from __future__ import annotations

import pytest

from tests.reliability import fuzz
from tests.reliability.support import FIGURES, budget

pytestmark = pytest.mark.slow


def test_mutated_files_and_random_bytes_are_processed_or_quarantined_never_crash() -> None:
    count = budget("fuzz_inputs", 400)
    figures = fuzz.run(count, seed=7, through_handlers=4)
    FIGURES["fuzz_inputs"] += count
    FIGURES["fuzz_through_handlers"] += sum(
        v for k, v in figures.items() if k.startswith("handler_")
    )
    assert figures["reader_records"] + figures["reader_unreadable"] == count
    handled = {k: v for k, v in figures.items() if k.startswith("handler_")}
    assert sum(handled.values()) == len(range(0, count, 4))
    # The mix really exercises both ends: files that are read and files that are refused.
    assert figures["reader_records"] > count // 4 and figures["reader_unreadable"] > count // 20
    assert handled.get("handler_quarantined", 0) > 0 and set(handled) - {"handler_quarantined"}
    assert all(figures[f"mutation_{name}"] > 0 for name in fuzz.MUTATIONS)
