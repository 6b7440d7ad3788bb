"""An insurer's roster: every family ever sent to it, for monthly reconciliation to read in
pages (about 10,000 families a 1 MB page, 16 shards) instead of walking every set sent
and each set's members.

The outbound ingest puts a family's roster item in the same batches as its members (once
per file that names it; the same item again, its expiry pushed on). The roster's start is
kept per insurer: sets sent before it (a table older than the roster) are still walked,
so reconciliation never misses a family the roster does not hold yet. An insurer with no
set in the table when its roster begins (a new table, a new insurer) has a whole roster:
nothing is walked, whatever envelope times its files carry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from acktrack.domain.population import ROSTER_WHOLE
from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure
from acktrack.store.models import RosterItem, RosterSinceItem, SetItem


class RosterStore(TableStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rostered: set[tuple[str, str]] = set()  # insurers whose start is kept

    def begin_roster(self, our: str, partner: str, at: str) -> None:
        """Keep when the insurer's roster began (the first time only; one read after that):
        ``at`` when the insurer had sets in the table already, else a whole roster."""
        if (our, partner) in self._rostered:
            return
        pk, sk = keys.roster_since_key(our, partner)
        try:
            RosterSinceItem.get(pk, sk, consistent_read=True, attributes_to_get=["pk"])
        except DoesNotExist:
            whole = not self._has_sets(our, partner)
            try:
                RosterSinceItem(pk, sk, since=at, whole=whole or None).save(
                    condition=RosterSinceItem.pk.does_not_exist()
                )
            except PutError as error:
                if not conditional_failure(error):
                    raise  # else another invocation began it first: its start is kept
        self._rostered.add((our, partner))

    def _has_sets(self, our: str, partner: str) -> bool:
        """Whether any set to the insurer is in the table (a key read from each partition)."""
        return any(
            next(iter(SetItem.lookup.query(partition, limit=1, attributes_to_get=["pk"])), None)
            for partition in keys.sets_keys(our, partner)
        )

    def roster_since(self, our: str, partner: str) -> str | None:
        try:
            item = RosterSinceItem.get(*keys.roster_since_key(our, partner))
        except DoesNotExist:
            return None
        return ROSTER_WHOLE if item.whole else str(item.since)

    def roster(self, our: str, partner: str) -> Iterator[str]:
        """The subscriber ids of the roster's families, shard by shard, in pages."""
        for shard in range(keys.ROSTER_SHARDS):
            pk = f"ROSTER#{our}#{partner}#{shard:02d}"
            for item in RosterItem.query(pk, RosterItem.sk.startswith("F#")):
                yield item.subscriber_id
