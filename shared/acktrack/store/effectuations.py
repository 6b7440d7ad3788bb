"""Effectuation moves written together: families packed into shared TransactWriteItems.

Each member whose confirming insurer record changed (``Move``) is pointed at it (or at
none), and its marker item (``C#`` + its sk) is put or deleted when the effectuated count
moves; the count itself goes to the counter items (sent day, a shard) as ONE delta per
counter item, summed over the moves in the same transaction. The markers decide what was
counted, and a transaction either writes all of them with the deltas they add or none, so
each move is counted once; a second delivery of a file finds every marker and member as it
would leave them and writes nothing. An ingest packs the families it judged into shared
transactions (``write_families``), so a counter item is written about once per 50 members
of a file (issue 29's bound is once per 100), not once per family.

A family whose moves need more than ``TRANSACTION_ITEMS`` items (DynamoDB's limit of 100
a transaction: a marker and a member update per member, plus a counter item per sent day)
is written in several transactions, each a whole set of moves with the counter deltas of
its own markers: each transaction is self-contained, so a failure between two leaves
counts that equal the markers written, and the next reconciliation finishes the rest.

A transaction refused because a condition did not hold (another reconciliation of the
same family, or a second ingest of the interchange, changed a member or a marker first)
writes nothing; its moves are then written one member at a time, each telling which of
its conditions failed (``write_one``), as every move was written before families were.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from acktrack.domain.family import EffectuationRecord
from acktrack.store import keys
from acktrack.store.dynamo import conditional_failure, transact
from acktrack.store.models import CounterItem, EffectuationCountItem, MemberItem

TRANSACTION_ITEMS = 100  # DynamoDB's limit of items in one TransactWriteItems

SetKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Move:
    """One member pointed at the record confirming it (``record``), or at none, from
    ``current`` (the record id it pointed at as read); ``count`` moves its effectuated
    count (+1, -1 or 0: its marker is put, deleted or left)."""

    member: MemberItem
    current: str | None
    record: EffectuationRecord | None
    count: int

    @property
    def updates_member(self) -> bool:
        return (self.record.record_id if self.record else None) != self.current

    @property
    def items(self) -> int:
        """Items of the transaction this move takes (its counter item apart)."""
        return (1 if self.count else 0) + (1 if self.updates_member else 0)

    @property
    def reopens(self) -> bool:
        """No longer effectuated: its set may go back in the report's index."""
        return self.record is None and self.current is not None

    def counter_key(self, our: str, partner: str, shard: int | None = None) -> SetKey:
        """By the member's sent day, in the transaction's shard (by default its family's):
        an effectuation file spreads over the shards and days of the members it confirms."""
        member = self.member
        chosen = keys.counter_shard(member.pk) if shard is None else shard
        return keys.counter_pk(our, partner), keys.counter_sk(member.sent_at[:10], chosen)

    def marker(self) -> EffectuationCountItem:
        member = self.member
        return EffectuationCountItem(member.pk, "C" + member.sk[1:], expires=member.expires)

    def condition(self) -> Condition:
        if self.current is None:
            return MemberItem.effectuated_by.does_not_exist()
        return MemberItem.effectuated_by == self.current

    def actions(self) -> list[Action]:
        record, member = self.record, self.member
        if record is not None:
            return [
                MemberItem.effectuated_by.set(record.record_id),
                MemberItem.effectuated_at.set(record.at),
                MemberItem.rk.remove(),
                MemberItem.rs.remove(),
                MemberItem.insurer_member_id.set(record.carrier_member_id)
                if record.carrier_member_id
                else MemberItem.insurer_member_id.remove(),
                MemberItem.insurer_policy_ids.set(list(record.policy_ids)),
            ]
        actions: list[Action] = [
            MemberItem.effectuated_by.remove(),
            MemberItem.effectuated_at.remove(),
            MemberItem.insurer_member_id.remove(),
            MemberItem.insurer_policy_ids.remove(),
        ]
        if member.maintenance_type == "021":
            actions += [
                MemberItem.rk.set(keys.effect_shard(member.set_id, int(member.ordinal))),
                MemberItem.rs.set(f"{member.sent_at}#{member.set_id}#{int(member.ordinal):07d}"),
            ]
        return actions

    def add_to(self, transaction: TransactWrite) -> None:
        """The marker and the member update (the counter delta is the caller's to sum)."""
        if self.count > 0:
            transaction.save(self.marker(), condition=EffectuationCountItem.pk.does_not_exist())
        elif self.count < 0:
            transaction.delete(self.marker(), condition=EffectuationCountItem.pk.exists())
        if self.updates_member:
            transaction.update(self.member, actions=self.actions(), condition=self.condition())


def chunks(moves: list[Move], our: str, partner: str) -> list[list[Move]]:
    """Moves in order, cut where one more would take a transaction past ``TRANSACTION_ITEMS``
    (its counter item counted when it is the first move of the chunk naming it)."""
    found: list[list[Move]] = []
    current: list[Move] = []
    counters: set[SetKey] = set()
    used = 0
    for move in moves:
        if not move.items:
            continue
        key = move.counter_key(our, partner)
        extra = move.items + (1 if move.count and key not in counters else 0)
        if current and used + extra > TRANSACTION_ITEMS:
            found.append(current)
            current, counters, used = [], set(), 0
            extra = move.items + (1 if move.count else 0)
        current.append(move)
        used += extra
        if move.count:
            counters.add(key)
    if current:
        found.append(current)
    return found


def write_family(connection: Connection, moves: list[Move], our: str, partner: str) -> list[SetKey]:
    """Write a family's moves, one transaction per ``chunks`` chunk (one for nearly every
    family, each naming its own counter shard); return the sets of members no longer
    effectuated (to put back in the index)."""
    reopened: list[SetKey] = []
    found = chunks(moves, our, partner)
    first = keys.counter_shard(moves[0].member.pk) if moves else 0
    for index, chunk in enumerate(found):
        # A large family's transactions take the shards in turn from its own.
        shard = (first + index) % keys.COUNTER_SHARDS if len(found) > 1 else None
        if _write_chunk(connection, chunk, our, partner, shard):
            reopened += [(m.member.set_pk, m.member.set_sk) for m in chunk if m.reopens]
        else:  # someone else moved one of them first: nothing of the chunk was written
            reopened += [(m.member.set_pk, m.member.set_sk)
                         for m in chunk if write_one(connection, m, our, partner)]  # fmt: skip
    return reopened


def write_families(
    connection: Connection, families: list[list[Move]], our: str, partner: str
) -> list[SetKey]:
    """Several families' moves packed whole into shared transactions of up to
    ``TRANSACTION_ITEMS`` items, each naming ONE counter shard (a day's item) that the
    transactions of one call take in turn: a counter item is written about once per 50
    members of a file, not once per family. A family too large for one transaction is
    written alone (``write_family``); a packed transaction refused for a failed condition
    wrote nothing, and its families are written one by one as before."""
    reopened: list[SetKey] = []
    packed: list[list[list[Move]]] = []
    current: list[list[Move]] = []
    used, days = 0, set[str]()
    for moves in families:
        size, named = _items(moves), _days(moves)
        if size + len(named) > TRANSACTION_ITEMS:
            reopened += write_family(connection, moves, our, partner)
            continue
        if current and used + size + len(days | named) > TRANSACTION_ITEMS:
            packed.append(current)
            current, used, days = [], 0, set()
        current.append(moves)
        used += size
        days |= named
    if current:
        packed.append(current)
    start = keys.counter_shard(packed[0][0][0].member.pk) if packed else 0
    for index, group in enumerate(packed):
        shard = (start + index) % keys.COUNTER_SHARDS
        moves = [move for family in group for move in family]
        if _write_chunk(connection, moves, our, partner, shard):
            reopened += [(m.member.set_pk, m.member.set_sk) for m in moves if m.reopens]
            continue
        for family in group:  # one condition failed: nothing was written
            reopened += write_family(connection, family, our, partner)
    return reopened


def _items(moves: list[Move]) -> int:
    return sum(move.items for move in moves)


def _days(moves: list[Move]) -> set[str]:
    """The sent days whose counter items a transaction of these moves names."""
    return {move.member.sent_at[:10] for move in moves if move.count}


def _write_chunk(
    connection: Connection, chunk: list[Move], our: str, partner: str, shard: int | None = None
) -> bool:
    """One transaction: the moves' markers and member updates with one delta per counter
    item they name; False when a condition failed (nothing was written)."""
    counted: dict[SetKey, int] = {}  # counter item -> its delta, summed over the chunk
    for move in chunk:
        if move.count:
            key = move.counter_key(our, partner, shard)
            counted[key] = counted.get(key, 0) + move.count

    def build(transaction: TransactWrite) -> None:
        for move in chunk:
            move.add_to(transaction)
        # One delta per counter item touched; a sum of zero (one member gained, another
        # lost) is still added, so the item exists as when each move added its own.
        for key, delta in sorted(counted.items()):
            transaction.update(CounterItem(*key),
                               actions=[CounterItem.members_effectuated.add(delta)])  # fmt: skip

    try:
        transact(connection, build, "effectuation")
    except TransactWriteError as error:
        if not conditional_failure(error):
            raise
        return False
    return True


def write_one(connection: Connection, move: Move, our: str, partner: str) -> bool:
    """One member's move in its own transaction (a family's refused one, again); True when
    its set may reopen. A failed member condition: another reconciliation changed it first
    and saw the same family; a failed marker condition: counted (or uncounted) already, so
    the member's fields alone."""
    count, update_member = move.count, move.updates_member
    counter = CounterItem(*move.counter_key(our, partner))

    def build(transaction: TransactWrite) -> None:
        # PynamoDB sends deletes and puts before updates: the marker, the member, the counter.
        move.add_to(transaction)
        if count:
            transaction.update(counter, actions=[CounterItem.members_effectuated.add(count)])

    try:
        transact(connection, build, "effectuation")
        return move.reopens
    except TransactWriteError as error:
        reasons = _reasons(error)
        member_reason = reasons[1] if count and update_member and len(reasons) > 1 else (
            reasons[0] if update_member and not count and reasons else "None")  # fmt: skip
        if member_reason == "ConditionalCheckFailed":
            return False  # someone else changed it first: their reconciliation saw the same family
        if not count or not reasons or reasons[0] != "ConditionalCheckFailed":
            raise
    if update_member:
        try:
            move.member.update(actions=move.actions(), condition=move.condition())
        except UpdateError as update_error:
            if not conditional_failure(update_error):
                raise
    return False  # as before families were written together: its set is not relisted here


def _reasons(error: Exception) -> list[str]:
    """A cancelled transaction's reason per action, in order ("None" where it held)."""
    found = getattr(error, "cancellation_reasons", None) or []
    return [reason.code if reason is not None else "None" for reason in found]
