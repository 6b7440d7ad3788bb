"""What the embedded stack runs and delivers: a function as the template declares it, its
subscriptions and queue mappings, an invocation's result, the S3 event and a Lambda context."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from acktrack.local.template import ACCOUNT

REGION = "us-east-1"


class _ActiveOutput(io.TextIOBase):
    """Where function output goes now. Log handlers keep the stream they were created with
    (Powertools' handler outlives a stack in the same process), so they get this proxy."""

    target: Any = None

    def write(self, text: str) -> int:
        stream = self.target or sys.__stdout__
        return stream.write(text) if stream is not None else len(text)

    def flush(self) -> None:
        stream = self.target or sys.__stdout__
        if stream is not None:
            stream.flush()


_OUTPUT = _ActiveOutput()
_LOADING = threading.Lock()  # a handler module is loaded once, whichever thread asks first


@dataclass
class LocalFunction:
    logical_id: str
    name: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    retries: int = 2
    failure_queue: str | None = None
    _module: ModuleType | None = None


@dataclass(frozen=True)
class Subscription:
    bucket: str
    function: str
    prefix: str = ""
    suffix: str = ""

    def wants(self, key: str) -> bool:
        return key.startswith(self.prefix) and key.endswith(self.suffix)


@dataclass(frozen=True)
class QueueMapping:
    """An SQS event source: the queue's messages go to a function in batches."""

    queue_url: str
    function: str
    batch_size: int = 10
    partial: bool = False  # the function reports failed messages (ReportBatchItemFailures)


@dataclass
class Invocation:
    function: str
    ok: bool
    result: Any = None
    error: str | None = None
    attempts: int = 1


def s3_event(
    bucket: str, key: str, size: int, etag: str, version: str | None, when: datetime | None = None
) -> dict[str, Any]:
    """An S3 ObjectCreated:Put notification, as Lambda receives it (``when``: its eventTime,
    the object's arrival; default now)."""
    from urllib.parse import quote_plus

    obj: dict[str, Any] = {
        "key": quote_plus(key, safe="/"),
        "size": size,
        "eTag": etag,
        "sequencer": uuid.uuid4().hex[:16],
    }
    if version:
        obj["versionId"] = version
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": (when or datetime.now(UTC))
                .astimezone(UTC)
                .strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
                + "Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": obj,
                },
            }
        ]
    }


def failure_record(
    function: LocalFunction, event: dict[str, Any], error: BaseException, attempts: int
) -> dict[str, Any]:
    """Lambda's on-failure destination record of an asynchronous invocation whose retries
    are exhausted, as Lambda writes it: the event whole, the function and condition, and
    the error as the Python runtime reports it (``errorMessage``, ``errorType``,
    ``stackTrace``: the raised exception's own frames, formatted by ``traceback``)."""
    import traceback

    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if not frame.filename.endswith(("local/stack.py", "local/functions.py"))]  # fmt: skip
    request = str(uuid.uuid4())
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {
            "requestId": request,
            "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.name}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": request,
            "stackTrace": traceback.format_list(frames),
        },
    }


class _Context:
    """The parts of a Lambda context the handlers and Powertools read."""

    def __init__(self, function: LocalFunction) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = function.memory
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@contextlib.contextmanager
def function_environment(
    function: LocalFunction, output: Any, environment: dict[str, str] | None = None
) -> Iterator[None]:
    """A function's environment while its handler runs (as its own container), its output
    (logs and EMF metrics) to ``output``, never stdout."""
    from acktrack.handlers import wiring

    environment = {
        **(environment or function.environment),
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
    }  # as Lambda sets
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    wiring.reset_settings()  # a warm container: clients stay, settings follow the function
    # Logger objects outlive a stack in one process: give them this function's level.
    service = function.environment.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
    logging.getLogger(service).setLevel(function.environment.get("POWERTOOLS_LOG_LEVEL", "INFO"))
    previous, _OUTPUT.target = _OUTPUT.target, output
    try:
        with contextlib.redirect_stdout(_OUTPUT), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        _OUTPUT.target = previous
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        wiring.reset_settings()


def sqs_event(mapping: QueueMapping, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda's SQS event source hands the function for these messages."""
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{mapping.queue_url.rsplit('/', 1)[-1]}"
    return {"Records": [
        {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
         "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
         "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": REGION}
        for m in messages
    ]}  # fmt: skip


def settle_messages(
    sqs: Any, mapping: QueueMapping, messages: list[dict[str, Any]], invocation: Invocation
) -> None:
    """What the event source does after the invocation: deletes what succeeded, makes the
    failed visible again at once (its visibility timeout taken as passed)."""
    failed = {m["MessageId"] for m in messages} if not invocation.ok else set()
    if invocation.ok and mapping.partial and isinstance(invocation.result, dict):
        failed = {f.get("itemIdentifier") for f in invocation.result.get("batchItemFailures", [])}
    for message in messages:
        handle = message["ReceiptHandle"]
        try:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=mapping.queue_url,
                                              ReceiptHandle=handle, VisibilityTimeout=0)  # fmt: skip
            else:
                sqs.delete_message(QueueUrl=mapping.queue_url, ReceiptHandle=handle)
        except sqs.exceptions.ReceiptHandleIsInvalid:
            pass  # another worker received it again meanwhile (at least once): it settles it
