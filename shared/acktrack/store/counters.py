"""Counter items (``keys.counter_sk``): the actions that add to them, and a partner's
items read back and summed (``domain.tally.Tally``).

Counter attributes are added with ADD, which creates an item or an attribute at zero:
writers never read a counter, and only the transaction that moves what it counts adds
to it, so a retried transaction (same token) or a refused one adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pynamodb.attributes import NumberAttribute
from pynamodb.expressions.operand import Path, Value
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from acktrack.domain.tally import Tally
from acktrack.store import keys
from acktrack.store.models import CounterItem

CounterMoves = dict[tuple[str, str], dict[str, int]]  # counter (pk, sk) -> attribute -> delta

_NUMBER = NumberAttribute()


def add_move(moves: CounterMoves, key: tuple[str, str], deltas: Mapping[str, int]) -> None:
    """Sum ``deltas`` into what ``moves`` adds to the counter item ``key``."""
    counter = moves.setdefault(key, {})
    for name, delta in deltas.items():
        counter[name] = counter.get(name, 0) + delta


def counter_actions(deltas: Mapping[str, int]) -> list[Action]:
    """ADD actions for non-zero deltas; the names are open-ended (a bucket, a code), so
    each is a top-level attribute named in full (ADD does not reach into maps)."""
    return [
        Path([name]).add(Value(delta, attribute=_NUMBER))
        for name, delta in sorted(deltas.items())
        if delta
    ]


def add_counters(transaction: TransactWrite, moves: CounterMoves) -> None:
    for (pk, sk), deltas in moves.items():
        actions = counter_actions(deltas)
        if actions:
            transaction.update(CounterItem(pk, sk), actions=actions)


def counter_items(our: str, partner: str, since_day: str | None = None) -> Iterator[CounterItem]:
    """A partner's counter items, all of them or of the days since ``since_day``: one
    paginated query (the legacy ``ALL`` item only without a day)."""
    pk = keys.counter_pk(our, partner)
    if since_day is None:
        return CounterItem.query(pk)
    return CounterItem.query(pk, CounterItem.sk.between(f"D#{since_day}", "D#9999"))


def summed(items: Iterator[CounterItem]) -> tuple[Tally, dict[str, Tally]]:
    """Counter items summed over shards: the totals, and sent day -> its tally. Legacy
    items (written before the shards) count the same moves twice, so the totals take the
    legacy ``ALL`` and the shards, a day its legacy ``D#<day>`` and its shards."""
    total: Tally = Tally()
    days: dict[str, Tally] = {}
    for item in items:
        day = keys.counter_day(item.sk)
        if day is None or keys.counter_sharded(item.sk):
            total.add_attributes(item.tallied)
        if day is not None:
            days.setdefault(day, Tally()).add_attributes(item.tallied)
    return total, days
