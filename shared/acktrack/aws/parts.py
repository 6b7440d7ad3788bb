"""The file workflow: the parts of a file too large for one invocation, run by Step
Functions. The orders go to the work area as one JSON list (the Distributed Map's
ItemReader reads it); the execution is named after the job, so a second start of the
same job (S3 delivers an event more than once) starts nothing new. A file split before it
is cut (a reconciliation extract) leaves its pieces beside the orders, one per part."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from acktrack.aws import clients

ORDERS_PREFIX = "work/parts/"  # the reports bucket's work area: expires after 7 days


def _put_once(bucket: str, key: str, body: bytes, content_type: str) -> None:
    """Written once: a running workflow never reads an object changed under it (a second
    write, by a redelivered event, would write the same bytes)."""
    s3 = clients.s3()
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type,
                      IfNoneMatch="*")  # fmt: skip
    except s3.exceptions.ClientError as error:
        # 409: another delivery's write of the same bytes is under way.
        if error.response.get("Error", {}).get("Code") not in (
            "PreconditionFailed",
            "ConditionalRequestConflict",
        ):
            raise


class StepFunctionsPartWorkflow:
    def __init__(self, state_machine_arn: str, bucket: str, concurrency: int) -> None:
        self.arn, self.bucket, self.concurrency = state_machine_arn, bucket, concurrency

    def start(self, job: str, kind: str, orders: list[str]) -> None:
        key = f"{ORDERS_PREFIX}{job}.json"
        body = "[" + ",".join(orders) + "]"  # each order is JSON already
        _put_once(self.bucket, key, body.encode(), "application/json")
        payload: dict[str, Any] = {"job": job, "kind": kind, "parts": len(orders),
                                   "orders": {"bucket": self.bucket, "key": key},
                                   "concurrency": self.concurrency}  # fmt: skip
        sfn = clients.stepfunctions()
        # An earlier delivery of the same file started it: it runs (or ran) once.
        with contextlib.suppress(sfn.exceptions.ExecutionAlreadyExists):
            sfn.start_execution(stateMachineArn=self.arn, name=job, input=json.dumps(payload))


class S3PartPieces:
    """A split file's pieces under its job's orders (``work/parts/<job>/``)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    @staticmethod
    def key(job: str, index: int) -> str:
        return f"{ORDERS_PREFIX}{job}/piece-{index + 1:05d}.json.gz"

    def put_piece(self, job: str, index: int, body: bytes) -> None:
        _put_once(self.bucket, self.key(job, index), body, "application/gzip")

    def read_piece(self, job: str, index: int) -> bytes:
        answer = clients.s3().get_object(Bucket=self.bucket, Key=self.key(job, index))
        body: bytes = answer["Body"].read()
        return body
