"""IAM's decision for a request, as the permission tests need it: the requests a function
makes (recorded with botocore hooks on the handlers' own clients, and the KMS requests
services make with its role), its role's statements resolved from the transformed
template, and the evaluator: action, resource ARN with IAM's wildcards, conditions, the
resources' own Deny statements."""

from __future__ import annotations

import os
import re
from collections import defaultdict
from typing import Any

from acktrack.aws import clients
from acktrack.handlers import wiring
from acktrack.local.stack import EmbeddedStack

_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# IAM's names for S3 operations (a multipart upload is authorized as s3:PutObject).
_S3_ACTIONS = {"GetObject": ["s3:GetObject"], "HeadObject": ["s3:GetObject"], "PutObject": ["s3:PutObject"],
               "PutObjectTagging": ["s3:PutObjectTagging"], "CopyObject": ["s3:PutObject"],
               "CreateMultipartUpload": ["s3:PutObject"], "UploadPart": ["s3:PutObject"],
               "CompleteMultipartUpload": ["s3:PutObject"],
               "AbortMultipartUpload": ["s3:AbortMultipartUpload"],
               "ListObjectsV2": ["s3:ListBucket"], "ListObjects": ["s3:ListBucket"]}  # fmt: skip
# What the service asks KMS for, with the caller's role, when the data is under a KMS key.
_S3_KMS = {"s3:GetObject": ["kms:Decrypt"], "s3:GetObjectVersion": ["kms:Decrypt"],
           "s3:PutObject": ["kms:GenerateDataKey"]}  # fmt: skip
OPERATOR = "operator"  # acktrack resolve, with the operator's own credentials
STACK_KEY = "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555"
OWN_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"

Context = tuple[tuple[str, tuple[str, ...]], ...]  # condition key -> the request's values
Call = tuple[str, str, str | None]  # action, resource ARN, partition key (or None)


def _queried_partition(params: dict[str, Any]) -> str | None:
    """The partition key value a Query's KeyConditionExpression names (``#n = :v``)."""
    names = {
        placeholder: name
        for placeholder, name in params.get("ExpressionAttributeNames", {}).items()
    }
    for left, right in re.findall(
        r"(#?\w+)\s*=\s*(:\w+)", params.get("KeyConditionExpression", "")
    ):
        if names.get(left, left) in ("pk",):
            value = params.get("ExpressionAttributeValues", {}).get(right, {})
            return str(value.get("S")) if "S" in value else None
    return None


def iam_like(pattern: str, value: str) -> bool:
    """IAM's wildcards, in a Resource or a StringLike/ArnLike value: ``*`` any run of
    characters (a slash too), ``?`` one; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.S) is not None


class Recorder:
    """(action, resource ARN, partition key or None) per request, by the function running
    (AWS_LAMBDA_FUNCTION_NAME, which the local stack sets as Lambda does; none: the
    operator). ``keys``: the KMS key of each bucket, queue and secret, for the requests the
    service makes to KMS with the caller's role."""

    def __init__(self, stack: EmbeddedStack, keys: dict[str, str]) -> None:
        self.stack, self.keys = stack, keys
        self.by_name = {function.name: logical for logical, function in stack.functions.items()}
        self.calls: dict[str, set[Call]] = defaultdict(set)
        self.contexts: dict[tuple[str, str, str, str | None], Context] = {}
        wiring.repository().client.meta.events.register(
            "before-parameter-build.dynamodb", self._dynamodb
        )
        clients.s3().meta.events.register("before-parameter-build.s3", self._s3)
        clients.ses().meta.events.register("before-parameter-build.sesv2", self._ses)
        clients.stepfunctions().meta.events.register("before-parameter-build.sfn", self._sfn)
        clients.secretsmanager().meta.events.register(
            "before-parameter-build.secrets-manager", self._secret
        )
        clients.events().meta.events.register("before-parameter-build.events", self._events)

    def _events(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        # PutEvents is authorized on each entry's bus.
        for entry in params.get("Entries", []):
            bus = entry.get("EventBusName", "default")
            self._add(f"events:{model.name}",
                      bus if bus.startswith("arn:") else f"arn:aws:events:us-east-1:123456789012:event-bus/{bus}")  # fmt: skip

    def _add(
        self, action: str, resource: str, key: str | None = None, context: Context = ()
    ) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        principal = self.by_name[name] if name else OPERATOR
        self.calls[principal].add((action, resource, key))
        self.contexts[(principal, action, resource, key)] = context

    def _kms(self, actions: list[str], encrypted: str) -> None:
        key = self.keys.get(encrypted)
        for action in actions if key else []:
            self._add(action, key)  # type: ignore[arg-type]

    def _secret(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._add(f"secretsmanager:{model.name}", params["SecretId"])
        self._kms(["kms:Decrypt"], params["SecretId"])

    def _sfn(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        # StartExecution is authorized on the state machine's ARN.
        self._add(f"states:{model.name}", params["stateMachineArn"])

    def _table(self, name: str, index: str | None = None) -> str:
        arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    def _dynamodb(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((kind, body),) = entry.items()
                item = body["Item"] if kind == "Put" else body["Key"]  # a Put names no Key
                self._add(
                    f"dynamodb:{_ITEM_ACTIONS[kind]}",
                    self._table(body["TableName"]),
                    item["pk"]["S"],
                )
        elif model.name in ("BatchWriteItem", "BatchGetItem"):
            # IAM decides dynamodb:LeadingKeys on each item's partition key.
            for table, requests in params["RequestItems"].items():
                items = requests["Keys"] if model.name == "BatchGetItem" else [
                    (request.get("PutRequest", {}).get("Item") or request["DeleteRequest"]["Key"])
                    for request in requests]  # fmt: skip
                for item in items:
                    self._add(f"dynamodb:{model.name}", self._table(table), item["pk"]["S"])
        else:
            key = params.get("Key", {}).get("pk", {}).get("S")
            if model.name == "PutItem":
                key = params["Item"]["pk"]["S"]
            if model.name == "Query":  # the partition its key condition names
                key = _queried_partition(params)
            self._add(
                f"dynamodb:{model.name}",
                self._table(params["TableName"], params.get("IndexName")),
                key,
            )

    def _s3(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        # IAM's names: a read of one version is s3:GetObjectVersion; tags set on a copy
        # need s3:PutObjectTagging as well; a listing is on the bucket, with its prefix.
        bucket = params["Bucket"]
        actions = list(_S3_ACTIONS.get(model.name, [f"s3:{model.name}"]))
        if params.get("VersionId"):
            actions = ["s3:GetObjectVersion" if a == "s3:GetObject" else a for a in actions]
        if params.get("Tagging"):
            actions.append("s3:PutObjectTagging")
        for action in actions:
            if action == "s3:ListBucket":
                self._add(action, f"arn:aws:s3:::{bucket}", None,
                          (("s3:prefix", (params.get("Prefix", ""),)),))  # fmt: skip
                continue
            self._add(action, f"arn:aws:s3:::{bucket}/{params.get('Key', '')}")
            if model.name != "HeadObject":  # a HEAD decrypts nothing
                self._kms(_S3_KMS.get(action, []), bucket)
        if model.name == "CopyObject":
            source = params["CopySource"]
            if isinstance(source, str):
                path, versioned = source.split("?")[0], "versionId=" in source
            else:
                path, versioned = f"{source['Bucket']}/{source['Key']}", "VersionId" in source
            self._add(
                "s3:GetObjectVersion" if versioned else "s3:GetObject", f"arn:aws:s3:::{path}"
            )
            self._kms(["kms:Decrypt"], path.split("/", 1)[0])

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

    def environment_decrypted(self) -> None:
        """Lambda decrypts a function's environment with its role, under its KmsKeyArn."""
        assert self.stack.resolver is not None
        for function in list(self.calls):
            if function != OPERATOR:
                properties = self.stack.resources[function]["Properties"]
                key = str(self.stack.resolver.value(properties["KmsKeyArn"]))
                self.calls[function].add(("kms:Decrypt", key, None))
                self.contexts[(function, "kms:Decrypt", key, None)] = ()


def encryption_keys(stack: EmbeddedStack) -> dict[str, str]:
    """The KMS key of every bucket (by name), queue (by name) and secret (by ARN)."""
    assert stack.resolver is not None
    keys: dict[str, str] = {}
    for logical, resource in stack.resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::S3::Bucket":
            (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            default = stack.resolver.value(rule["ServerSideEncryptionByDefault"])
            if default["SSEAlgorithm"] == "aws:kms":
                keys[stack.resolver.names[logical]] = str(default["KMSMasterKeyID"])
        elif resource["Type"] == "AWS::SQS::Queue" and "KmsMasterKeyId" in properties:
            keys[stack.resolver.names[logical]] = str(
                stack.resolver.value(properties["KmsMasterKeyId"])
            )
        elif resource["Type"] == "AWS::SecretsManager::Secret" and "KmsKeyId" in properties:
            keys[stack.resolver.names[logical]] = str(stack.resolver.value(properties["KmsKeyId"]))
    return keys


def statements(stack: EmbeddedStack, function: str) -> list[dict[str, Any]]:
    """The role's statements, resolved; each with a Sid (SAM's own policies have none: the
    policy's name then)."""
    assert stack.resolver is not None
    role = stack.resources[f"{function}Role"]["Properties"]
    found = []
    for policy in role.get("Policies", []):
        for statement in stack.resolver.value(policy["PolicyDocument"]["Statement"]):
            if isinstance(statement, dict):
                found.append({"Sid": policy["PolicyName"], **statement})
    return found


def listed(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


class UnknownCondition(AssertionError):
    """A policy tests a condition key this evaluator does not know: teach it, do not guess."""


def _condition_holds(condition: dict[str, Any], context: dict[str, tuple[str, ...]]) -> bool:
    """IAM's condition operators the template uses, on the request's values."""
    for operator, tests in condition.items():
        qualifier, _, test = operator.rpartition(":")
        for name, expected in tests.items():
            if name not in context:
                raise UnknownCondition(f"{operator} {name}")
            values, patterns = context[name], listed(expected)
            if test == "Bool":
                match = lambda value, pattern: value.lower() == pattern.lower()  # noqa: E731
            elif test in ("StringEquals", "ArnEquals"):
                match = lambda value, pattern: value == pattern  # noqa: E731
            elif test in ("StringLike", "ArnLike"):
                match = lambda value, pattern: iam_like(pattern, value)  # noqa: E731
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
    """The statement's action, resource (its ARN against each Resource, with IAM's
    wildcards) and conditions all hold for the request."""
    if not any(iam_like(pattern, action) for pattern in listed(statement["Action"])):
        return False
    if not any(iam_like(pattern, resource) for pattern in listed(statement["Resource"])):
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


def operator_statements(stack: EmbeddedStack) -> list[dict[str, Any]]:
    """What `acktrack resolve` needs on the table (README, "People, not transactions"):
    read it, and write resolutions in family partitions only."""
    table = f"arn:aws:dynamodb:us-east-1:123456789012:table/{stack.table}"
    return [
        {"Sid": "ReadTheLedger", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"],
         "Resource": table},
        {"Sid": "RecordResolutions", "Effect": "Allow", "Action": "dynamodb:PutItem",
         "Resource": table,
         "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["FAM#*"]}}},
    ]  # fmt: skip
