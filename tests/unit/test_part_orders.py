"""Part orders: what the outbound function writes for the file workflow and the part
function reads."""

from __future__ import annotations

import hashlib
import json
import random
import string
from dataclasses import replace
from pathlib import Path

import pytest

from acktrack.domain.identifiers import SHORT
from acktrack.ingest.parts import (
    MAX_INTERCHANGES,
    MAX_PLAN_BYTES,
    BadPartOrder,
    PartOrder,
    pack,
    pack_plan,
    unpack,
)
from acktrack.x12.ranges import ResumePoint

EVENT = Path(__file__).resolve().parents[2] / "events" / "part-order.json"
SQS_BATCH_BYTES = 256 * 1024  # what the parts queue, before the file workflow, took a batch
INTERCHANGE = {"sequence": 1, "our_id": "ACKTRACKEXCH", "partner": "HEALTHPLAN01",
               "control": "000001001", "digest": "3f5a0c", "completed": False}  # fmt: skip


def test_the_sample_event_holds_a_part_order_that_reads_back() -> None:
    order = PartOrder.from_message(json.dumps(json.loads(EVENT.read_text())["order"]))
    assert (order.index, order.parts, order.start, order.end) == (1, 13, 33554731, 67109190)
    assert order.legacy is None  # the job holds the object: no S3 key in the order
    assert order.resume is not None
    point = ResumePoint.from_dict(order.resume)
    assert point.delimiters.segment == "~" and point.members == 77500
    assert PartOrder.from_message(order.to_message()) == order
    assert not order.inline and order.interchanges == []  # the job holds the plan
    assert not {"bucket", "key", "legacy", "interchanges", "notices"} & set(
        json.loads(order.to_message())
    )


def test_the_sample_finish_names_its_job_kind_and_parts() -> None:
    from acktrack.ingest.parts import finish_order

    task = json.loads((EVENT.parent / "part-finish.json").read_text())
    order = finish_order(task["finish"], task["kind"], task["parts"])
    assert (order.job, order.kind, order.parts) == (task["finish"], "outbound", 13)
    with pytest.raises(BadPartOrder, match="not a finish order"):
        finish_order(task["finish"], "report", 13)
    with pytest.raises(BadPartOrder, match="not a finish order"):
        finish_order(task["finish"], "outbound", 0)


def test_an_order_that_carried_its_plan_is_still_read_from_its_plan() -> None:
    """Orders of earlier versions carried the file's interchanges: still read."""
    body = json.loads(EVENT.read_text())["order"]
    body |= {"interchanges": [INTERCHANGE], "notices": ["sender_not_ours"]}
    order = PartOrder.from_message(json.dumps(body))
    assert order.inline and order.interchanges == [INTERCHANGE]
    assert order.notices == ["sender_not_ours"] and not order.is_population
    assert "interchanges" not in order.to_message()  # never sent again that way


def test_a_population_order_names_its_kind_and_its_job_holds_the_rest() -> None:
    body = json.loads(EVENT.read_text())["order"]
    population = {"our_id": "ACKTRACKEXCH", "partner": "HEALTHPLAN01", "as_of": "2024-01-31",
                  "source": "834", "digest": "ab" * 32}  # fmt: skip
    sent = replace(PartOrder.from_message(json.dumps(body)), population=population)
    message = json.loads(sent.to_message())
    assert message["kind"] == "population" and "population" not in message
    assert PartOrder.from_message(sent.to_message()).is_population
    old = PartOrder.from_message(json.dumps(body | {"population": population, "interchanges": []}))
    assert old.is_population and old.population == population  # an order of before


def test_an_effectuation_order_names_its_kind_and_an_unknown_kind_is_refused() -> None:
    from acktrack.ingest.parts import EFFECTUATION, BadPartOrder

    body = json.loads(EVENT.read_text())["order"]
    sent = replace(PartOrder.from_message(json.dumps(body)), kind=EFFECTUATION)
    message = json.loads(sent.to_message())
    assert message["kind"] == "effectuation"
    read = PartOrder.from_message(sent.to_message())
    assert read.kind == EFFECTUATION and not read.is_population
    with pytest.raises(BadPartOrder, match="unknown kind"):
        PartOrder.from_message(json.dumps(body | {"kind": "report"}))


def test_a_slice_of_a_999_names_its_kind_and_numbers_and_its_job_holds_the_acks() -> None:
    from acktrack.ingest.parts import ACKNOWLEDGMENTS, finish_order

    sent = PartOrder(job="j" * 24, index=7, parts=9, start=1, end=3, resume=None,
                     kind=ACKNOWLEDGMENTS, acks=[["US", "PLAN", "1", "999-PLAN-1-1-0001"]],
                     slice_size=5000, carried={"applied": 1})  # fmt: skip
    message = json.loads(sent.to_message())
    assert message == {"job": "j" * 24, "index": 7, "parts": 9, "start": 1, "end": 3,
                       "resume": None, "kind": "acknowledgments"}  # fmt: skip
    read = PartOrder.from_message(sent.to_message())
    assert (read.kind, read.start, read.end, read.acks) == (ACKNOWLEDGMENTS, 1, 3, [])
    plan = unpack(pack_plan([], ["n"], acks=sent.acks, slice_size=5000, carried={"applied": 1}))
    assert (plan["acks"], plan["slice_size"], plan["carried"]) == (sent.acks, 5000, {"applied": 1})
    assert "acks" not in unpack(pack_plan([], []))  # other plans are as before
    assert finish_order("j" * 24, ACKNOWLEDGMENTS, 9).kind == ACKNOWLEDGMENTS


def test_a_file_of_1000_interchanges_is_planned_once_in_its_job_and_its_orders_are_small() -> None:
    """The plan that orders once repeated (up to 1,000 interchanges, ten orders a batch:
    1.7 MB a SendMessageBatch) fits the job item with room to spare, ids at X12's longest."""
    rng = random.Random(29)
    interchanges = [
        {"sequence": n, "our_id": _id(rng), "partner": _id(rng), "control": f"{n:09d}",
         "digest": hashlib.sha256(str(n).encode()).hexdigest(), "completed": n % 2 == 0}
        for n in range(1, MAX_INTERCHANGES + 1)
    ]  # fmt: skip
    plan = pack_plan(interchanges, sorted(["sender_not_ours", "interchange_control_reused"]))
    assert len(plan) < MAX_PLAN_BYTES < 400_000
    assert unpack(plan)["interchanges"] == interchanges
    before = len(json.dumps(interchanges, separators=(",", ":")))
    assert before * 10 > SQS_BATCH_BYTES  # what ten orders of before carried in one batch
    body = json.loads(EVENT.read_text())["order"]
    orders = [
        replace(PartOrder.from_message(json.dumps(body)), index=n, parts=40,
                interchanges=interchanges).to_message()
        for n in range(40)
    ]  # fmt: skip
    assert max(len(order) for order in orders) < 2048  # the plan stays in the job


def _id(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(SHORT))


def test_an_order_of_an_earlier_version_is_still_read_and_never_sent_again() -> None:
    """Orders sent before jobs kept their object named it; a deploy strands none of them."""
    body = json.loads(EVENT.read_text())["order"]
    body |= {"bucket": "b", "key": "outbound/SURNAME.834", "version_id": "v1", "size": 9,
             "received_at": "2024-01-15T12:05:00+00:00"}  # fmt: skip
    order = PartOrder.from_message(json.dumps(body))
    assert order.legacy is not None and order.legacy.key == "outbound/SURNAME.834"
    assert order.legacy.received_at.isoformat() == "2024-01-15T12:05:00+00:00"
    assert "SURNAME" not in order.to_message()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "JSONDecodeError"),
        ("[1, 2]", "fields missing"),
        ('{"job": "x"}', "TypeError"),
        ('{"job": "x", "index": 3, "parts": 2, "bucket": "b", "key": "k", "version_id": null,'
         ' "size": 1, "received_at": "2024-01-15T12:00:00+00:00", "start": 0, "end": null,'
         ' "resume": null, "interchanges": []}', "part 3 of 2"),
        ('{"job": "x", "index": 0, "parts": 2, "bucket": "b", "key": "k", "version_id": null,'
         ' "size": 1, "received_at": "yesterday", "start": 0, "end": null,'
         ' "resume": null, "interchanges": []}', "ValueError"),
    ],
)  # fmt: skip
def test_anything_else_is_refused_with_a_reason_that_names_no_data(body: str, reason: str) -> None:
    with pytest.raises(BadPartOrder, match=reason) as refused:
        PartOrder.from_message(body)
    assert "outbound" not in str(refused.value) and "yesterday" not in str(refused.value)


def test_a_part_result_fits_an_item_when_many_sets_are_in_one_part() -> None:
    result = {"sets": [[1, str(group), f"{n:04d}", 40 * n, 0, False, []] for group in range(10)
                       for n in range(300)], "findings": {}, "by_partner": {}, "effectuated": 0}  # fmt: skip
    packed = pack(result)
    assert len(packed) < 100_000 < len(json.dumps(result))  # 3,000 sets: well under 400 KB
    assert unpack(packed) == result
