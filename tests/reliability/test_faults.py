"""Fault injection, on moto: fail the handlers' DynamoDB and S3 calls one at a time.

Each run makes call number N fail in one way (throttling after the SDK's own retries, a
timeout before the request is sent, a crash between two writes, a BatchWriteItem that
leaves items unprocessed, or a request AWS applied whose response was lost),
lets Lambda's retries run, then delivers every file again. The final state must be the
clean run's: nothing lost, nothing counted twice. botocore event hooks on the very
clients the handlers use place the faults; none of acktrack's code is replaced.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from acktrack import runtime
from acktrack.aws import clients
from acktrack.local.stack import EmbeddedStack
from tests.reliability.support import (
    FIGURES,
    budget,
    build_day,
    deliver,
    final_state,
    fresh_stack,
    table_state,
)

pytestmark = pytest.mark.slow
DAY = build_day()
KINDS = ("throttling", "timeout", "crash", "unprocessed", "lost")


class InjectedCrash(Exception):
    """The process stops here: every write before this call happened, none after."""


class Faults:
    """Counts the handlers' AWS calls; call number ``at`` fails as ``kind`` says (once)."""

    def __init__(self, kind: str | None = None, at: int = -1) -> None:
        self.kind, self.at = kind, at
        self.calls = 0
        self.fired: str | None = None  # the operation that failed
        self._stashed: list[Any] = []
        self._losing: str | None = None  # applied; its response is lost on the way back

    def install(self) -> None:
        dynamodb = runtime.repository().client
        dynamodb.meta.events.register("before-call.dynamodb", self._before)
        dynamodb.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", self._strip)
        dynamodb.meta.events.register("after-call.dynamodb.BatchWriteItem", self._unprocessed)
        dynamodb.meta.events.register("after-call.dynamodb", self._lose)
        clients.s3().meta.events.register("before-call.s3", self._before)
        clients.s3().meta.events.register("after-call.s3", self._lose)

    def _due(self) -> bool:
        self.calls += 1
        return self.fired is None and self.calls == self.at

    def _before(self, model: Any, **_: Any) -> None:
        if self.kind == "unprocessed" or not self._due():
            return
        self.fired = model.name
        if self.kind == "lost":
            self._losing = model.name
            return
        if self.kind == "throttling":
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "injected"}}, model.name
            )
        if self.kind == "timeout":
            raise ReadTimeoutError(endpoint_url="injected")
        raise InjectedCrash(model.name)

    def _lose(self, model: Any, **_: Any) -> None:
        if self._losing == model.name:
            self._losing = None
            raise ReadTimeoutError(endpoint_url="injected: applied, response lost")

    def _strip(self, params: dict[str, Any], **_: Any) -> None:
        if self.kind != "unprocessed" or not self._due():
            return
        for table, requests in params["RequestItems"].items():
            keep = max(1, len(requests) // 2)
            self._stashed = [(table, request) for request in requests[keep:]]
            params["RequestItems"][table] = requests[:keep]
        self.fired = "BatchWriteItem"

    def _unprocessed(self, parsed: dict[str, Any], **_: Any) -> None:
        if not self._stashed:
            return
        unprocessed = parsed.setdefault("UnprocessedItems", {})
        for table, request in self._stashed:
            unprocessed.setdefault(table, []).append(request)
        self._stashed = []


def _day(stack: EmbeddedStack) -> None:
    for file in DAY:
        deliver(stack, file)


@pytest.fixture(scope="module")
def clean() -> tuple[dict[str, Any], int, int]:
    """The clean run's state and how many AWS calls (all, and BatchWriteItem) its handlers made."""
    with fresh_stack() as stack:
        counter = Faults()
        counter.install()
        batches: list[int] = []
        runtime.repository().client.meta.events.register(
            "before-call.dynamodb.BatchWriteItem", lambda **_: batches.append(1)
        )
        _day(stack)
        calls, batch_writes = counter.calls, len(batches)  # the day's calls, not the reports'
        FIGURES["clean_day_calls"] = calls
        return final_state(stack), calls, batch_writes


def points(total: int, kind: str) -> list[int]:
    """Which calls to fail: every one with ACKTRACK_FAULT_STRIDE=1, else an even spread."""
    stride = budget("fault_stride", max(1, total // 6))
    offset = KINDS.index(kind) % stride  # kinds start at different calls
    return list(range(1 + offset, total + 1, stride))


def test_the_clean_day_makes_enough_calls_to_be_worth_breaking(
    clean: tuple[dict[str, Any], int, int],
) -> None:
    _, calls, batches = clean
    assert calls > 50 and batches >= 2


@pytest.mark.parametrize("kind", KINDS)
def test_one_failed_call_then_redelivery_ends_in_the_clean_state(
    clean: tuple[dict[str, Any], int, int], kind: str
) -> None:
    expected, calls, batches = clean
    where = points(batches if kind == "unprocessed" else calls, kind)
    failed: list[str] = []
    for at in where:
        with fresh_stack() as stack:
            faults = Faults(kind, at)
            faults.install()
            _day(stack)
            if not faults.fired:
                # Only a run that made fewer calls than ``at`` may skip; it is counted and shown.
                assert faults.calls < at, (
                    f"{kind} at call {at} did not fire in {faults.calls} calls"
                )
                FIGURES[f"faults_skipped_{kind}"] += 1
                continue
            failed.append(faults.fired)
            FIGURES[f"faults_{kind}"] += 1
            # The table after Lambda's retries; the reports (read from it) once, at the end.
            assert table_state(stack) == expected["table"], (
                f"{kind} at call {at} ({faults.fired}), after Lambda's retries"
            )
            for file in DAY:  # then every event is delivered again (S3 delivers at least once)
                stack.redeliver(
                    stack.bucket("Outbound" if file.folder == "outbound" else "Inbound"), file.key
                )
            FIGURES["fault_redeliveries"] += len(DAY)
            assert final_state(stack) == expected, (
                f"{kind} at call {at} ({faults.fired}), after redelivery"
            )
    assert len(failed) >= max(2, len(where) * 9 // 10), (len(failed), len(where))
    if kind != "unprocessed":
        assert {"PutObject", "CopyObject", "GetObject"} & set(failed) or {
            "TransactWriteItems",
            "UpdateItem",
            "Query",
        } & set(failed)
