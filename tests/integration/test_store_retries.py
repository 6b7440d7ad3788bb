"""A transaction DynamoDB refuses for now is retried; a failed condition is not; one whose
answer was lost inside the SDK's retries is sent again by botocore and applied once (moto in
process)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from acktrack.handlers import wiring
from acktrack.local.stack import EmbeddedStack
from acktrack.store import keys
from acktrack.store.dynamo import StoreError, conditional_failure, transact, transient
from acktrack.store.models import CounterItem
from tests.reliability.support import LostInsideRetries


def cancelled(*codes: str | None) -> TransactWriteError:
    reasons = [CancellationReason(code) if code else None for code in codes]
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=reasons,
    )
    return TransactWriteError("cancelled", cause=cause)


def refused(code: str) -> TransactWriteError:
    return TransactWriteError(
        code, cause=ClientError({"Error": {"Code": code}}, "TransactWriteItems")
    )


def test_only_a_failed_condition_counts_as_someone_else_got_there_first() -> None:
    assert conditional_failure(cancelled("ConditionalCheckFailed", None))
    assert not transient(cancelled("ConditionalCheckFailed", "TransactionConflict"))
    # A conflict with another transaction on the shared counter is not a lost race: retry it.
    assert not conditional_failure(cancelled(None, "TransactionConflict"))
    assert transient(cancelled(None, "TransactionConflict"))
    assert transient(cancelled("ThrottlingError"))
    assert transient(refused("TransactionInProgressException"))
    assert not transient(refused("ValidationException"))
    assert not conditional_failure(refused("ValidationException"))


def test_transient_refusals_are_retried_until_the_write_lands(stack: EmbeddedStack) -> None:
    repository = wiring.repository()
    counter = CounterItem(keys.counter_pk("US", "THEM"), "ALL")
    attempts: list[int] = []

    def build(transaction: Any) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise cancelled(None, "TransactionConflict")
        transaction.update(counter, actions=[CounterItem.members_sent.add(5)])

    transact(repository._connection(), build, "test")
    assert len(attempts) == 3
    assert CounterItem.get(counter.pk, counter.sk).members_sent == 5


def test_a_refusal_that_never_ends_is_a_store_error_and_a_condition_is_raised_at_once(
    stack: EmbeddedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acktrack.store import dynamo

    monkeypatch.setattr(dynamo, "BACKOFF", (0.001, 0.002))  # the schedule, not the behaviour
    repository = wiring.repository()

    def always(transaction: Any) -> None:
        raise cancelled("TransactionConflict")

    with pytest.raises(StoreError, match="kept refusing"):
        transact(repository._connection(), always, "test")
    calls: list[int] = []

    def condition(transaction: Any) -> None:
        calls.append(1)
        raise cancelled("ConditionalCheckFailed")

    with pytest.raises(TransactWriteError):
        transact(repository._connection(), condition, "test")
    assert calls == [1]


def test_a_transaction_whose_answer_is_lost_is_resent_by_the_sdk_and_applied_once(
    stack: EmbeddedStack,
) -> None:
    """The store's transactions carry a ClientRequestToken (botocore fills it in: PynamoDB
    sends none), so the SDK's resend after a lost answer is the same request to DynamoDB,
    which applies it once."""
    repository = wiring.repository()
    lost = LostInsideRetries(repository.client)
    counter = CounterItem(keys.counter_pk("US", "THEM"), "ALL")
    lost.arm()
    transact(repository._connection(),
             lambda t: t.update(counter, actions=[CounterItem.members_sent.add(5)]), "test")  # fmt: skip
    assert (lost.lost, lost.resent) == (1, 1)
    assert CounterItem.get(counter.pk, counter.sk, consistent_read=True).members_sent == 5
