"""Faults at the parts queue, on moto: a large 834 is cut into parts (PartBytes small) and
SendMessageBatch accepts only some orders, answers with its response lost, or the
function stops after some orders went out. The final state must be a clean run's."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from acktrack.aws import clients
from tests.reliability.support import (
    FIGURES,
    build_day,
    deliver,
    final_state,
    fresh_stack,
    without_jobs,
)

pytestmark = pytest.mark.slow
DAY = build_day()
PARTS = {"PartBytes": 1024}  # every outbound 834 of the day in several parts


class Stopped(Exception):
    """The function stops here: the orders sent before stay sent."""


class QueueFault:
    """SendMessageBatch number ``at`` fails as ``kind`` says (once), on the handler's client."""

    def __init__(self, kind: str | None = None, at: int = 1) -> None:
        self.kind, self.at = kind, at
        self.calls = 0
        self.fired = False
        self._held: list[dict[str, Any]] = []

    def install(self) -> None:
        events = clients.sqs().meta.events
        events.register("before-parameter-build.sqs.SendMessageBatch", self._before)
        events.register("after-call.sqs.SendMessageBatch", self._after)

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        self.calls += 1
        if self.fired or self.calls != self.at or self.kind is None:
            return
        if self.kind == "partial" and len(params["Entries"]) > 1:
            keep = len(params["Entries"]) // 2
            self._held, params["Entries"] = params["Entries"][keep:], params["Entries"][:keep]
            self.fired = True
        elif self.kind == "stopped" and self.calls > 1:  # after earlier orders went out
            self.fired = True
            raise Stopped("SendMessageBatch")
        elif self.kind == "lost":
            self.fired = True
            self._held = [{"lost": True}]

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        held, self._held = self._held, []
        if held and held[0].get("lost"):
            raise ReadTimeoutError(endpoint_url="injected: orders queued, answer lost")
        for entry in held:  # SQS refused these: the sender must send them again
            parsed.setdefault("Failed", []).append(
                {"Id": entry["Id"], "SenderFault": False, "Code": "InternalError"}
            )


def _run(fault: QueueFault) -> tuple[dict[str, Any], QueueFault]:
    with fresh_stack(PARTS) as stack:
        fault.install()
        for file in DAY:
            deliver(stack, file)
        return without_jobs(final_state(stack)), fault


@pytest.fixture(scope="module")
def clean() -> tuple[dict[str, Any], int]:
    state, counted = _run(QueueFault())
    return state, counted.calls


def test_the_day_sends_part_orders_in_several_batches(clean: tuple[dict[str, Any], int]) -> None:
    _, batches = clean
    assert batches >= 3


@pytest.mark.parametrize("kind", ["partial", "stopped", "lost"])
def test_a_queue_fault_then_retries_ends_in_the_clean_state(
    clean: tuple[dict[str, Any], int], kind: str
) -> None:
    expected, batches = clean
    fired = 0
    for at in sorted({2, batches // 2 + 1, batches}):
        state, fault = _run(QueueFault(kind, at))
        if not fault.fired:
            continue
        fired += 1
        FIGURES[f"queue_faults_{kind}"] += 1
        assert state == expected, f"{kind} at SendMessageBatch {at}"
    assert fired >= 2
