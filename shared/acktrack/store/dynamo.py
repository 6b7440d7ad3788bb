"""DynamoDB's refusals, told apart: a failed condition (someone else wrote first) against
a transient refusal (throttling, a concurrent transaction) that is retried with back-off."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

CONFLICT_RETRIES = 12
BACKOFF = (0.02, 2.0)  # first and longest pause between transaction retries, seconds


class StoreError(RuntimeError):
    """DynamoDB kept refusing a write after every retry (the event is retried by Lambda)."""


# Cancellation reasons and error codes that say "try again", not "someone changed it".
_TRANSIENT_REASONS = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)
_TRANSIENT_CODES = frozenset(
    {"TransactionConflictException", "TransactionInProgressException", "ThrottlingException",
     "ProvisionedThroughputExceededException", "RequestLimitExceeded"}
)  # fmt: skip


def cancellation_codes(error: Exception) -> set[str]:
    """The per-item reasons of a cancelled transaction (empty for other errors)."""
    try:
        reasons = getattr(error, "cancellation_reasons", None) or []
    except AttributeError:
        return set()
    return {reason.code for reason in reasons if reason is not None and reason.code}


def conditional_failure(error: Exception) -> bool:
    """A condition did not hold: another writer got there first (not a transient refusal)."""
    reasons = cancellation_codes(error)
    if reasons:
        return "ConditionalCheckFailed" in reasons
    text = f"{getattr(error, 'cause_response_code', '')} {getattr(error, 'cause_response_message', '')}"
    return "ConditionalCheckFailed" in text


def transient(error: Exception) -> bool:
    """DynamoDB refused for now (a concurrent transaction on an item, throttling): retry."""
    reasons = cancellation_codes(error)
    if reasons:
        return "ConditionalCheckFailed" not in reasons and bool(reasons & _TRANSIENT_REASONS)
    return getattr(error, "cause_response_code", None) in _TRANSIENT_CODES


def pause(attempt: int) -> None:
    """Jittered exponential back-off before retry ``attempt`` (0-based)."""
    first, longest = BACKOFF
    delay = min(first * 2**attempt, longest)
    time.sleep(delay * (0.5 + random.random()))


def transact(connection: Connection, build: Callable[[TransactWrite], Any], label: str) -> None:
    """Run the transaction ``build(transaction)`` describes, retrying transient refusals with
    jittered exponential back-off; a failed condition is raised to the caller."""
    for attempt in range(CONFLICT_RETRIES):
        try:
            with TransactWrite(connection=connection) as transaction:
                build(transaction)
            return
        except TransactWriteError as error:
            if not transient(error):
                raise
            if attempt == CONFLICT_RETRIES - 1:
                raise StoreError(f"{label}: DynamoDB kept refusing the transaction") from None
            pause(attempt)
