"""The events' outbox (``domain.events``): a change's events are written in the same
transaction as the change, in one item, and the publisher (``ingest.publish``) takes them
out once the bus has them (``store.events``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from acktrack.domain.events import Notice
from acktrack.store import keys
from acktrack.store.models import OutboxItem

KEPT_DAYS = 14  # an event nobody published by then expires (the publisher runs each minute)


def outbox_item(notices: Sequence[Notice], now: datetime | None = None) -> OutboxItem:
    """One item for the events of one change (its key a hash of them: the same change
    written again lands on the same item)."""
    moment = now or datetime.now(UTC)
    ids = [notice.event_id for notice in notices]
    batch = hashlib.sha256("|".join(ids).encode()).hexdigest()[:16]
    pk, sk = keys.outbox_key(ids[0], moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), batch)
    return OutboxItem(pk, sk, notices=[notice.to_dict() for notice in notices],
                      expires=moment + timedelta(days=KEPT_DAYS))  # fmt: skip


def add_outbox(transaction: TransactWrite, notices: Sequence[Notice]) -> None:
    """The events of the change ``transaction`` makes, in it (nothing when there are none)."""
    if notices:
        transaction.save(outbox_item(notices))


def saving_with(
    item: Model, condition: Condition, notices: Sequence[Notice]
) -> Callable[[TransactWrite], None]:
    """A transaction that saves ``item`` on ``condition`` with the events of that change."""

    def build(transaction: TransactWrite) -> None:
        transaction.save(item, condition=condition)
        add_outbox(transaction, notices)

    return build
