"""Effectuation writes at scale (issue 29): families packed into shared transactions, not
one per member or per family; no counter item written more than once per 100 members; a
family past DynamoDB's 100 items a transaction split in self-contained transactions; the
same file again writes nothing."""

from __future__ import annotations

import io
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from acktrack.handlers import wiring
from acktrack.store import keys
from acktrack.store.effectuations import TRANSACTION_ITEMS
from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation
from acktrack.x12 import MemberTransaction, read_x12
from tests.integration.conftest import SENT, Day
from tests.integration.test_counters import counted

SLACK = 2  # writes besides the families' own (none today): room, not a per-member allowance


class Writes:
    """Each TransactWriteItems' items (pk, sk), and writes per item over every write request."""

    def __init__(self) -> None:
        self.transactions: list[list[tuple[str, str]]] = []
        self.items: Counter[tuple[str, str]] = Counter()

    def effectuations(self) -> list[list[tuple[str, str]]]:
        """The transactions that move effectuations (they name a ``C#`` marker or a member)."""
        return [t for t in self.transactions
                if any(sk.startswith(("C#", "M#")) for _, sk in t)]  # fmt: skip

    def counters(self) -> Counter[tuple[str, str]]:
        return Counter({key: n for key, n in self.items.items() if key[0].startswith("STAT#")})


def _key(body: dict[str, Any]) -> tuple[str, str]:
    found = body.get("Key") or body.get("Item") or {}
    return found["pk"]["S"], found["sk"]["S"]


@contextmanager
def writes() -> Iterator[Writes]:
    """Write requests that succeeded (a transaction DynamoDB refused for a conflict with
    another family's, on a shared counter item, is retried: the retry is the one counted)."""
    found = Writes()
    pending = threading.local()  # families are reconciled on a few threads

    def before(model: Any, params: dict[str, Any], **_: Any) -> None:
        raw = params["body"]
        body = json.loads(raw if isinstance(raw, str) else raw.decode())
        pending.named = None
        if model.name == "TransactWriteItems":
            pending.named = [_key(next(iter(item.values()))) for item in body["TransactItems"]]
        elif model.name == "BatchWriteItem":
            pending.named = [_key(next(iter(r.values())))
                             for requests in body["RequestItems"].values() for r in requests]  # fmt: skip
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            pending.named = [_key(body)]

    def after(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        named = getattr(pending, "named", None)
        if named is None or "Error" in parsed:
            return
        if model.name == "TransactWriteItems":
            found.transactions.append(named)
        found.items.update(named)  # BatchWriteItem's unprocessed items are few: counted anyway

    client = wiring.repository().client
    client.meta.events.register("before-call.dynamodb", before)
    client.meta.events.register("after-call.dynamodb", after)
    try:
        yield found
    finally:
        client.meta.events.unregister("before-call.dynamodb", before)
        client.meta.events.unregister("after-call.dynamodb", after)


def subscribers(data: bytes) -> list[str]:
    return [m.subscriber_id or "" for m in read_x12(io.BytesIO(data))
            if isinstance(m, MemberTransaction)]  # fmt: skip


def one_family_every(data: bytes, size: int) -> bytes:
    """The same file with every ``size`` members under one subscriber id (large families)."""
    numbers = iter(range(10**6))
    return re.sub(rb"REF\*0F\*\d+~",
                  lambda _: b"REF*0F*%d~" % (900000000 + next(numbers) // size), data)  # fmt: skip


def without_objects(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in items if not item["pk"]["S"].startswith("OBJ#")]


def insurer_file(data: bytes) -> bytes:
    buffer = io.BytesIO()
    write_effectuation(data, buffer, EffectuationSpec(sent_at=SENT + timedelta(days=6)))
    return buffer.getvalue()


def test_an_effectuation_file_packs_families_in_shared_transactions_and_writes_nothing_again(
    day: Day,
) -> None:
    """Back to one transaction per member, or per family, and the first assertion fails (300
    members are about 220 families; a marker and a member update each, 49 members fit a
    transaction); back to a counter delta per member and the second."""
    data, _ = day.send("a.834", members=300, sets_per_group=120, seed=290)
    day.answer("a.999", data)
    members = subscribers(data)
    families = len(set(members))
    insurer = insurer_file(data)
    with writes() as first:
        day.drop("inbound", "effectuation.834", insurer)
    moved = first.effectuations()
    assert len(moved) <= len(members) // 40 + SLACK < families, (len(moved), families)
    # One counter delta per counter item a transaction touches (never one per member).
    for transaction in moved:
        named = [key for key in transaction if key[0].startswith("STAT#")]
        assert len(named) == len(set(named)) <= 2  # one shard, a sent day each
        assert len(transaction) <= TRANSACTION_ITEMS
    assert counted().members_effectuated == len(members)
    table = day.table()
    with writes() as again:
        day.drop("inbound", "effectuation.834", insurer)  # S3 delivers it again
    assert again.effectuations() == [] and again.counters() == Counter()
    assert without_objects(day.table()) == without_objects(table)  # an S3 version's log apart
    assert counted().members_effectuated == len(members)


def test_a_family_past_100_items_is_split_in_transactions_that_each_count_their_own(
    day: Day,
) -> None:
    """Families of 120 members: 240 items and a counter each, in 3 transactions of at most
    100 items; each transaction's counter delta equals the markers it puts, so a failure
    between two of them leaves counts that match the markers written."""
    buffer = io.BytesIO()
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    write_834(EnrollmentSpec(sent_at=SENT, members=360, sets_per_group=1, seed=291), buffer)
    data = one_family_every(buffer.getvalue(), 120)
    day.drop("outbound", "large.834", data)
    day.answer("large.999", data)
    with writes() as found:
        day.drop("inbound", "effectuation.834", insurer_file(data))
    moved = found.effectuations()
    assert len(moved) == 3 * 3, [len(t) for t in moved]
    for transaction in moved:
        assert len(transaction) <= TRANSACTION_ITEMS
        markers = [sk for _, sk in transaction if sk.startswith("C#")]
        assert len([k for k in transaction if k[0].startswith("STAT#")]) == 1
        assert len(markers) == len([sk for _, sk in transaction if sk.startswith("M#")])
    assert counted().members_effectuated == 360


def test_no_counter_item_is_written_more_than_once_per_100_members_of_small_families(
    day: Day,
) -> None:
    """600 members in about 500 families: the packed transactions take the 16 shards in
    turn, so each counter item is written at most 600 / 100 times (once or twice here).
    One transaction per family, each in its family's shard, wrote the hottest about 40
    times; one per member, about 40 as well."""
    data, _ = day.send("small.834", members=600, sets_per_group=200, seed=294)
    day.answer("small.999", data)
    assert len(set(subscribers(data))) > 400
    with writes() as found:
        day.drop("inbound", "effectuation.834", insurer_file(data))
    hottest = max(found.counters().values())
    assert hottest <= 600 // 100, found.counters().most_common(3)
    ((_, most),) = found.items.most_common(1)
    assert most <= 600 // 100, found.items.most_common(3)
    assert counted().members_effectuated == 600


def test_a_large_familys_transactions_take_the_counter_shards_in_turn(day: Day) -> None:
    """Families of 100 members: 3 transactions each (49 + 49 + 2 members), in its own shard
    and the next two, so 1,000 members write no counter item more than 1,000 / 100 times and
    no family writes one item three times; one transaction per member would write the
    hottest about 1,000 / 16 = 62 times."""
    buffer = io.BytesIO()
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    write_834(EnrollmentSpec(sent_at=SENT, members=1000, sets_per_group=1, seed=292), buffer)
    data = one_family_every(buffer.getvalue(), 100)
    day.drop("outbound", "families.834", data)
    day.answer("families.999", data)
    with writes() as found:
        day.drop("inbound", "effectuation.834", insurer_file(data))
    ((_, hottest),) = found.items.most_common(1)
    assert hottest <= max(1, 1000 // 100), found.items.most_common(3)
    # Exactly three transactions a family, each in the next shard from its own.
    shards = Counter(
        (keys.counter_shard(keys.family_pk("ACKTRACKEXCH", "HEALTHPLAN01", s)) + turn)
        % keys.COUNTER_SHARDS
        for s in set(subscribers(data))
        for turn in range(3)
    )
    assert sorted(found.counters().values()) == sorted(shards.values())
    assert counted().members_effectuated == 1000


def test_a_family_transaction_on_a_stale_read_writes_nothing_and_counts_nothing(day: Day) -> None:
    """A family's moves computed before another reconciliation wrote them (the member now
    points at its record, its marker is there): the family's transaction is refused whole,
    each move is tried alone and refused, and the count stays."""
    from acktrack.store.effectuations import Move, write_family
    from acktrack.store.members import effectuation_record
    from acktrack.store.models import EffectuationItem, MemberItem

    data, _ = day.send("a.834", members=6, seed=293, dependents=1.0)
    day.answer("a.999", data)
    day.drop("inbound", "effectuation.834", insurer_file(data))
    before = day.table()
    subscriber = subscribers(data)[0]
    family = keys.family_pk("ACKTRACKEXCH", "HEALTHPLAN01", subscriber)
    members = list(MemberItem.query(family, MemberItem.sk.startswith("M#")))
    records = {r.record_id: r for r in (effectuation_record(item) for item in
               EffectuationItem.query(family, EffectuationItem.sk.startswith("E#")))}  # fmt: skip
    assert len(members) > 1 and all(m.effectuated_by in records for m in members)
    stale = [Move(m, None, records[m.effectuated_by or ""], 1) for m in members]  # as read before
    connection = wiring.repository()._connection()
    with writes() as found:
        assert write_family(connection, stale, "ACKTRACKEXCH", "HEALTHPLAN01") == []
    assert found.transactions == [] and found.counters() == Counter()
    assert day.table() == before
    assert counted().members_effectuated == 6


@pytest.mark.parametrize("parameters", [{"PartMembers": 100, "PartBytes": 0}])
def test_an_effectuation_file_of_many_members_is_cut_in_parts_by_members(
    day: Day, parameters: dict[str, Any]
) -> None:
    """600 members confirmed by the insurer with PartMembers 100: its effectuation 834 is
    cut in parts of about 100 members on subscribers, one invocation each, every member
    counted once; no invocation makes more than a third of the file's requests (in one
    invocation it made them all: 100,000 members were about 100,000 family queries). The
    same file delivered again counts nothing more. tests/e2e/test_fanout.py holds that a cut
    effectuation ends in the same table as one read in one go, faults included."""
    from acktrack.local.trace import RequestTrace

    data, _ = day.send("a.834", members=600, sets_per_group=200, seed=296)
    day.answer("a.999", data)
    trace = day.stack.trace = RequestTrace()
    insurer = insurer_file(data)
    result, *pumped = day.drop("inbound", "effectuation.834", insurer)  # then its parts
    assert result.ok and all(part.ok for part in pumped), result.error
    (entry,) = result.result["objects"]
    assert entry["outcome"] == "fanned_out" and 5 <= entry["parts"] <= 8, entry
    lines = trace.lines
    tasks = [line for line in lines if line["function"] == "IngestPartFunction"]
    assert len(tasks) == entry["parts"] + 1  # each part, then the workflow's Finish
    total = sum(line["dynamodb_requests"] for line in lines)
    assert max(line["dynamodb_requests"] for line in lines) * 3 <= total
    assert counted().members_effectuated == 600
    day.drop("inbound", "effectuation.834", insurer)  # S3 delivers it again
    assert counted().members_effectuated == 600


@pytest.mark.parametrize("parameters", [{"PartMembers": 100, "PartBytes": 0}])
def test_a_finish_that_failed_is_retried_and_keeps_every_parts_counts(
    day: Day, parameters: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workflow's Finish fails while recording the object, and the workflow retries it:
    the outcome adds every part's first result. (Under the parts queue, the part counted
    last finished the file and was delivered again: its second result, "no change", once
    replaced the first, and the outcome lost that part's effectuated members.)"""
    from acktrack.domain.status import FileOutcome
    from acktrack.store.models import ObjectItem
    from acktrack.store.repository import Repository

    data, _ = day.send("a.834", members=300, sets_per_group=100, seed=297)
    day.answer("a.999", data)
    record_object = Repository.record_object
    failed: list[str] = []

    def fails_once(self: Repository, ref: Any, outcome: Any) -> None:
        if outcome.outcome == FileOutcome.EFFECTUATION and not failed:
            failed.append(ref.key)
            raise RuntimeError("the finish fails once")
        record_object(self, ref, outcome)

    monkeypatch.setattr(Repository, "record_object", fails_once)
    results = day.drop("inbound", "effectuation.834", insurer_file(data))
    retried = [r for r in results if r.function == "IngestPartFunction" and not r.ok]
    assert failed and len(retried) == 1  # the Finish failed once, then the workflow ran it again
    (item,) = [i for i in ObjectItem.scan() if i.outcome == "effectuation"]
    assert item.detail["effectuated"] == 300, item.detail
    assert item.detail["effectuation_records"] == 300
    assert counted().members_effectuated == 300


@pytest.mark.parametrize("parameters", [{"PartMembers": 100, "PartBytes": 0}])
def test_a_part_run_again_after_its_result_was_kept_changes_no_count(
    day: Day, parameters: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part's result is written and the invocation then fails (its answer lost): the
    Map runs the part again, which finds its members effectuated and reports no change.
    Its first result is kept, so the file's outcome still counts that part's members."""
    from acktrack.store.models import ObjectItem
    from acktrack.store.repository import Repository

    data, _ = day.send("a.834", members=300, sets_per_group=100, seed=298)
    day.answer("a.999", data)
    record_part = Repository.record_part
    lost: list[int] = []

    def answer_lost_once(self: Repository, job: str, index: int, result: bytes) -> None:
        record_part(self, job, index, result)
        if not lost:
            lost.append(index)
            raise RuntimeError("the part's answer is lost once")

    monkeypatch.setattr(Repository, "record_part", answer_lost_once)
    results = day.drop("inbound", "effectuation.834", insurer_file(data))
    assert lost and [r for r in results if r.function == "IngestPartFunction" and not r.ok]
    (item,) = [i for i in ObjectItem.scan() if i.outcome == "effectuation"]
    assert item.detail["effectuated"] == 300, item.detail
    assert counted().members_effectuated == 300
