"""A set's acknowledgment entries change and its status refolds, in one transaction with
the counters that change moves.

Entries are keyed by acknowledgment, so writing one again changes nothing, and a status
is the fold of its entries: order and repeats do not matter. Many sets share a
transaction (up to 100 items: the sets and the counters they move, summed), so a 999
for 100,000 sets costs about 1,100 transactions instead of 100,000. A shared
transaction refused because a set changed meanwhile (another acknowledgment, or a
write whose response was lost) falls back to one set at a time, each re-read and retried.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from acktrack.domain.acks import Entries
from acktrack.domain.events import Notice, SetIdentity, named_again, set_moved
from acktrack.domain.status import OPEN, RANK, Applied, Event, Status, refold
from acktrack.domain.tally import SetState, difference
from acktrack.store import keys
from acktrack.store.counters import CounterMoves, add_counters, add_move
from acktrack.store.dynamo import (
    CONFLICT_RETRIES,
    StoreError,
    conditional_failure,
    transact,
    transient,
)
from acktrack.store.models import SetItem
from acktrack.store.outbox import add_outbox

Change = Callable[[Entries], Entries]

MAX_ITEMS = 100  # TransactWriteItems' limit
MAX_BYTES = 3_000_000  # under the 4 MB a transaction may carry
_ITEM_OVERHEAD = 600  # keys, revision, status fields of one set update


@dataclass(frozen=True, slots=True)
class SetChange:
    """What one set's write does: new or changed entries, and the status they fold to."""

    before: SetItem
    updates: Entries
    status: Status
    first_999_at: str | None
    status_at: str | None

    @property
    def moves(self) -> bool:
        return self.status != Status(self.before.status)

    def size(self) -> int:
        return len(json.dumps(self.updates, default=str)) + _ITEM_OVERHEAD


def entries_of(item: SetItem) -> Entries:
    return dict(item.acks.as_dict()) if item.acks is not None else {}


def plan(current: SetItem, change: Change) -> SetChange | None:
    """The write ``change`` needs on ``current`` (None: nothing changes)."""
    after = refold(entries_of(current), change)
    if not after.updates and after.status == current.status:
        return None
    return SetChange(
        before=current,
        updates=after.updates,
        status=after.status,
        first_999_at=after.first_999_at,
        status_at=after.status_at,
    )


def set_actions(change: SetChange) -> list[Action]:
    current = change.before
    actions: list[Action] = [SetItem.acks[key].set(value) for key, value in change.updates.items()]
    actions.append(SetItem.revision.add(1))
    if change.first_999_at != current.first_999_at:
        actions.append(
            SetItem.first_999_at.set(change.first_999_at)
            if change.first_999_at
            else SetItem.first_999_at.remove()
        )
    if not change.moves:
        if change.status in OPEN and newly_named(change):
            # Listed again: the report may have taken the set out when every member then
            # named was closed; this names another.
            actions += _listed(current)
        return actions
    status = change.status
    actions += [SetItem.status.set(status.value), SetItem.status_rank.set(RANK[status])]
    actions.append(
        SetItem.status_at.set(change.status_at) if change.status_at else SetItem.status_at.remove()
    )
    actions += _listed(current) if status in OPEN else [SetItem.rk.remove(), SetItem.rs.remove()]
    return actions


def _listed(item: SetItem) -> list[Action]:
    """The set in the report's index of open sets."""
    return [SetItem.rk.set(keys.open_shard(item.set_id)),
            SetItem.rs.set(f"{item.sent_at}#{item.set_id}")]  # fmt: skip


def newly_named(change: SetChange) -> list[str]:
    """Rejections after the 999 that ``change`` adds (live, new to the set)."""
    before = entries_of(change.before)
    return sorted(key for key, entry in change.updates.items()
                  if key not in before and entry.get("event") == Event.SET_REJECTED_AFTER_ACCEPT.value
                  and not entry.get("revoked"))  # fmt: skip


def notice_of(change: SetChange) -> Notice | None:
    """The event ``change`` makes, if it moves the set into a rejection or a confirmation,
    or names more members of a set rejected after its 999 already."""
    item = change.before
    identity = SetIdentity(our_id=item.our_id, partner=item.partner,
                           interchange_control=item.interchange_control,
                           group_control=item.group_control,
                           transaction_control=item.transaction_control,
                           key=f"{item.pk}|{item.sk}", people=int(item.members))  # fmt: skip
    entries = {**entries_of(item), **change.updates}
    if change.moves:
        return set_moved(identity, Status(item.status), change.status, entries, change.status_at)
    named = newly_named(change) if change.status == Status.REJECTED_AFTER_ACCEPT else []
    return named_again(identity, change.status, entries, named, change.status_at) if named else None


def notices_of(changes: Iterable[SetChange]) -> list[Notice]:
    return [notice for change in changes if (notice := notice_of(change)) is not None]


def state_before(change: SetChange) -> SetState:
    item = change.before
    return SetState(Status(item.status), int(item.members), item.sent_at, item.first_999_at,
                    item.status_at, entries_of(item))  # fmt: skip


def state_after(change: SetChange) -> SetState:
    item = change.before
    status_at = change.status_at if change.moves else item.status_at  # as ``set_actions`` writes
    return SetState(change.status, int(item.members), item.sent_at, change.first_999_at,
                    status_at, {**entries_of(item), **change.updates})  # fmt: skip


def counter_key(change: SetChange, shard: int) -> tuple[str, str]:
    """The counter item a set's change adds to: its partner, its sent day, ``shard``."""
    current = change.before
    return keys.counter_pk(current.our_id, current.partner), keys.counter_sk(
        current.sent_day, shard
    )


def set_shard(change: SetChange) -> int:
    return keys.counter_shard(change.before.set_id)


def counter_moves(change: SetChange, shard: int, into: CounterMoves | None = None) -> CounterMoves:
    """What ``change`` adds to its partner's counters (status counts, time to the first 999
    and to confirmation, rejection codes; ``domain.tally``), summed into ``into``. Every
    set of one shared transaction names the same ``shard``: one counter item per sent day,
    however many sets it moves."""
    moves: CounterMoves = {} if into is None else into
    deltas = difference(state_before(change), state_after(change))
    if deltas:
        add_move(moves, counter_key(change, shard), deltas)
    return moves


def counter_days(change: SetChange) -> set[tuple[str, str]]:
    """(partner, sent day) of the counter item ``change`` adds to, if any (the shard is the
    batch's: one item per pair)."""
    if not difference(state_before(change), state_after(change)):
        return set()
    return {(keys.counter_pk(change.before.our_id, change.before.partner), change.before.sent_day)}


class SetAckWriter:
    """Writes acknowledgment entries onto sets (one, or many per transaction)."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def change(self, item: SetItem, change: Change, label: str) -> SetItem:
        """One set: write, and on a failed condition re-read and plan again (the set after)."""
        current = item
        for _ in range(CONFLICT_RETRIES):
            planned = plan(current, change)
            if planned is None:
                return current
            try:
                self._write_one(planned)
                return SetItem.get(current.pk, current.sk, consistent_read=True)
            except (UpdateError, TransactWriteError) as error:
                if not (conditional_failure(error) or transient(error)):
                    raise
                time.sleep(random.random() * 0.05)  # then re-read: the condition is a revision
                current = SetItem.get(current.pk, current.sk, consistent_read=True)
        raise StoreError(f"set {current.set_id} kept changing under acknowledgment {label[:40]}")

    def _write_one(self, planned: SetChange) -> None:
        condition = SetItem.revision == planned.before.revision
        moves = counter_moves(planned, set_shard(planned))
        notices = notices_of([planned])
        if not moves and not notices:
            planned.before.update(actions=set_actions(planned), condition=condition)
            return
        with TransactWrite(connection=self._connection()) as transaction:
            transaction.update(planned.before, actions=set_actions(planned), condition=condition)
            add_counters(transaction, moves)
            add_outbox(transaction, notices)

    def change_many(self, changes: Iterable[tuple[SetItem, Change, str]]) -> Iterator[Applied]:
        """Many sets, sharing transactions; yields each set's result once it is written."""
        batch: list[tuple[SetChange, Change, str]] = []
        counters: set[tuple[str, str]] = set()
        size = 0
        written: set[tuple[str, str]] = set()
        for item, change, label in changes:
            key = (item.pk, item.sk)
            if key in written:
                # The same set twice (a 999 answering a duplicate ST02): after what is pending.
                yield from self._flush(batch)
                batch, counters, size = [], set(), 0
                after = self.change(item, change, label)
                yield Applied(item, after.status, after.first_999_at)
                continue
            planned = plan(item, change)
            if planned is None:
                yield Applied(item, item.status, item.first_999_at)
                continue
            needed = counters | counter_days(planned)
            if batch and (  # the sets, their counters and one outbox item
                len(batch) + 2 + len(needed) > MAX_ITEMS or size + planned.size() > MAX_BYTES
            ):
                yield from self._flush(batch)
                batch, size = [], 0
                needed = counter_days(planned)
            batch.append((planned, change, label))
            counters, size = needed, size + planned.size()
            written.add(key)
        yield from self._flush(batch)

    def _flush(self, batch: list[tuple[SetChange, Change, str]]) -> Iterator[Applied]:
        if not batch:
            return
        if len(batch) == 1:
            planned, change, label = batch[0]
            after = self.change(planned.before, change, label)
            yield Applied(planned.before, after.status, after.first_999_at)
            return

        shard = set_shard(batch[0][0])  # the batch's: one counter item per sent day

        def build(transaction: TransactWrite) -> None:
            moves: CounterMoves = {}
            for planned, _, _ in batch:
                transaction.update(
                    planned.before,
                    actions=set_actions(planned),
                    condition=SetItem.revision == planned.before.revision,
                )
                counter_moves(planned, shard, moves)
            add_counters(transaction, moves)
            add_outbox(transaction, notices_of(planned for planned, _, _ in batch))

        try:
            transact(self._connection(), build, f"{len(batch)} sets")
        except (TransactWriteError, StoreError) as error:
            too_large = "ValidationException" in str(getattr(error, "cause_response_code", ""))
            if isinstance(error, TransactWriteError) and not (
                conditional_failure(error) or too_large
            ):
                raise
            # A set changed meanwhile, its write already landed, or the sets' items together
            # are larger than a transaction takes: one at a time, re-read.
            for planned, change, label in batch:
                after = self.change(planned.before, change, label)
                yield Applied(planned.before, after.status, after.first_999_at)
            return
        for planned, _, _ in batch:
            yield Applied(planned.before, planned.status.value, planned.first_999_at)
