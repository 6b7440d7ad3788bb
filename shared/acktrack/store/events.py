"""Reading and clearing the outbox (``store.outbox``), and what the report announced last:
one item per state, moved only from the state the report read (a retried report announces
nothing twice)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from pynamodb.exceptions import PutError, TransactWriteError

from acktrack.domain.events import Notice
from acktrack.domain.ports import PendingEvents
from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure, transact
from acktrack.store.models import AnnouncedItem, OutboxItem
from acktrack.store.outbox import saving_with

_DELETE_BATCH = 25
_PAGE = 50  # outbox items a Query reads at once (each up to 98 events)


class OutboxStore(TableStore):
    def pending_events(self, limit: int, start: int = 0) -> Iterator[PendingEvents]:
        """Up to ``limit`` outbox items, oldest first within each shard, from shard ``start``
        on (rotated: the publisher starts each run at a shard drawn at random). Read a page
        at a time as they are taken: a run that stops early reads no more."""
        shards = keys.outbox_pks()
        taken = 0
        for number in range(len(shards)):
            pk = shards[(start + number) % len(shards)]
            for item in OutboxItem.query(pk, consistent_read=True, limit=limit - taken,
                                         page_size=_PAGE):  # fmt: skip
                notices, unreadable = [], 0
                for raw in item.notices or []:
                    try:
                        notices.append(Notice.from_dict(raw))
                    except (KeyError, TypeError, ValueError):
                        unreadable += 1
                taken += 1
                yield PendingEvents((item.pk, item.sk), notices, unreadable)
            if taken >= limit:
                return

    def events_published(self, done: Sequence[tuple[str, str]]) -> None:
        for start in range(0, len(done), _DELETE_BATCH):
            with OutboxItem.batch_write() as batch:
                for pk, sk in done[start : start + _DELETE_BATCH]:
                    batch.delete(OutboxItem(pk, sk))

    def announced(self) -> dict[str, str]:
        """Every state the report announced, with its fingerprint (one partition)."""
        return {item.sk: item.fingerprint
                for item in AnnouncedItem.query(keys.ANNOUNCED_PK, consistent_read=True)}  # fmt: skip

    def announce(
        self, key: str, before: str | None, fingerprint: str, notice: Notice | None, at: str
    ) -> bool:
        """Move the state from ``before`` (None: never announced) to ``fingerprint`` with its
        event, in one transaction; False when another run moved it first."""
        pk, sk = keys.announced_key(key)
        item = AnnouncedItem(pk, sk, fingerprint=fingerprint, at=at)
        condition = (AnnouncedItem.pk.does_not_exist() if before is None
                     else AnnouncedItem.fingerprint == before)  # fmt: skip
        try:
            if notice is None:
                item.save(condition=condition)
            else:
                transact(self._connection(), saving_with(item, condition, [notice]), f"announce {key}")  # fmt: skip
        except (PutError, TransactWriteError) as error:
            if not conditional_failure(error):
                raise
            return False
        return True
