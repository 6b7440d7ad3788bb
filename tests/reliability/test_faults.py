"""Fault injection, on moto: fail the handlers' DynamoDB and S3 calls one at a time.

Each run makes call number N fail in one way (throttling after the SDK's own retries, a
timeout before the request is sent, a crash between two writes, a BatchWriteItem that
leaves items unprocessed, a request AWS applied whose response was lost after the SDK's
retries, or one whose response was lost inside them, so that botocore itself sends the
same request again), lets Lambda's retries run, then delivers every file again. The
final state must be the clean run's: nothing lost, nothing counted twice. botocore
event hooks on the very clients the handlers use place the faults; none of acktrack's
code is replaced.

Calls are numbered without the retries of a refusal (a transaction cancelled by a
TransactionConflict, a single write refused by one, a BatchWriteItem leaving items
unprocessed): the member writer's threads meet such conflicts in some runs and not in
others, and with them counted a run could end before the call its fault was planned at.
Numbered so, every run of the clean day makes the same number of calls, and a fault that
does not fire fails the test.
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from acktrack.aws import clients
from acktrack.handlers import wiring
from acktrack.local.stack import EmbeddedStack
from tests.reliability.support import (
    AS_OF,
    FIGURES,
    LostInsideRetries,
    budget,
    build_day,
    deliver,
    final_state,
    fresh_stack,
    report_state,
    table_state,
)

pytestmark = pytest.mark.slow
DAY = build_day()
KINDS = ("throttling", "timeout", "crash", "unprocessed", "lost", "resent")


class InjectedCrash(Exception):
    """The process stops here: every write before this call happened, none after."""


def _refused(parsed: dict[str, Any]) -> bool:
    """DynamoDB refused this call for now: the caller sends it again (not a new call)."""
    reasons = {reason.get("Code") for reason in parsed.get("CancellationReasons") or []}
    code = parsed.get("Error", {}).get("Code", "")
    return (
        "TransactionConflict" in reasons
        or code == "TransactionConflictException"
        or any(parsed.get("UnprocessedItems", {}).values())
    )


class Faults:
    """Counts the handlers' AWS calls; call number ``at`` fails as ``kind`` says (once). For
    ``unprocessed``, ``at`` counts BatchWriteItem calls only."""

    def __init__(self, kind: str | None = None, at: int = -1) -> None:
        self.kind, self.at = kind, at
        self.calls = 0
        self.batches = 0  # BatchWriteItem calls (before-parameter-build comes before before-call)
        self.fired: str | None = None  # the operation that failed
        self._stashed: list[Any] = []
        self._losing: str | None = None  # applied; its response is lost on the way back
        self._again = threading.local()  # the operation this thread sends again after a refusal
        self._inside: dict[str, LostInsideRetries] = {}

    def install(self) -> None:
        dynamodb = wiring.repository().client
        dynamodb.meta.events.register("before-call.dynamodb", self._before)
        dynamodb.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", self._strip)
        dynamodb.meta.events.register("after-call.dynamodb.BatchWriteItem", self._unprocessed)
        dynamodb.meta.events.register("after-call.dynamodb", self._after)
        clients.s3().meta.events.register("before-call.s3", self._before)
        clients.s3().meta.events.register("after-call.s3", self._lose)
        self._inside = {
            "dynamodb": LostInsideRetries(dynamodb),
            "s3": LostInsideRetries(clients.s3()),
        }

    @property
    def resent(self) -> int:
        """Requests botocore sent again after an answer lost inside its retries."""
        return sum(inside.resent for inside in self._inside.values())

    def _due(self, operation: str) -> bool:
        if getattr(self._again, "operation", None) == operation:
            self._again.operation = None  # the same write once more: not a call of its own
            return False
        self.calls += 1
        return self.fired is None and self.calls == self.at

    def _before(self, model: Any, **_: Any) -> None:
        if not self._due(model.name) or self.kind == "unprocessed":
            return  # (an unprocessed batch is placed by ``_strip``)
        self.fired = model.name
        if self.kind == "lost":
            self._losing = model.name
            return
        if self.kind == "resent":
            self._inside[model.service_model.service_name].arm()
            return
        if self.kind == "throttling":
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "injected"}}, model.name
            )
        if self.kind == "timeout":
            raise ReadTimeoutError(endpoint_url="injected")
        raise InjectedCrash(model.name)

    def _after(self, model: Any, parsed: dict[str, Any], **kwargs: Any) -> None:
        if _refused(parsed):
            self._again.operation = model.name
        self._lose(model)

    def _lose(self, model: Any, **_: Any) -> None:
        if self._losing == model.name:
            self._losing = None
            raise ReadTimeoutError(endpoint_url="injected: applied, response lost")

    def _strip(self, params: dict[str, Any], **_: Any) -> None:
        if getattr(self._again, "operation", None) == "BatchWriteItem":
            return  # the unprocessed items sent again (``_due`` sees it next)
        self.batches += 1
        if self.kind != "unprocessed" or self.batches != self.at or self.fired:
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
    """The clean run's state and how many AWS calls (all, and BatchWriteItem) its handlers
    made, numbered as the faults number them."""
    with fresh_stack() as stack:
        counter = Faults()
        counter.install()
        _day(stack)
        calls, batch_writes = counter.calls, counter.batches  # the day's calls, not the reports'
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
            # Every run of the day makes the clean run's calls up to its fault: a fault that
            # did not fire is a proof that did not happen, and fails here.
            assert faults.fired, (
                f"{kind} at call {at} did not fire: this run made "
                f"{faults.batches if kind == 'unprocessed' else faults.calls} calls"
            )
            if kind == "resent":  # botocore itself sent the applied request again
                assert faults.resent == 1, f"resent at call {at} ({faults.fired}): not resent"
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
    assert len(failed) == len(where) >= 2
    if kind != "unprocessed":
        assert {"PutObject", "CopyObject", "GetObject"} & set(failed) or {
            "TransactWriteItems",
            "UpdateItem",
            "Query",
        } & set(failed)


def test_a_report_email_whose_answer_is_lost_inside_the_sdk_goes_out_once() -> None:
    """SES's client makes one attempt (``aws/clients.py``): a SendEmail SES applied whose
    answer was lost is not sent again by botocore, whose resend nothing could stop (the
    report's send-once marker is written before and after the call, not between attempts).
    The run says the email may have gone out, and no later run of that date sends it."""
    with fresh_stack() as stack:
        deliver(stack, DAY[0])
        lost = LostInsideRetries(clients.ses())  # the handler's own client
        lost.arm(any_thread=True)  # SendEmail is the report's one SES request
        first = stack.run_schedule(AS_OF)
        assert lost.lost == 1
        assert (lost.resent, len(stack.sent_emails())) == (0, 1)
        assert first.ok and first.result["email"]["uncertain"] == "2024-01-20"
        again = stack.run_schedule(AS_OF + timedelta(minutes=5))  # the scheduler's retry
        assert again.ok and len(stack.sent_emails()) == 1


class ReportCalls:
    """Numbers the report run's AWS calls on the handler's own clients (DynamoDB, S3, SES);
    call ``at`` is applied and its answer lost, after the SDK's retries (``lost``) or inside
    them (``resent``)."""

    def __init__(self, kind: str | None = None, at: int = -1) -> None:
        self.kind, self.at, self.calls = kind, at, 0
        self.services: list[str] = []
        self.in_work_area: list[bool] = []  # the workflow's hand-offs, swept at the stride
        self.fired: str | None = None
        self._losing: int | None = None
        for client in (wiring.repository().client, clients.s3(), clients.ses()):
            client.meta.events.register("before-call", self._before(LostInsideRetries(client)))
            client.meta.events.register("after-call", self._lose)

    def _before(self, inside: LostInsideRetries) -> Any:
        def before(model: Any, params: dict[str, Any], **_: Any) -> None:
            self.calls += 1
            self.services.append(model.service_model.service_name)
            self.in_work_area.append("/work/" in str(params.get("url_path", "")))
            if self.calls != self.at:
                return
            self.fired = model.name
            if self.kind == "resent":
                inside.arm()
            else:
                self._losing = threading.get_ident()

        return before

    def _lose(self, **_: Any) -> None:
        if self._losing == threading.get_ident():
            self._losing = None
            raise ReadTimeoutError(endpoint_url="injected: applied, response lost")


@pytest.mark.parametrize("kind", ["lost", "resent"])
def test_an_answer_lost_anywhere_in_the_report_still_emails_the_date_once(kind: str) -> None:
    """The report's writes are S3 objects (the archive, the send-once marker) and one email.
    Every one of those calls, and its reads and the workflow's hand-offs in the work area at
    the stride of the day's sweep (every one in `make reliability`), is applied and its
    answer lost once, on a fresh stack: after the SDK's retries, or inside them (the SDK
    sends it again). After the run, the workflow's retries and the scheduler's second run,
    the date was emailed exactly once."""
    with fresh_stack() as stack:
        deliver(stack, DAY[0])
        clean = ReportCalls()
        assert stack.run_schedule(AS_OF).ok
    # Every call to the archive, the marker and SES; the tasks' hand-offs in the work area
    # (each batch's pieces) and the reads at the sweep's stride.
    calls = zip(clean.services, clean.in_work_area, strict=True)
    writes = [n for n, (service, work) in enumerate(calls, 1)
              if service != "dynamodb" and not work]  # fmt: skip
    assert any(clean.in_work_area) and len(writes) >= 7 and clean.calls > len(writes)
    for at in sorted(set(writes) | set(points(clean.calls, "resent"))):
        with fresh_stack() as stack:
            deliver(stack, DAY[0])
            fault = ReportCalls(kind, at)
            first = stack.run_schedule(AS_OF)
            assert fault.fired, f"report call {at} did not fire in {fault.calls} calls"
            again = stack.run_schedule(AS_OF + timedelta(minutes=5))  # the scheduler's retry
            assert first.ok and again.ok, (at, fault.fired, first.error, again.error)
            emails = len(stack.sent_emails())
            assert emails == 1, f"{kind} at report call {at} ({fault.fired}): {emails} emails"
            FIGURES[f"faults_{kind}_report"] += 1


class BatchCrash:
    """Crashes call ``at`` of the report's batch tasks (their DynamoDB and S3 calls, counted
    across batches) once: every write the batch made before it happened, none after."""

    def __init__(self, at: int = -1) -> None:
        self.at, self.calls = at, 0
        self.fired: str | None = None
        for client in (wiring.repository().client, clients.s3()):
            client.meta.events.register("before-call", self._before)

    def _before(self, model: Any, **_: Any) -> None:
        if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "").endswith("-report-batch"):
            return
        self.calls += 1
        if self.calls == self.at:
            self.fired = model.name
            raise InjectedCrash(f"crash at batch call {self.at} ({model.name})")


def test_a_batch_that_fails_is_retried_by_the_workflow_and_counts_once() -> None:
    """One set a batch (``ReportBatchSets=1``), so the day's report runs several batches;
    each call the batches make (the ledgers' reads, a set taken out of the index, the
    pieces, the summary written last) crashes once, on a fresh stack. The Distributed
    Map's Retry runs that batch again: the report's figures and rows are the clean run's,
    no row lost and none counted twice, and the batch ran once more than the clean run."""
    parameters = {"ReportBatchSets": 1}

    def batches(stack: EmbeddedStack) -> int:
        return sum(1 for i in stack.invocations if i.function == "ReportBatchFunction")

    with fresh_stack(parameters) as stack:
        for file in DAY[:3]:
            deliver(stack, file)
        clean = BatchCrash()
        expected = report_state(stack)
        clean_batches = batches(stack)
    assert clean_batches >= 2 and clean.calls >= 4 * clean_batches  # reads, then four pieces
    assert expected["summary"]["people_unconfirmed"] > 0  # rows for the batches to lose
    for at in sorted({1, *points(clean.calls, "crash"), clean.calls}):
        with fresh_stack(parameters) as stack:
            for file in DAY[:3]:
                deliver(stack, file)
            fault = BatchCrash(at)
            state = report_state(stack)
            assert fault.fired, f"batch call {at} did not fire in {fault.calls} calls"
            assert state == expected, f"batch call {at} ({fault.fired})"
            assert batches(stack) == clean_batches + 1, at  # the failed one, run again
            FIGURES["faults_crash_batch"] += 1
