"""Least privilege, proven by use: every AWS action each function performs on a whole day
(recorded with botocore hooks on the handlers' own clients) is allowed by that function's
role in the transformed template, resource by resource; and nothing broader is granted."""

from __future__ import annotations

import fnmatch
import os
from collections import defaultdict
from typing import Any

import pytest

from acktrack import runtime
from acktrack.aws import clients
from acktrack.local.stack import LocalStack
from tests.reliability.support import AS_OF, build_day, deliver, fresh_stack

pytestmark = pytest.mark.slow
_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_S3_ACTIONS = {"GetObject": ["s3:GetObject"], "HeadObject": ["s3:GetObject"], "PutObject": ["s3:PutObject"],
               "PutObjectTagging": ["s3:PutObjectTagging"], "CopyObject": ["s3:PutObject"]}  # fmt: skip


class Recorder:
    """(action, resource ARN, partition key or None) per API call, by the function running
    (AWS_LAMBDA_FUNCTION_NAME, which the local stack sets as Lambda does)."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.by_name = {function.name: logical for logical, function in stack.functions.items()}
        self.calls: dict[str, set[tuple[str, str, str | None]]] = defaultdict(set)
        runtime.repository().client.meta.events.register(
            "before-parameter-build.dynamodb", self._dynamodb
        )
        clients.s3().meta.events.register("before-parameter-build.s3", self._s3)
        clients.ses().meta.events.register("before-parameter-build.sesv2", self._ses)
        clients.sqs().meta.events.register("before-parameter-build.sqs", self._sqs)

    def _add(self, action: str, resource: str, key: str | None = None) -> None:
        function = self.by_name[os.environ["AWS_LAMBDA_FUNCTION_NAME"]]
        self.calls[function].add((action, resource, key))

    def _sqs(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        # SendMessageBatch is authorized as sqs:SendMessage on the queue's ARN.
        action = "SendMessage" if model.name == "SendMessageBatch" else model.name
        name = params["QueueUrl"].rsplit("/", 1)[-1]
        self._add(f"sqs:{action}", f"arn:aws:sqs:us-east-1:123456789012:{name}")

    def _table(self, name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    def _dynamodb(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                self._add(
                    f"dynamodb:{_ITEM_ACTIONS[kind]}",
                    self._table(body["TableName"]),
                    body["Key"]["pk"]["S"],
                )
        elif model.name == "BatchWriteItem":
            for table in params["RequestItems"]:
                self._add("dynamodb:BatchWriteItem", self._table(table))
        else:
            key = params.get("Key", {}).get("pk", {}).get("S")
            self._add(
                f"dynamodb:{model.name}",
                self._table(params["TableName"], params.get("IndexName")),
                key,
            )

    def _s3(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        for action in _S3_ACTIONS.get(model.name, [f"s3:{model.name}"]):
            self._add(action, f"arn:aws:s3:::{params['Bucket']}/{params.get('Key', '')}")
        if model.name == "CopyObject":
            source = params["CopySource"]
            path = source if isinstance(source, str) else f"{source['Bucket']}/{source['Key']}"
            self._add("s3:GetObject", f"arn:aws:s3:::{path.split('?')[0]}")

    def _ses(self, model: Any, **_: Any) -> None:
        self._add(f"ses:{model.name}", "*")


def statements(stack: LocalStack, function: str) -> list[dict[str, Any]]:
    assert stack.resolver is not None
    role = stack.resources[f"{function}Role"]["Properties"]
    found = []
    for policy in role.get("Policies", []):
        found += [
            s
            for s in stack.resolver.value(policy["PolicyDocument"]["Statement"])
            if isinstance(s, dict)
        ]
    return found


def _listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def allowed(statements: list[dict[str, Any]], action: str, resource: str, key: str | None) -> bool:
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        if not any(
            fnmatch.fnmatchcase(action, pattern) for pattern in _listed(statement["Action"])
        ):
            continue
        resources = [
            r.replace("arn:aws:local:::", "") for r in _listed(statement.get("Resource", "*"))
        ]
        if resource != "*" and not any(
            fnmatch.fnmatchcase(resource, pattern) for pattern in resources
        ):
            continue
        leading = (
            statement.get("Condition", {})
            .get("ForAllValues:StringLike", {})
            .get("dynamodb:LeadingKeys")
        )
        if leading and not (key and any(fnmatch.fnmatchcase(key, p) for p in _listed(leading))):
            continue
        return True
    return False


@pytest.mark.parametrize(
    ("first", "part_bytes"), [("outbound", 0), ("inbound", 0), ("inbound", 2048)]
)
def test_every_action_of_a_day_is_allowed_and_nothing_more_is_granted(
    first: str, part_bytes: int
) -> None:
    """Both arrival orders: acknowledgments and effectuations first make the 834's ingest
    retract findings (never_sent) and apply stored acknowledgments. With PartBytes small,
    the larger 834s are cut in parts: the parts queue and the part function are used too."""
    with fresh_stack({"PartBytes": part_bytes}) as stack:
        recorder = Recorder(stack)
        day = build_day()
        for direction in (
            ("outbound", "inbound") if first == "outbound" else ("inbound", "outbound")
        ):
            for file in day:
                if file.folder == direction:
                    deliver(stack, file)
        assert stack.run_schedule(AS_OF).ok
        denied = []
        for function, calls in recorder.calls.items():
            granted = statements(stack, function)
            denied += [
                (function, *call) for call in sorted(calls, key=str) if not allowed(granted, *call)
            ]
        assert denied == []
        used = {(f, action) for f, calls in recorder.calls.items() for action, _, _ in calls}
        parts = "IngestPartFunction" if part_bytes else "IngestOutboundFunction"
        if first == "inbound":
            assert (parts, "dynamodb:DeleteItem") in used  # a finding retracted
        if part_bytes:
            assert ("IngestOutboundFunction", "sqs:SendMessage") in used
            assert {a for f, a in used if f == "IngestPartFunction"} >= {
                "s3:GetObject",
                "dynamodb:BatchWriteItem",
            }
        assert len(used) > 10
        # Each function touches only its own bucket; only the report function emails.
        buckets = {
            f: {r.split(":::")[1].split("/")[0] for a, r, _ in calls if a.startswith("s3:")}
            for f, calls in recorder.calls.items()
        }
        assert buckets["IngestOutboundFunction"] == {stack.bucket("Outbound")}
        assert buckets.get("IngestPartFunction", {stack.bucket("Outbound")}) == {
            stack.bucket("Outbound")
        }
        assert buckets["IngestInboundFunction"] == {stack.bucket("Inbound")}
        assert buckets["ReportFunction"] == {stack.bucket("Reports")}
        assert {a for f, a in used if a.startswith("ses:")} and all(
            f == "ReportFunction" for f, a in used if a.startswith("ses:")
        )
        # And what is granted is not broader than that.
        for function in stack.functions:
            for statement in statements(stack, function):
                actions, resources = (
                    _listed(statement["Action"]),
                    _listed(statement.get("Resource", "")),
                )
                assert not any(a.endswith(":*") or a == "*" for a in actions), (function, statement)
                assert "*" not in resources, (function, statement)
                if function == "ReportFunction":
                    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
                    leading = (
                        statement.get("Condition", {})
                        .get("ForAllValues:StringLike", {})
                        .get("dynamodb:LeadingKeys")
                    )
                    # It writes nothing but open members' expiry, in family partitions only.
                    assert not (set(actions) & writes) or (
                        actions == ["dynamodb:UpdateItem"] and leading == ["FAM#*"]
                    ), statement
