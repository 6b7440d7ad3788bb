"""The exchange's extract of expected actions (``ingest.expected``) on in-memory fakes of its
ports (no moto): kept once each, their families reconciled once; a file with another
column refused whole; a large extract cut in parts gives the same actions and the same
counts whatever order its parts run in, each part run twice."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from acktrack.domain.expected import ExpectedAction
from acktrack.domain.ports import Outcome, PipelineConfig
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.expected import finish_expected, ingest_expected, ingest_expected_part
from acktrack.ingest.parts import PartOrder, finish_order
from tests.functional.ingest_fakes import Files, Jobs, Ledger, Workflow

US, PLAN, OTHER = "EXCH", "PLAN01", "PLAN02"
KEY = "outbound/expected/2024-01-15.csv"
HEADER = "insurer_id,subscriber_id,member_id,maintenance_type,effective_date,action_id,created_at"


class MemoryExpected(Ledger, Jobs):
    """``ExpectedStore``: each action created once, by sender, insurer and action id."""

    def __init__(self) -> None:
        Ledger.__init__(self, [(US, PLAN), (US, OTHER)])
        Jobs.__init__(self)
        self.actions: dict[tuple[str, str, str], ExpectedAction] = {}

    def put_expected(self, our: str, actions: Iterable[ExpectedAction]) -> int:
        created = 0
        for action in actions:
            key = (our, action.partner, action.action_id)
            if key not in self.actions:
                self.actions[key] = action
                created += 1
        return created


def _extract(rows: int) -> str:
    lines = [f"{PLAN if n % 3 else OTHER},S{n // 2},{'' if n % 2 else f'M{n}'},021,20240201,"
             f"A-{n:05d},2024-01-15T09:{n % 60:02d}:00Z" for n in range(rows)]  # fmt: skip
    return "\n".join([HEADER, *lines]) + "\n"


def _ref(data: bytes) -> ObjectRef:
    return ObjectRef("outbound", KEY, size=len(data), version_id="v1",
                     received_at=datetime(2024, 1, 15, 12, tzinfo=UTC))  # fmt: skip


def test_each_action_is_kept_once_and_its_families_reconciled_once() -> None:
    store, files = MemoryExpected(), Files(_extract(12).encode())
    outcome = ingest_expected(_ref(files.data), files, store, PipelineConfig())
    assert outcome.outcome == FileOutcome.EXPECTED and outcome.expected_actions == 12
    assert len(store.actions) == 12 and not files.quarantined
    assert sorted(store.judged) == sorted(set(store.judged))  # each family once
    assert len(store.judged) == len({(a.partner, a.subscriber_id) for a in store.actions.values()})
    again = ingest_expected(_ref(files.data), files, store, PipelineConfig())
    assert again.expected_actions == 12 and len(store.actions) == 12  # delivered again: no more


def test_an_extract_with_another_column_is_refused_whole_with_the_reason() -> None:
    store = MemoryExpected()
    files = Files(f"{HEADER},last_name\n{PLAN},S1,,021,20240201,A-1,2024-01-15T09:00:00Z,SMITH\n"
                  .encode())  # fmt: skip
    outcome = ingest_expected(_ref(files.data), files, store, PipelineConfig())
    assert outcome.outcome == FileOutcome.QUARANTINED and not store.actions
    assert "SMITH" not in files.quarantined[KEY] and "last_name" not in files.quarantined[KEY]


def _in_parts(order: list[int] | None) -> tuple[MemoryExpected, Outcome]:
    store, files, workflow = MemoryExpected(), Files(_extract(40).encode()), Workflow()
    config = PipelineConfig(part_members=7)
    fanned = ingest_expected(_ref(files.data), files, store, config, workflow)
    assert fanned.outcome == FileOutcome.FANNED_OUT and fanned.parts == 6
    ((job, (kind, orders)),) = workflow.started.items()
    for index in order or range(len(orders)):
        for _ in range(2):  # each part run twice (a retried map item)
            ingest_expected_part(PartOrder.from_message(orders[index]), files, store, config)
    return store, finish_expected(finish_order(job, kind, len(orders)), store)


@pytest.mark.parametrize("order", [None, [5, 4, 3, 2, 1, 0], [2, 0, 5, 1, 4, 3]])
def test_an_extract_in_parts_gives_the_same_actions_and_counts_in_any_order(
    order: list[int] | None,
) -> None:
    whole, files = MemoryExpected(), Files(_extract(40).encode())
    ingest_expected(_ref(files.data), files, whole, PipelineConfig())
    store, outcome = _in_parts(order)
    assert store.actions == whole.actions and outcome.expected_actions == 40
    assert outcome.by_partner == {PLAN: {"expected": 26}, OTHER: {"expected": 14}}
    assert [key for key, _ in store.outcomes] == [KEY] and len(store.finished) == 1
    assert set(store.judged) == set(whole.judged)


def test_no_part_order_names_the_file_or_carries_a_row() -> None:
    store, files, workflow = MemoryExpected(), Files(_extract(40).encode()), Workflow()
    ingest_expected(_ref(files.data), files, store, PipelineConfig(part_members=7), workflow)
    ((_, (_, orders)),) = workflow.started.items()
    assert not any(KEY in order or "S1" in order or "A-0" in order
                   for order in orders)  # fmt: skip
