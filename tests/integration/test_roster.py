"""The insurer's roster on moto: every family sent, once per file that names it, read in
pages by monthly reconciliation; its start kept once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from acktrack.handlers import wiring
from acktrack.ingest import parts
from acktrack.store import keys
from acktrack.store.models import InterchangeItem, ObjectItem, RosterItem, SetItem
from tests.integration.conftest import ARRIVAL, Day

US, PLAN = "ACKTRACKEXCH", "HEALTHPLAN01"
# The first arrival with the roster, and a margin for code before it still running.
BEGAN = (ARRIVAL + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _roster_writes(day: Day, name: str, **spec: Any) -> tuple[Counter[str], set[str]]:
    """The roster items each request wrote while the file was ingested, and its families."""
    client, written = wiring.repository().client, Counter[str]()

    def count(params: dict[str, Any], **_: Any) -> None:
        for requests in params.get("RequestItems", {}).values():
            for request in requests:
                key = request.get("PutRequest", {}).get("Item", {}).get("pk", {}).get("S", "")
                if key.startswith("ROSTER#"):
                    written[request["PutRequest"]["Item"]["sk"]["S"]] += 1

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", count)
    try:
        _, generated = day.send(name, **spec)
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.BatchWriteItem", count)
    return written, {member.subscriber_id for _, member in generated.all_members()}


def test_each_family_sent_is_in_the_roster_written_once_a_file(day: Day) -> None:
    written, families = _roster_writes(day, "a.834", members=40, sets_per_group=5, seed=11)
    assert len(written) == len(families) > 10 and set(written.values()) == {1}
    store = wiring.repository()
    assert sorted(store.roster(US, PLAN)) == sorted(families)
    shards = {
        item.pk
        for item in RosterItem.scan()
        if item.pk.startswith("ROSTER#") and "#F" not in item.pk
    }
    assert len(shards) > 4  # spread over the insurer's shards
    assert store.roster_since(US, PLAN) == BEGAN
    # The same families again in another file: the same items, nothing new; the start kept.
    again, _ = _roster_writes(day, "b.834", members=40, sets_per_group=5, seed=11,
                              interchange_control=2001, first_group_control=21)  # fmt: skip
    assert set(again) == set(written)
    # Delivered again after it was counted but before it was settled (a crash in between):
    # its sets are written, it is only settled, and no roster item is written again, so an
    # older event run late never shortens a family's item.
    for item in ObjectItem.scan(ObjectItem.key == "outbound/b.834"):
        item.delete()
    for version in InterchangeItem.query(keys.interchange_pk(US, PLAN, "000002001")):
        version.update(actions=[InterchangeItem.settled.remove()])  # counted, not settled
    client, late = wiring.repository().client, Counter[str]()

    def count(params: dict[str, Any], **_: Any) -> None:
        late.update(request["PutRequest"]["Item"]["pk"]["S"][:7]
                    for requests in params.get("RequestItems", {}).values()
                    for request in requests if "PutRequest" in request)  # fmt: skip

    client.meta.events.register("before-parameter-build.dynamodb.BatchWriteItem", count)
    try:
        (result,) = day.stack.redeliver(day.outbound, "outbound/b.834")
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.BatchWriteItem", count)
    assert result.ok, result.error
    assert "ROSTER#" not in late, late
    day.stack.clock = lambda: ARRIVAL.replace(day=25)
    _, more = _roster_writes(day, "c.834", members=10, seed=12, interchange_control=3001,
                             first_group_control=31, subscriber_id_start=300000001)  # fmt: skip
    assert store.roster_since(US, PLAN) == BEGAN
    assert sorted(store.roster(US, PLAN)) == sorted(families | more)


def test_only_sets_written_before_the_roster_are_walked_whenever_they_were_sent(day: Day) -> None:
    """Every set written with the roster is marked; reconciliation walks the unmarked ones
    sent before the roster began (code before the roster wrote them: a table older than
    it, or a container still running through the deploy). A file dated before the roster's
    start but written with it is not walked: its families are in the roster."""
    day.send("new.834", members=20, sets_per_group=4, seed=21)
    day.send("old.834", members=20, sets_per_group=4, seed=22, interchange_control=2001,
             first_group_control=21, subscriber_id_start=300000001)  # fmt: skip
    sets = list(SetItem.scan(SetItem.sk.startswith("SET#")))
    assert sets and all(item.rostered for item in sets)
    old = [item for item in sets if item.group_control == "21"]
    for item in old:  # as code before the roster left them
        item.update(actions=[SetItem.rostered.remove()])
    store = wiring.repository()
    since = store.roster_since(US, PLAN)
    assert since is not None and all(item.sent_at < since for item in sets)  # dated before it
    walked = {item.set_id for item in store.sets_before_roster(US, PLAN, since)}
    assert walked == {item.set_id for item in old}
    assert {item.set_id for item in store.sets_before_roster(US, PLAN, None)} == walked
    assert not list(store.sets_before_roster(US, PLAN, "2000-01-01T00:00:00Z"))


@pytest.mark.parametrize("parameters", [{"PartMembers": 100, "PartBytes": 0}])
def test_a_file_whose_part_ran_before_the_roster_is_walked(
    day: Day, parameters: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file cut in parts: Finish marks its sets only when every part wrote the roster. A
    part run by code before the roster (its result has no ``rostered``) leaves them all
    unmarked, so reconciliation walks them."""
    day.send("parts.834", members=300, sets_per_group=300, seed=23)
    marked = list(SetItem.scan(SetItem.sk.startswith("SET#")))
    assert len(marked) == 300 and all(item.rostered for item in marked)
    original = parts.record_part

    def before_the_roster(order: Any, store: Any, result: dict[str, Any], outcome: Any) -> None:
        if order.index == 0:
            result = {name: value for name, value in result.items() if name != "rostered"}
        original(order, store, result, outcome)

    monkeypatch.setattr(parts, "record_part", before_the_roster)
    day.send("older.834", members=300, sets_per_group=300, seed=24, interchange_control=2001,
             first_group_control=21, subscriber_id_start=300000001)  # fmt: skip
    older = [item for item in SetItem.scan(SetItem.sk.startswith("SET#"))
             if item.group_control == "21"]  # fmt: skip
    assert len(older) == 300 and not any(item.rostered for item in older)
    walked = {item.set_id for item in wiring.repository().sets_before_roster(US, PLAN, None)}
    assert walked == {item.set_id for item in older}
