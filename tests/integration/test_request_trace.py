"""The request trace (`--trace-requests`): one line per invocation, each DynamoDB request
counted for the invocation that made it (in moto's interpreter threads and the handlers'
writer threads too), the items written most named by a hash, never by a key's value."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from acktrack.handlers import wiring
from acktrack.local.stack import EmbeddedStack
from acktrack.local.trace import RequestTrace, written_keys
from tests.integration.conftest import Day

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
REPORT_TASKS = {"ReportPlanFunction", "ReportBatchFunction", "ReportSectionsFunction",
                "ReportFunction"}  # fmt: skip


@pytest.fixture
def parameters() -> dict[str, Any]:
    return {"ReportBatchSets": 2}  # several map batches from a few sets


def _hash(pk: str, sk: str) -> str:
    return hashlib.sha256(f"{pk}|{sk}".encode()).hexdigest()[:12]


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def test_a_known_small_case_counts_every_request_and_every_item_written(
    stack: EmbeddedStack,
) -> None:
    """Each kind of write, on the stack's table: the item written most is the one written in
    a PutItem, two UpdateItems, a BatchWriteItem and a transaction; a delete in a batch is a
    write; a transaction's ConditionCheck is not."""
    client, table = stack.client("dynamodb"), stack.table
    trace = RequestTrace()
    hot, other = ("STAT#US#SECRET123", "ALL"), ("FAM#x", "M#1")
    with trace.invocation("Probe", AS_OF):
        client.put_item(TableName=table, Item=_key(*hot))
        for number in ("1", "2"):
            client.update_item(TableName=table, Key=_key(*hot), UpdateExpression="SET n = :n",
                               ExpressionAttributeValues={":n": {"N": number}})  # fmt: skip
        client.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": _key(*hot)}},
            {"PutRequest": {"Item": _key(*other)}},
            {"PutRequest": {"Item": _key("PARTNERS", "US#SECRET123")}},
            {"DeleteRequest": {"Key": _key(*other)}},
        ]})  # fmt: skip
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": _key(*hot)}},
            {"Update": {"TableName": table, "Key": _key(*other), "UpdateExpression": "SET n = :n",
                        "ExpressionAttributeValues": {":n": {"N": "2"}}}},
            {"ConditionCheck": {"TableName": table, "Key": _key("GS#a", "SET#b"),
                                "ConditionExpression": "attribute_not_exists(pk)"}},
        ])  # fmt: skip
        client.query(TableName=table, KeyConditionExpression="pk = :pk",
                     ExpressionAttributeValues={":pk": {"S": hot[0]}})  # fmt: skip
        client.delete_item(TableName=table, Key=_key(*other))
    (line,) = trace.lines
    assert line["function"] == "Probe" and line["invocation"] == 1
    assert line["at"] == "2024-01-20T07:00:00Z"
    assert line["by_operation"] == {"BatchWriteItem": 1, "DeleteItem": 1, "PutItem": 1,
                                    "Query": 1, "TransactWriteItems": 1, "UpdateItem": 2}  # fmt: skip
    assert line["dynamodb_requests"] == 7
    # A put, two updates and a delete; a batch of 4; 2 of the transaction's 3.
    assert line["items_written"] == 4 + 4 + 2
    assert line["hot_items"] == [
        {"kind": "STAT", "key": _hash(*hot), "writes": 5},
        {"kind": "FAM", "key": _hash(*other), "writes": 4},
        {"kind": "PARTNERS", "key": _hash("PARTNERS", "US#SECRET123"), "writes": 1},
    ]
    assert "SECRET123" not in json.dumps(line)  # ids in keys never leave the trace's hashes


def test_written_keys_name_each_write_of_a_batch_and_a_transaction() -> None:
    batch = {"RequestItems": {"t": [{"PutRequest": {"Item": _key("A#1", "x")}},
                                    {"DeleteRequest": {"Key": _key("B#2", "y")}}]}}  # fmt: skip
    assert list(written_keys("BatchWriteItem", batch)) == [("A", _hash("A#1", "x")),
                                                           ("B", _hash("B#2", "y"))]  # fmt: skip
    assert list(written_keys("Query", {"KeyConditionExpression": "pk = :pk"})) == []


def test_a_day_and_its_report_workflow_trace_every_invocation(day: Day) -> None:
    """Every invocation has its line, the workflow's tasks (plan, batches, sections,
    deliver) included, at the schedule's time; their requests add up to what the handlers'
    own client sent (a botocore hook beside the trace)."""
    calls: Counter[str] = Counter()
    wiring.repository().client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.update([model.name])
    )
    trace = day.stack.trace = RequestTrace()
    data, _ = day.send("a.834", members=12, sets_per_group=5, seed=5)
    day.answer("a.999", data)
    day.send("b.834", members=6, sets_per_group=3, seed=6, interchange_control=1002,
             first_group_control=7, subscriber_id_start=200000001)  # fmt: skip
    run = day.stack.run_schedule(AS_OF)
    assert run.ok, run.error
    lines = trace.lines
    assert [line["invocation"] for line in lines] == list(range(1, len(lines) + 1))
    assert len(lines) == len(day.stack.invocations)
    assert [line["function"] for line in lines] == [i.function for i in day.stack.invocations]
    reported = [line for line in lines if line["function"] in REPORT_TASKS]
    assert {line["function"] for line in reported} == REPORT_TASKS
    assert sum(line["function"] == "ReportBatchFunction" for line in lines) >= 2  # 2 sets a batch
    assert {line["at"] for line in reported} == {"2024-01-20T07:00:00Z"}
    assert {line["at"] for line in lines if line not in reported} == {"2024-01-19T12:00:00Z"}
    for line in lines:
        assert set(line) >= {"function", "invocation", "at", "dynamodb_requests",
                             "by_operation", "hot_items"}  # fmt: skip
        assert line["dynamodb_requests"] == sum(line["by_operation"].values())
        assert len(line["hot_items"]) <= 10
        for item in line["hot_items"]:
            assert len(item["key"]) == 12 and int(item["key"], 16) >= 0
            assert item["kind"].isupper() and item["writes"] >= 1
    total: Counter[str] = Counter()
    for line in lines:
        total.update(line["by_operation"])
    assert total == calls  # nothing lost, nothing counted twice (writer threads included)
    plan = next(line for line in lines if line["function"] == "ReportPlanFunction")
    assert plan["hot_items"] == [] and set(plan["by_operation"]) <= {"Query", "GetItem"}
    ingest = lines[0]
    assert ingest["function"] == "IngestOutboundFunction"
    assert ingest["by_operation"]["BatchWriteItem"] >= 1
    assert ingest["items_written"] >= 12  # each member item of its batches
