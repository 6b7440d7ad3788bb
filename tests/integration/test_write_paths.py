"""Requests per set on the write paths that grow with a file (issue 29): a 999's segment
errors attributed with one members read per erroneous set; an outbound file's sets
written in batches."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from acktrack.aws import clients
from acktrack.handlers import wiring
from acktrack.ingest.parts import PartOrder, with_job
from acktrack.store import keys
from acktrack.store import sets as set_store
from acktrack.store.models import MemberItem, SetItem
from acktrack.store.repository import Repository
from acktrack.synthetic.acknowledgments import GroupResponse, SegmentErrorSpec, SetResponse
from tests.integration.conftest import SENT, Day

SETS = 201  # 200 sets with one IK3 each, one with four
INTERCHANGES = 1000  # the most a file cut in parts may hold (``ingest.parts``)


@contextmanager
def counted() -> Iterator[Counter[str]]:
    """DynamoDB requests by operation; ``members``: queries of a set's member partitions."""
    calls: Counter[str] = Counter()

    def count(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls[model.name] += 1
        if model.name == "Query":
            body = json.loads(params["body"])
            values = [v.get("S", "") for v in body.get("ExpressionAttributeValues", {}).values()]
            if body.get("IndexName") == "lookup" and any(v.startswith("MB#") for v in values):
                calls["members"] += 1

    client = wiring.repository().client
    client.meta.events.register("before-call.dynamodb", count)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)


def _per_error(
    self: Repository, item: SetItem, positions: Iterable[int | None]
) -> dict[int, dict[str, Any] | None]:
    """The attribution before issue 29 (planted): one query per error."""
    found: dict[int, dict[str, Any] | None] = {}
    for position in positions:
        if not position:
            continue
        found[position] = None
        for chunk in (position // keys.MEMBER_CHUNK, position // keys.MEMBER_CHUNK - 1):
            if chunk < 0:
                break
            hits = list(MemberItem.lookup.query(
                f"MB#{item.set_id}#{chunk}", MemberItem.us <= keys.position_key(position),
                scan_index_forward=False, limit=1,
            ))  # fmt: skip
            if hits:
                member = hits[0]
                if member.first_position <= position <= member.last_position:
                    found[position] = {"ordinal": int(member.ordinal),
                                       "first_position": int(member.first_position),
                                       "last_position": int(member.last_position)}  # fmt: skip
                break
    return found


def _attributed() -> dict[str, list[dict[str, Any] | None]]:
    """Each set of group 1: the member each of its stored IK3 errors was attributed to."""
    return {
        item.transaction_control: [error["member"] for ack in item.acks.as_dict().values()
                                   for error in ack["errors"]]
        for item in SetItem.query(keys.group_pk("ACKTRACKEXCH", "HEALTHPLAN01", "1"),
                                  SetItem.sk.startswith("SET#"))
    }  # fmt: skip


@pytest.mark.parametrize("planted", [False, True], ids=["per-set", "planted-per-error"])
def test_a_999_rejecting_sets_with_ik3_errors_reads_each_set_s_members_once(
    day: Day, monkeypatch: pytest.MonkeyPatch, planted: bool
) -> None:
    # Sets of 3 members keep where each starts (no read at all): keep none here, so that
    # the reads this test counts are made.
    monkeypatch.setattr(set_store, "MEMBER_STARTS_KEPT", 1)
    if planted:
        monkeypatch.setattr(Repository, "members_at", _per_error)
    _, generated = day.send("a.834", members=3 * SETS, sets_per_group=SETS, seed=29, dependents=0.0)
    responses, expected = [], {}
    for index, sent in enumerate(generated.sets):
        # Set 0: errors in its three members and one in its header (BGN, no member).
        chosen = sent.member_detail if index == 0 else sent.member_detail[1:2]
        errors = [SegmentErrorSpec("INS", m.first_position + 1, "8", "2000") for m in chosen]
        expected[sent.transaction_control] = [
            {"ordinal": m.ordinal, "first_position": m.first_position,
             "last_position": m.last_position} for m in chosen
        ]  # fmt: skip
        if index == 0:
            errors.append(SegmentErrorSpec("BGN", 2, "8"))
            expected[sent.transaction_control].append(None)
        responses.append(SetResponse(sent.transaction_control, "R", ["5"], errors))
    with counted() as calls:
        day.answer_999("a.999", insurer="HEALTHPLAN01", groups=[GroupResponse("1", responses)])
    attributed = _attributed()
    assert attributed == expected  # the same members, read either way
    requests = sum(n for name, n in calls.items() if name != "members")
    if planted:
        assert calls["members"] == SETS + 3  # one per error: the bound below catches it
        return
    assert calls["members"] == SETS, calls
    assert requests <= 2 * SETS, calls


@pytest.mark.parametrize("size", [1, 3, 16])
@pytest.mark.parametrize("parameters", [{}, {"PartBytes": 20_000}], ids=["whole", "in-parts"])
def test_a_999_rejecting_small_sets_attributes_their_ik3_errors_without_a_read(
    day: Day, parameters: dict[str, Any], size: int
) -> None:
    """A set of up to 16 members keeps where each loop starts: its errors are placed with no
    members query (the same members as the query finds: each loop ends where the next
    starts), whole or cut in parts (a set's members then come from several parts); one
    query per set made 200,000-set 999s pass the per-invocation bound (issue 29)."""
    sets = SETS if size == 1 else 60
    _, generated = day.send("small.834", members=sets * size, sets_per_group=sets, seed=34,
                            dependents=0.0)  # fmt: skip
    assert {len(sent.member_detail) for sent in generated.sets} == {size}
    responses, expected = [], {}
    for index, sent in enumerate(generated.sets):
        chosen = [m for n, m in enumerate(sent.member_detail) if (n + index) % 2 == 0 or size == 1]
        errors = [
            SegmentErrorSpec("INS", m.first_position + index % 3, "8", "2000") for m in chosen
        ]
        errors += [SegmentErrorSpec("DTP", m.last_position, "8") for m in chosen[:1]]
        expected[sent.transaction_control] = [
            {"ordinal": m.ordinal, "first_position": m.first_position,
             "last_position": m.last_position} for m in [*chosen, *chosen[:1]]
        ]  # fmt: skip
        if index == 0:  # its header (BGN) and past its loops (SE): no member
            errors += [SegmentErrorSpec("BGN", 2, "8"), SegmentErrorSpec("SE", sent.segments, "8")]
            expected[sent.transaction_control] += [None, None]
        responses.append(SetResponse(sent.transaction_control, "R", ["5"], errors))
    with counted() as calls:
        day.answer_999("small.999", insurer="HEALTHPLAN01", groups=[GroupResponse("1", responses)])
    attributed = _attributed()
    assert attributed == expected
    assert calls["members"] == 0, calls
    assert sum(n for name, n in calls.items() if name != "members") <= sets // 10 + 5, calls


@pytest.mark.parametrize("parameters", [{"PartMembers": 100, "PartBytes": 0}])
def test_a_file_of_many_members_is_cut_by_members_whatever_its_bytes(
    day: Day, parameters: dict[str, Any]
) -> None:
    """600 members in about 250 KB (no byte cut at all) with PartMembers 100: parts of
    about 100 members, each invocation's requests following its members; every member
    tracked, once. Cut by bytes only, the file was one invocation of about 1,000 requests
    (issue 29: a 32 MiB part of 75,000 small members made about 60,000)."""
    from acktrack.local.trace import RequestTrace

    trace = day.stack.trace = RequestTrace()
    _, generated = day.send("many.834", members=600, sets_per_group=600, seed=35)
    parts = [line for line in trace.lines if line["function"] == "IngestPartFunction"]
    assert 5 <= len(parts) <= 8, len(parts)
    total = sum(line["dynamodb_requests"] for line in trace.lines)
    largest = max(line["dynamodb_requests"] for line in trace.lines)
    assert largest * 3 <= total, [line["dynamodb_requests"] for line in trace.lines]
    tracked = [item for item in MemberItem.scan(MemberItem.sk.startswith("M#"))]
    assert len(tracked) == 600 == sum(len(sent.member_detail) for sent in generated.sets)


def test_an_outbound_file_of_more_members_than_one_file_may_hold_is_quarantined(
    day: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Millions of tiny INS loops (6 bytes each, 350 million in 2 GiB) would take its parts
    past their 15 minutes: over ``max_file_members`` (5,000,000; 49 here) the file is
    refused before anything is tracked, the reason giving the count."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from acktrack.domain.ports import PipelineConfig
    from acktrack.handlers import ingest as ingest_handler

    assert PipelineConfig().max_file_members == 5_000_000
    configured = ingest_handler.pipeline_config
    monkeypatch.setattr(ingest_handler, "pipeline_config",
                        lambda: replace(configured(), max_file_members=49))  # fmt: skip
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    buffer = io.BytesIO()
    write_834(EnrollmentSpec(sent_at=SENT, members=50, sets_per_group=50, seed=36), buffer)
    (result,) = day.drop("outbound", "big.834", buffer.getvalue())
    assert result.ok, result.error
    (quarantined,) = day.report(datetime(2024, 1, 16, 12, tzinfo=UTC))["quarantined"]
    assert "the file holds 50 member transactions; at most 49" in quarantined["reason"]
    assert not [item for item in day.table() if item["sk"]["S"].startswith("M#")]


@pytest.mark.parametrize("parameters", [{"PartBytes": 200_000}])
def test_a_file_of_1000_interchanges_cut_in_parts_sends_small_orders(
    day: Day, parameters: dict[str, Any]
) -> None:
    """Its plan once in the job item; each order its job, part and range (no S3 key, no
    interchange list): under 2 KiB each; the execution's input a few hundred bytes (Step
    Functions takes 256 KiB), whatever the interchanges; every member tracked."""
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    buffer = io.BytesIO()
    for n in range(INTERCHANGES):
        write_834(EnrollmentSpec(seed=n, members=1, dependents=0.0, interchange_control=10_000 + n,
                                 first_group_control=n + 1, subscriber_id_start=500_000_000 + n,
                                 sent_at=SENT), buffer)  # fmt: skip
    written: list[bytes] = []
    started: list[str] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        if str(params.get("Key", "")).startswith("work/parts/"):
            written.append(params["Body"])

    s3, sfn = clients.s3().meta.events, clients.stepfunctions().meta.events
    s3.register("before-parameter-build.s3.PutObject", keep)
    sfn.register("before-parameter-build.sfn.StartExecution",
                 lambda params, **_: started.append(params["input"]))  # fmt: skip
    stack = day.stack
    event = stack.store(day.outbound, "outbound/many.834", buffer.getvalue())
    (result, *_) = stack.deliver_event(day.outbound, "outbound/many.834", event)
    assert result.ok, result.error
    (entry,) = result.result["objects"]
    assert entry["outcome"] == "fanned_out" and entry["parts"] > 2
    (listed,) = written
    orders = [json.dumps(order) for order in json.loads(listed)]
    assert len(orders) == entry["parts"]
    assert max(len(body.encode()) for body in orders) < 2048
    (given,) = started
    assert len(given.encode()) < 1024 and json.loads(given)["parts"] == entry["parts"]
    assert not any("many.834" in body or "interchanges" in body for body in [*orders, given])
    order, ref = with_job(PartOrder.from_message(orders[-1]), wiring.repository())
    assert len(order.interchanges) == INTERCHANGES and ref.key == "outbound/many.834"
    from acktrack.store.models import ObjectItem

    # The workflow ran the parts, then its Finish recorded the file's outcome.
    assert [item.outcome for item in ObjectItem.scan() if item.pk.startswith("OBJ#")] == ["tracked"]


OUTBOUND_SETS = 300  # one family a set, as an exchange's largest files are cut


def test_an_outbound_file_s_sets_are_written_in_batches(day: Day) -> None:
    """Not a PutItem per set: a keys-only BatchGetItem and a conditional transaction per
    100 sets (a set already there keeps its state), plus a constant for the file."""
    with counted() as calls:
        _, generated = day.send("a.834", members=OUTBOUND_SETS, sets_per_group=OUTBOUND_SETS,
                                seed=30, dependents=0.0)  # fmt: skip
    assert len(generated.sets) == OUTBOUND_SETS
    stored = list(SetItem.query(keys.group_pk("ACKTRACKEXCH", "HEALTHPLAN01", "1"),
                                SetItem.sk.startswith("SET#")))  # fmt: skip
    assert len(stored) == OUTBOUND_SETS and {item.status for item in stored} == {"sent"}
    # 303 PutItem before (one a set); the Query a family (reconciliation) is not this path's.
    assert calls["PutItem"] < 10, calls
    assert calls["BatchWriteItem"] <= 2 * OUTBOUND_SETS // 25 + 2, calls  # sets, then members
    assert calls["BatchGetItem"] <= OUTBOUND_SETS // 100 + 1, calls
    assert calls["TransactWriteItems"] <= OUTBOUND_SETS // 100 + 2, calls  # sets, the interchange
    writes = sum(n for name, n in calls.items() if name not in ("members", "Query"))
    # +2: its ISA13 and GS06 kept for the insurer's numbering (issue 30)
    assert writes <= OUTBOUND_SETS / 25 + OUTBOUND_SETS / 20 + 10 + 2, calls


def test_a_resumed_ingest_keeps_the_state_of_sets_already_answered(day: Day) -> None:
    """The condition PutItem had (create once) holds in batches: a set already there, and
    since answered, is not written again (a resumed ingest meets it)."""
    data, _ = day.send("a.834", members=30, sets_per_group=30, seed=31, dependents=0.0)
    day.answer("a.999", data, with_ta1=False)
    pk = keys.group_pk("ACKTRACKEXCH", "HEALTHPLAN01", "1")
    answered = {
        item.sk: item.serialize() for item in SetItem.query(pk, SetItem.sk.startswith("SET#"))
    }
    assert all(item["acks"]["M"] for item in answered.values())
    from acktrack.store.models import InterchangeItem

    (version,) = InterchangeItem.query(
        keys.interchange_pk("ACKTRACKEXCH", "HEALTHPLAN01", "000001001")
    )
    version.update(actions=[InterchangeItem.status.set("ingesting")])  # stopped before completing
    (result,) = day.stack.redeliver(day.outbound, "outbound/a.834")
    assert result.ok, result.error
    after = {item.sk: item.serialize() for item in SetItem.query(pk, SetItem.sk.startswith("SET#"))}
    assert after == answered


def test_a_set_over_two_lookup_partitions_attributes_as_one_query_per_error_did(day: Day) -> None:
    """Every position near the partition edge (20,000), the header, the trailer and a random
    sample: the same member (or none) as the per-error queries, in one query a partition."""
    _, generated = day.send("big.834", members=1000, seed=32, dependents=0.0)
    (sent,) = generated.sets
    assert sent.segments > keys.MEMBER_CHUNK
    (item,) = SetItem.query(keys.group_pk("ACKTRACKEXCH", "HEALTHPLAN01", "1"),
                            SetItem.sk.startswith("SET#"))  # fmt: skip
    edge = keys.MEMBER_CHUNK
    rng = random.Random(32)
    positions = sorted({*range(1, 40), *range(edge - 60, edge + 60),
                        *range(sent.segments - 40, sent.segments + 3),
                        *rng.sample(range(1, sent.segments), 200)})  # fmt: skip
    repository = wiring.repository()
    with counted() as calls:
        batched = repository.members_at(item, positions)
    assert calls["members"] <= 3, calls  # two partitions (and the one the trailer spills to)
    assert batched == _per_error(repository, item, positions)
    assert {m["ordinal"] for m in batched.values() if m} >= {1, sent.members}


def test_sets_another_copy_created_meanwhile_keep_their_answers(day: Day) -> None:
    """Between the existence read and the write, another copy of the file can create a set
    and a 999 answer it: the chunk's transaction is cancelled by that set's condition and
    the chunk is created one at a time, the answered set left as it is (the create-once a
    BatchWriteItem could not keep)."""
    data, _ = day.send("a.834", members=5, sets_per_group=5, seed=33, dependents=0.0)
    day.answer("a.999", data, with_ta1=False)
    pk = keys.group_pk("ACKTRACKEXCH", "HEALTHPLAN01", "1")
    stored = list(SetItem.query(pk, SetItem.sk.startswith("SET#")))
    answered = {item.sk: item.serialize() for item in stored}
    assert all(item["acks"]["M"] for item in answered.values())
    kept, gone = stored[0], stored[1:]
    for item in gone:
        item.delete()
    fresh = [SetItem(item.pk, item.sk, **_as_created(item)) for item in stored]
    with counted() as calls:
        wiring.repository()._create_sets(fresh)
    assert calls["TransactWriteItems"] == 1 and calls["PutItem"] == len(stored), calls
    after = {item.sk: item for item in SetItem.query(pk, SetItem.sk.startswith("SET#"))}
    assert after[kept.sk].serialize() == answered[kept.sk]  # its answers kept
    assert {after[item.sk].status for item in gone} == {"sent"}  # the others created


_CREATED = ("set_id", "our_id", "partner", "payer_name", "interchange_control", "group_control",
            "transaction_control", "implementation", "digest", "interchange_pk",
            "interchange_sk", "sent_at", "sent_day", "members")  # fmt: skip


def _as_created(item: SetItem) -> dict[str, Any]:
    """A set's attributes as a copy of its file creates it: sent, no answers."""
    return {name: getattr(item, name) for name in _CREATED}
