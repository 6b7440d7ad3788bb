"""Counters kept at write time (moto): sharded by sent day, moved in the transactions that
move statuses, equal to a recount of the sets whatever the acknowledgments did; and
`acktrack stats` from them, in a number of requests that does not grow with the sets."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from acktrack.domain.status import Status
from acktrack.domain.tally import COUNTS, SetState, Tally, contribution
from acktrack.handlers import wiring
from acktrack.report.insights import stats
from acktrack.store import keys
from acktrack.store.models import CounterItem, SetItem
from acktrack.store.set_acks import entries_of
from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation
from tests.integration.conftest import SENT, Day, requests

US, INSURER = "ACKTRACKEXCH", "HEALTHPLAN01"
SINCE = datetime(2024, 1, 1, tzinfo=UTC)


def recount(items: list[SetItem]) -> Tally:
    """What the counters must hold: each set's sending and its contribution as stored."""
    found = Tally()
    for item in items:
        state = SetState(Status(item.status), int(item.members), item.sent_at, item.first_999_at,
                         item.status_at, entries_of(item))  # fmt: skip
        found.add_attributes({"members_sent": int(item.members), "sets_sent": 1,
                              **contribution(state)})  # fmt: skip
    return found


def counted() -> Tally:
    found = Tally()
    for tally in wiring.repository().tallies(US, INSURER, "2000-01-01").values():
        found.add(tally)
    return found


def sets() -> list[SetItem]:
    return list(wiring.repository().sets_since(US, INSURER, "2000"))


def plain(tally: Tally) -> dict[str, Any]:
    return {name: getattr(tally, name) for name in COUNTS} | {
        "to_999": +tally.to_999, "to_confirmation": +tally.to_confirmation, "codes": +tally.codes,
    }  # fmt: skip


def test_the_counters_equal_a_recount_of_the_sets_through_999_ta1_and_effectuation(
    day: Day,
) -> None:
    """Drop any counter increment (or count a move twice) and this recount differs."""
    data, _ = day.send("a.834", members=12, sets_per_group=4, seed=70, dependents=0.0,
                               errors=["bad_ins03:2"])  # fmt: skip
    other, _ = day.send("b.834", members=6, sets_per_group=2, seed=71, dependents=0.0,
                        interchange_control=1002, first_group_control=2)  # fmt: skip
    day.answer("a.999", data, hours=4)
    day.answer("b.999", other, hours=30)
    assert plain(counted()) == plain(recount(sets()))
    accepted = counted()
    assert accepted.members_accepted > 0 and accepted.members_rejected > 0
    assert accepted.codes["IK5 5"] == accepted.members_rejected
    # Six members of b.834 effectuated by the insurer: counted by their sent day.
    buffer = io.BytesIO()
    write_effectuation(other, buffer, EffectuationSpec(sent_at=SENT.replace(day=21)))
    day.drop("inbound", "effectuation.834", buffer.getvalue())
    assert counted().members_effectuated == 6
    # A TA1 rejecting a.834 afterwards: its accepted sets move to rejected, with TA1 024.
    day.answer_ta1("t.ta1", insurer=INSURER, control="000001001", status="R", note="024")
    after = counted()
    assert plain(after) | {"members_effectuated": 0} == plain(recount(sets())) | {
        "members_effectuated": 0
    }  # fmt: skip
    assert after.members_rejected == 12 and after.codes["TA1 024"] == 12
    assert after.members_accepted == accepted.members_accepted - (12 - accepted.members_rejected)


def test_counter_items_are_per_sent_day_and_shard_and_no_item_is_named_by_every_write(
    day: Day,
) -> None:
    data, _ = day.send("many.834", members=250, sets_per_group=250, seed=72, dependents=0.0)
    with counter_writes() as written:
        day.answer(f"{INSURER}/many.999", data, with_ta1=False)
    # 250 sets: three transactions (98 + 98 + 54 sets, with their counter item and outbox
    # item), each naming one counter item.
    assert [len(items) for items in written] == [1, 1, 1], written
    pk = keys.counter_pk(US, INSURER)
    stored = [item.sk for item in CounterItem.query(pk)]
    assert "ALL" not in stored
    assert all(
        sk.startswith("D#2024-01-15#") and len(sk) == len("D#2024-01-15#00") for sk in stored
    )
    assert counted().members_accepted == 250


@contextmanager
def counter_writes() -> Iterator[list[list[str]]]:
    """The counter items each TransactWriteItems names (a botocore hook on the shared client)."""
    found: list[list[str]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name != "TransactWriteItems":
            return
        body = params["body"]
        items = json.loads(body if isinstance(body, str) else body.decode())["TransactItems"]
        named = [body.get("Key") or body["Item"] for action in items for body in action.values()]
        found.append(sorted(key["sk"]["S"] for key in named if key["pk"]["S"].startswith("STAT#")))

    client = wiring.repository().client
    client.meta.events.register("before-call.dynamodb", record)
    try:
        yield found
    finally:
        client.meta.events.unregister("before-call.dynamodb", record)


def test_items_written_before_the_shards_are_still_summed(day: Day) -> None:
    day.send("a.834", members=3, seed=73, dependents=0.0)
    pk = keys.counter_pk(US, INSURER)
    CounterItem(pk, "ALL", members_sent=5, sets_sent=1, members_effectuated=2).save()
    CounterItem(pk, "D#2024-01-15", members_sent=5, sets_sent=1).save()
    repository = wiring.repository()
    totals = repository.counters(US, INSURER, since_day="2024-01-01")
    assert (totals["ALL"].members_sent, totals["ALL"].members_effectuated) == (8, 2)
    assert totals["D#2024-01-15"].members_sent == 8
    assert sum(t.members_sent for t in repository.tallies(US, INSURER, "2024-01-15").values()) == 8


def stats_requests(people: int) -> tuple[int, dict[str, Any]]:
    with requests() as calls:
        result = stats(wiring.repository(), SINCE, people=people)
    return sum(calls.values()), result


def test_stats_requests_do_not_grow_with_the_sets(day: Day) -> None:
    data, _ = day.send("ten.834", members=10, sets_per_group=10, seed=74, dependents=0.0)
    day.answer("ten.999", data, hours=3)
    few, result = stats_requests(people=0)
    few_people, _ = stats_requests(people=5)
    assert result["members_sent"] == 10
    more, _ = day.send("more.834", members=190, sets_per_group=190, seed=75, dependents=0.0,
                       interchange_control=1002, first_group_control=2)  # fmt: skip
    day.answer("more.999", more, hours=30)
    many, result = stats_requests(people=0)
    many_people, with_people = stats_requests(people=5)
    assert result["members_sent"] == 200 and result["insurers"][0]["sets_with_999"] == 200
    assert with_people["insurers"][0]["people_capped"] is True
    # Partners, reconciliations, one query of counters per insurer; with people, their reads.
    assert many == few <= 4, (few, many)
    assert many_people == few_people <= 30, (few_people, many_people)
