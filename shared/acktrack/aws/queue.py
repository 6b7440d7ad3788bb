"""The parts queue: orders for the parts of a large file, sent ten at a time."""

from __future__ import annotations

import time
from typing import Any

from acktrack.aws import clients

_BATCH = 10  # SendMessageBatch's limit


class PartQueueError(RuntimeError):
    """SQS kept refusing some orders (the S3 event is retried; orders are idempotent)."""


class SqsPartQueue:
    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, orders: list[dict[str, Any]]) -> None:
        for start in range(0, len(orders), _BATCH):
            entries = [{"Id": order["id"], "MessageBody": order["body"]}
                       for order in orders[start : start + _BATCH]]  # fmt: skip
            for attempt in range(5):
                response = clients.sqs().send_message_batch(QueueUrl=self.url, Entries=entries)  # type: ignore[arg-type]
                failed = {entry["Id"] for entry in response.get("Failed", [])}
                if not failed:
                    break
                entries = [entry for entry in entries if entry["Id"] in failed]
                time.sleep(0.1 * 2**attempt)
            else:
                raise PartQueueError(f"{len(entries)} part orders were not accepted by SQS")
