"""Faults where a large file starts its workflow, on moto: each 834 of the day is cut into
parts (PartBytes small), and the function's StartExecution is throttled past the SDK's
retries, is applied with its answer lost, or the function stops after writing the part
orders and before starting. Lambda retries the S3 event; the execution is named after
the job, so a start applied before is not run twice. The final state must be a clean
run's."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

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
    """The function stops here: the part orders written before stay written."""


class StartFault:
    """StartExecution number ``at`` fails as ``kind`` says (once), on the handler's client."""

    def __init__(self, kind: str | None = None, at: int = 1) -> None:
        self.kind, self.at = kind, at
        self.calls = 0
        self.fired = False
        self._losing = False

    def install(self) -> None:
        events = clients.stepfunctions().meta.events
        events.register("before-call.sfn.StartExecution", self._before)
        events.register("after-call.sfn.StartExecution", self._after)

    def _before(self, model: Any, **_: Any) -> None:
        self.calls += 1
        if self.fired or self.calls != self.at or self.kind is None:
            return
        self.fired = True
        if self.kind == "throttled":
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "injected"}}, model.name
            )
        if self.kind == "stopped":
            raise Stopped("StartExecution")
        self._losing = True  # "lost": applied, then its answer lost

    def _after(self, **_: Any) -> None:
        if self._losing:
            self._losing = False
            raise ReadTimeoutError(endpoint_url="injected: execution started, answer lost")


def _run(fault: StartFault) -> tuple[dict[str, Any], StartFault, int]:
    with fresh_stack(PARTS) as stack:
        fault.install()
        for file in DAY:
            deliver(stack, file)
        assert not stack.failed_executions()
        starts = len(stack.client("stepfunctions").list_executions(
            stateMachineArn=stack.state_machines["FileWorkflow"])["executions"])  # fmt: skip
        return without_jobs(final_state(stack)), fault, starts


@pytest.fixture(scope="module")
def clean() -> tuple[dict[str, Any], int, int]:
    state, counted, starts = _run(StartFault())
    return state, counted.calls, starts


def test_the_day_starts_several_file_workflows(clean: tuple[dict[str, Any], int, int]) -> None:
    _, calls, starts = clean
    assert calls == starts >= 3


@pytest.mark.parametrize("kind", ["throttled", "stopped", "lost"])
def test_a_fault_at_the_start_then_retries_ends_in_the_clean_state(
    clean: tuple[dict[str, Any], int, int], kind: str
) -> None:
    expected, calls, starts = clean
    fired = 0
    for at in sorted({1, calls // 2 + 1, calls}):
        state, fault, started = _run(StartFault(kind, at))
        if not fault.fired:
            continue
        fired += 1
        FIGURES[f"start_faults_{kind}"] += 1
        assert state == expected, f"{kind} at StartExecution {at}"
        assert started == starts  # each file's workflow ran once
    assert fired >= 2
