"""The file workflow: the parts of a file too large for one invocation, run by Step
Functions. The orders go to the work area as one JSON list (the Distributed Map's
ItemReader reads it); the execution is named after the job, so a second start of the
same job (S3 delivers an event more than once) starts nothing new."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from acktrack.aws import clients

ORDERS_PREFIX = "work/parts/"  # the reports bucket's work area: expires after 7 days


class StepFunctionsPartWorkflow:
    def __init__(self, state_machine_arn: str, bucket: str, concurrency: int) -> None:
        self.arn, self.bucket, self.concurrency = state_machine_arn, bucket, concurrency

    def start(self, job: str, kind: str, orders: list[str]) -> None:
        key = f"{ORDERS_PREFIX}{job}.json"
        body = "[" + ",".join(orders) + "]"  # each order is JSON already
        s3 = clients.s3()
        try:  # written once: a running workflow never reads orders changed under it
            s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode(),
                          ContentType="application/json", IfNoneMatch="*")  # fmt: skip
        except s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise
        payload: dict[str, Any] = {"job": job, "kind": kind, "parts": len(orders),
                                   "orders": {"bucket": self.bucket, "key": key},
                                   "concurrency": self.concurrency}  # fmt: skip
        sfn = clients.stepfunctions()
        # An earlier delivery of the same file started it: it runs (or ran) once.
        with contextlib.suppress(sfn.exceptions.ExecutionAlreadyExists):
            sfn.start_execution(stateMachineArn=self.arn, name=job, input=json.dumps(payload))
