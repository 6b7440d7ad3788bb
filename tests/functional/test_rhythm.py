"""Gaps in control numbers and a silent insurer, on the in-memory report source (no moto):
found by the report, closed by a number that comes late, and announced once as events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from acktrack.domain.sequences import INBOUND, INTERCHANGE, OUTBOUND
from acktrack.ingest.publish import announce
from acktrack.report.collect import collect_report
from acktrack.report.outputs import render
from tests.functional.report_memory import ReportMemory
from tests.functional.test_events import MemoryOutbox

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class RhythmMemory(ReportMemory):
    """Our ISA13s 1-45 to the insurer but ``missing``; its files daily, the last five days ago."""

    def __init__(self, missing: set[int]) -> None:
        super().__init__()
        self.missing = missing

    def control_numbers(self, our: str, partner: str, direction: str, level: str) -> list[Any]:
        start = AS_OF - timedelta(days=20)
        if (direction, level) == (OUTBOUND, INTERCHANGE):
            return [(str(n), _at(start + timedelta(hours=n))) for n in range(1, 46)
                    if n not in self.missing]  # fmt: skip
        if (direction, level) == (INBOUND, INTERCHANGE):
            return [(str(900 + n), _at(AS_OF - timedelta(days=15 - n))) for n in range(11)]
        return []


def _document(missing: set[int]) -> dict[str, Any]:
    store = RhythmMemory(missing)
    store.send(1, [("S1", "E1")])  # an 834 still awaiting its answer
    report = collect_report(store, AS_OF, 48.0, 7, 0)
    return dict(render(report, timezone="UTC", detail_rows=500).document)


def test_a_missing_number_is_a_gap_and_a_quiet_insurer_with_834s_waiting_is_silent() -> None:
    document = _document({22})
    (gap,) = document["control_gaps"]
    assert (gap["partner"], gap["direction"], gap["level"], gap["missing"]) == (
        "HEALTHPLAN01", "outbound", "interchange", [22])  # fmt: skip
    (silent,) = document["silent_insurers"]
    assert silent["partner"] == "HEALTHPLAN01" and silent["usual_interval_hours"] == 24.0
    assert silent["silent_since"] == _at(AS_OF - timedelta(days=5))
    assert document["summary"]["control_gaps"] == 1 and document["summary"]["silent_insurers"] == 1


def test_a_number_that_comes_late_closes_its_gap() -> None:
    assert _document(set())["control_gaps"] == []


def test_each_finding_is_announced_once_and_a_new_gap_again() -> None:
    outbox = MemoryOutbox()
    assert announce(outbox, _document({22})) == 3  # the gap, the silence, people overdue
    kinds = sorted(n.type.value for _, notices in outbox.items.items() for n in notices)
    assert kinds == ["AcknowledgmentOverdue", "ControlGap", "InsurerSilent"]
    assert announce(outbox, _document({22})) == 0  # the next day, the same findings
    assert announce(outbox, _document({22, 44})) == 1  # 44 newly missing (after 23-43)
    (*_, newest) = [n for _, notices in sorted(outbox.items.items()) for n in notices]
    assert newest.detail["missing"] == [44]
