"""Least privilege, proven by use: every AWS action each function performs on a whole day
(recorded with botocore hooks on the handlers' own clients) is allowed by that function's
role in the transformed template, resource by resource; and nothing broader is granted."""

from __future__ import annotations

import fnmatch
import functools
import os
from collections import defaultdict
from typing import Any

import pytest

from acktrack import runtime
from acktrack.aws import clients
from acktrack.local.stack import EmbeddedStack
from tests.reliability.support import AS_OF, FIGURES, File, build_day, deliver, fresh_stack

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

    def __init__(self, stack: EmbeddedStack) -> None:
        self.stack = stack
        self.by_name = {function.name: logical for logical, function in stack.functions.items()}
        self.calls: dict[str, set[tuple[str, str, str | None]]] = defaultdict(set)
        self.contexts: dict[tuple[str, str, str, str | None], Context] = {}
        runtime.repository().client.meta.events.register(
            "before-parameter-build.dynamodb", self._dynamodb
        )
        clients.s3().meta.events.register("before-parameter-build.s3", self._s3)
        clients.ses().meta.events.register("before-parameter-build.sesv2", self._ses)
        clients.sqs().meta.events.register("before-parameter-build.sqs", self._sqs)
        clients.secretsmanager().meta.events.register(
            "before-parameter-build.secrets-manager", self._secret
        )

    def _add(
        self, action: str, resource: str, key: str | None = None, context: Context = ()
    ) -> None:
        function = self.by_name[os.environ["AWS_LAMBDA_FUNCTION_NAME"]]
        self.calls[function].add((action, resource, key))
        self.contexts[(function, action, resource, key)] = context

    def _secret(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._add(f"secretsmanager:{model.name}", params["SecretId"])

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
        # IAM's names: a read of one version is s3:GetObjectVersion; tags set on a copy
        # need s3:PutObjectTagging as well.
        actions = list(_S3_ACTIONS.get(model.name, [f"s3:{model.name}"]))
        if params.get("VersionId"):
            actions = ["s3:GetObjectVersion" if a == "s3:GetObject" else a for a in actions]
        if params.get("Tagging"):
            actions.append("s3:PutObjectTagging")
        for action in actions:
            self._add(action, f"arn:aws:s3:::{params['Bucket']}/{params.get('Key', '')}")
        if model.name == "CopyObject":
            source = params["CopySource"]
            if isinstance(source, str):
                path, versioned = source.split("?")[0], "versionId=" in source
            else:
                path, versioned = f"{source['Bucket']}/{source['Key']}", "VersionId" in source
            self._add(
                "s3:GetObjectVersion" if versioned else "s3:GetObject", f"arn:aws:s3:::{path}"
            )

    def _ses(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        sender = params.get("FromEmailAddress", "")
        context: Context = (
            ("ses:FromAddress", (sender,)),
            ("ses:Recipients", tuple(params.get("Destination", {}).get("ToAddresses", []))),
        )
        arn = "arn:aws:ses:us-east-1:123456789012"
        self._add(f"ses:{model.name}", f"{arn}:identity/{sender}", None, context)
        if params.get("ConfigurationSetName"):
            self._add(f"ses:{model.name}", f"{arn}:configuration-set/{params['ConfigurationSetName']}",
                      None, context)  # fmt: skip


def statements(stack: EmbeddedStack, function: str) -> list[dict[str, Any]]:
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


Context = tuple[tuple[str, tuple[str, ...]], ...]  # condition key -> the request's values


class UnknownCondition(AssertionError):
    """A policy tests a condition key this evaluator does not know: teach it, do not guess."""


def _condition_holds(condition: dict[str, Any], context: dict[str, tuple[str, ...]]) -> bool:
    """IAM's condition operators the template uses, on the request's values."""
    for operator, tests in condition.items():
        qualifier, _, test = operator.rpartition(":")
        for name, expected in tests.items():
            if name not in context:
                raise UnknownCondition(f"{operator} {name}")
            values, patterns = context[name], _listed(expected)
            if test == "Bool":
                match = lambda value, pattern: value.lower() == pattern.lower()  # noqa: E731
            elif test == "StringEquals":
                match = lambda value, pattern: value == pattern  # noqa: E731
            elif test == "StringLike":
                match = fnmatch.fnmatchcase
            else:
                raise UnknownCondition(operator)
            hits = [any(match(value, pattern) for pattern in patterns) for value in values]
            if qualifier == "ForAllValues":
                held = all(hits)
            elif qualifier == "ForAnyValue":
                held = any(hits)
            else:
                held = len(values) == 1 and hits[0]
            if not held:
                return False
    return True


def _applies(statement: dict[str, Any], action: str, resource: str,
             context: dict[str, tuple[str, ...]]) -> bool:  # fmt: skip
    if not any(fnmatch.fnmatchcase(action, pattern) for pattern in _listed(statement["Action"])):
        return False
    resources = [r.replace("arn:aws:local:::", "") for r in _listed(statement.get("Resource", "*"))]
    if resource != "*" and not any(fnmatch.fnmatchcase(resource, pattern) for pattern in resources):
        return False
    return _condition_holds(statement.get("Condition", {}), context)


def allowed(
    statements: list[dict[str, Any]], action: str, resource: str, key: str | None,
    context: Context = (), denials: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> bool:  # fmt: skip
    """IAM's decision for one request: an explicit Deny (the resource's own policy) wins,
    else an Allow of the role whose action, resource and conditions all hold."""
    values = {"aws:SecureTransport": ("true",), **dict(context)}  # the SDK speaks HTTPS to AWS
    if key is not None:
        values["dynamodb:LeadingKeys"] = (key,)
    if any(_applies(statement, action, resource, values) for statement in denials):
        return False
    return any(
        _applies(statement, action, resource, values)
        for statement in statements
        if statement.get("Effect") == "Allow"
    )


def denials(stack: EmbeddedStack) -> list[dict[str, Any]]:
    """Deny statements of the buckets' and queues' own policies."""
    assert stack.resolver is not None
    found = []
    for resource in stack.resources.values():
        if resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy"):
            document = resource["Properties"]["PolicyDocument"]
            for statement in stack.resolver.value(document["Statement"]):
                if isinstance(statement, dict) and statement.get("Effect") == "Deny":
                    found.append(statement)
    return found


# Granted (function, action) pairs no handler call of these days needs, and why each stays.
NOT_CALLED_HERE = {
    ("IngestInboundFunction", "dynamodb:DeleteItem"): "a later effectuation retracts a finding "
    "or un-counts a member (tests/integration/test_effectuation.py)",
    (
        "IngestPartFunction",
        "dynamodb:GetItem",
    ): "one set's acknowledgment is written alone and read back",
    (
        "IngestPartFunction",
        "dynamodb:UpdateItem",
    ): "one set's acknowledgment, an acknowledgment's state",
    (
        "ReportFunction",
        "dynamodb:GetItem",
    ): "a set named by an open member but not by the open-set index",
    (
        "ReportFunction",
        "dynamodb:UpdateItem",
    ): "open members' expiry pushed back (30 days before it)",
    ("IngestInboundFunction", "sqs:SendMessage"): "Lambda sends a failed event to the failure "
    "queue with the function's role",
    ("ReportFunction", "sqs:SendMessage"): "Lambda sends a failed run to the failure queue with "
    "the function's role",
    ("IngestPartFunction", "s3:PutObject"): "a part of an insurer's population archives its "
    "codes file (tests/e2e/test_reconciliation.py)",
}
USED_BY_AWS = {
    "kms:Decrypt": "S3, SQS and DynamoDB decrypt with the stack's key on the function's behalf",
    "kms:GenerateDataKey": "S3 and SQS encrypt with the stack's key on the function's behalf",
    "s3:ListBucket": "S3 answers a missing object (the sent marker) with 404 only if it may list",
    "ses:SendRawEmail": "SES v2 SendEmail with raw content is authorized as either action",
    "sqs:ReceiveMessage": "the event source mapping polls the parts queue with the function's role",
    "sqs:DeleteMessage": "the event source mapping deletes what the function processed",
    "sqs:GetQueueAttributes": "the event source mapping reads the parts queue's attributes",
    "sqs:ChangeMessageVisibility": "the event source mapping returns failed parts to the queue",
}
USED: dict[str, set[str]] = defaultdict(set)  # function -> actions called, over every run
GRANTED: dict[str, set[str]] = defaultdict(set)


OWN_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


DAYS = [("outbound", 0, ""), ("inbound", 0, ""), ("inbound", 2048, ""), ("outbound", 2048, OWN_KEY)]


@pytest.mark.parametrize(("first", "part_bytes", "key"), DAYS)
def test_every_action_of_a_day_is_allowed_and_nothing_more_is_granted(
    first: str, part_bytes: int, key: str
) -> None:
    """Both arrival orders: acknowledgments and effectuations first make the 834's ingest
    retract findings (never_sent) and apply stored acknowledgments. With PartBytes small,
    the larger 834s are cut in parts: the parts queue and the part function are used too.
    With KmsKeyArn, the template's other branch: no key of its own, the given one granted."""
    _day_of_calls(first, part_bytes, key)


@functools.cache  # once per test process: the last test needs every day, wherever it runs
def _day_of_calls(first: str, part_bytes: int, key: str) -> None:
    with fresh_stack({"PartBytes": part_bytes, **({"KmsKeyArn": key} if key else {})}) as stack:
        keys_granted = {
            str(statement["Resource"])
            for function in stack.functions
            for statement in statements(stack, function)
            if _listed(statement["Action"])[0].startswith("kms:")
        }
        assert stack.resolver is not None and stack.resolver.condition("CreateKey") == (not key)
        assert len(keys_granted) == 1 and (not key or keys_granted == {key})
        recorder = Recorder(stack)
        day = [*build_day(), File("inbound", "junk.x12", b"not an acknowledgment")]  # quarantined
        for direction in (
            ("outbound", "inbound") if first == "outbound" else ("inbound", "outbound")
        ):
            for file in day:
                if file.folder == direction:
                    deliver(stack, file)
        assert stack.run_schedule(AS_OF).ok
        denied = []
        refusals = denials(stack)
        assert refusals  # the TLS-only policies are taken into account
        for function, calls in recorder.calls.items():
            granted = statements(stack, function)
            denied += [
                (function, *call)
                for call in sorted(calls, key=str)
                if not allowed(granted, *call, recorder.contexts[(function, *call)], refusals)
            ]
            USED[function] |= {action for action, _, _ in calls}
        for function in stack.functions:
            GRANTED[function] |= {
                action
                for statement in statements(stack, function)
                if statement.get("Effect") == "Allow"
                for action in _listed(statement["Action"])
            }
        assert denied == []
        used = {(f, action) for f, calls in recorder.calls.items() for action, _, _ in calls}
        parts = "IngestPartFunction" if part_bytes else "IngestOutboundFunction"
        if first == "inbound":
            assert (parts, "dynamodb:DeleteItem") in used  # a finding retracted
        if part_bytes:
            assert ("IngestOutboundFunction", "sqs:SendMessage") in used
            assert {a for f, a in used if f == "IngestPartFunction"} >= {
                "s3:GetObjectVersion",  # a part reads the version its order names
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


def test_every_permission_granted_is_used_or_used_by_aws_for_the_function() -> None:
    """After the runs above: a grant no handler call needed is either one AWS itself uses
    on the function's behalf (listed with its reason) or a permission to remove."""
    for day in DAYS:
        _day_of_calls(*day)
    unused = sorted(
        (function, action)
        for function, actions in GRANTED.items()
        for action in actions
        if action not in USED[function]
    )
    FIGURES["permissions_granted"] = sum(len(actions) for actions in GRANTED.values())
    FIGURES["permissions_unused_by_handlers"] = len(unused)
    unexplained = [
        f"{f} {a}" for f, a in unused if a not in USED_BY_AWS and (f, a) not in NOT_CALLED_HERE
    ]
    assert unexplained == [], "\n".join(unexplained)


def test_a_request_against_the_policies_is_decided_as_iam_would() -> None:
    """The evaluator itself: Deny wins, conditions hold or not, unknown keys are refused."""
    allow = [{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
              "Condition": {"StringEquals": {"ses:FromAddress": "a@x"},
                            "ForAllValues:StringEquals": {"ses:Recipients": ["b@x", "c@x"]}}}]  # fmt: skip
    sender = ("ses:FromAddress", ("a@x",))
    assert allowed(allow, "ses:SendEmail", "r", None, (sender, ("ses:Recipients", ("b@x",))))
    assert not allowed(
        allow, "ses:SendEmail", "r", None, (sender, ("ses:Recipients", ("b@x", "z@x")))
    )
    assert not allowed(allow, "ses:SendEmail", "r", None,
                       (("ses:FromAddress", ("z@x",)), ("ses:Recipients", ("b@x",))))  # fmt: skip
    tls = [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]  # fmt: skip
    grant = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]
    assert allowed(grant, "s3:GetObject", "arn:aws:s3:::b/k", None, (), tls)
    everything = [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]
    assert not allowed(grant, "s3:GetObject", "arn:aws:s3:::b/k", None, (), everything)
    with pytest.raises(UnknownCondition):
        allowed([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                  "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}],
                "s3:GetObject", "x", None)  # fmt: skip
