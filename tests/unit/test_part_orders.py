"""Part orders: what the outbound function sends and the part function reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acktrack.ingest.parts import BadPartOrder, PartOrder, pack, unpack
from acktrack.x12.ranges import ResumePoint

EVENT = Path(__file__).resolve().parents[2] / "events" / "part-order.json"


def test_the_sample_event_holds_a_part_order_that_reads_back() -> None:
    (record,) = json.loads(EVENT.read_text())["Records"]
    order = PartOrder.from_message(record["body"])
    assert (order.index, order.parts, order.start, order.end) == (1, 13, 33554731, 67109190)
    assert order.legacy is None  # the job holds the object: no S3 key in the order
    assert order.resume is not None
    point = ResumePoint.from_dict(order.resume)
    assert point.delimiters.segment == "~" and point.members == 77500
    assert PartOrder.from_message(order.to_message()) == order
    assert not {"bucket", "key", "legacy"} & set(json.loads(order.to_message()))


def test_an_order_of_an_earlier_version_is_still_read_and_never_sent_again() -> None:
    """Orders sent before jobs kept their object named it; a deploy strands none of them."""
    body = json.loads(json.loads(EVENT.read_text())["Records"][0]["body"])
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
