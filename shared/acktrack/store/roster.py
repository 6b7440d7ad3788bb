"""An insurer's roster: every family ever sent to it, for monthly reconciliation to read in
pages (about 10,000 families a 1 MB page, 16 shards) instead of walking every set sent
and each set's members.

The outbound ingest puts a family's roster item in the same batches as its members (once
per file that names it; the same item again, its expiry pushed on). The roster's start is
kept per insurer: sets sent before it that code before the roster wrote (a table older
than the roster, or a container of that code still running through the deploy: no
``rostered`` mark) are still walked, so reconciliation never misses a family the roster
does not hold; a set written with the roster is not, whatever its envelope time.
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.exceptions import DoesNotExist

from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.models import RosterItem, RosterSinceItem


class RosterStore(TableStore):
    def begin_roster(self, our: str, partner: str, at: str) -> None:
        """Keep when the insurer's roster began (the first time only)."""
        pk, sk = keys.roster_since_key(our, partner)
        RosterSinceItem(pk, sk).update(actions=[
            RosterSinceItem.since.set(RosterSinceItem.since | at),  # if_not_exists
        ])  # fmt: skip

    def roster_since(self, our: str, partner: str) -> str | None:
        try:
            return str(RosterSinceItem.get(*keys.roster_since_key(our, partner)).since)
        except DoesNotExist:
            return None

    def roster(self, our: str, partner: str) -> Iterator[str]:
        """The subscriber ids of the roster's families, shard by shard, in pages."""
        for shard in range(keys.ROSTER_SHARDS):
            pk = f"ROSTER#{our}#{partner}#{shard:02d}"
            for item in RosterItem.query(pk, RosterItem.sk.startswith("F#")):
                yield item.subscriber_id
