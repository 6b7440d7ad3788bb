"""The parts queue: orders for the parts of a large file, up to ten a SendMessageBatch and
never more than SQS's 256 KiB a batch (an order is a few hundred bytes: its job holds the
file's plan; a cut's envelope and set header are bounded by ``x12.limits``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from acktrack.aws import clients

_BATCH = 10  # SendMessageBatch's limit
BATCH_BYTES = 256 * 1024  # SQS: a message, and a batch's messages together, at most this


class PartQueueError(RuntimeError):
    """SQS kept refusing some orders (the S3 event is retried; orders are idempotent)."""


def batches(orders: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """The orders in batches of at most ten and at most 256 KiB of bodies."""
    batch: list[dict[str, Any]] = []
    size = 0
    for order in orders:
        length = len(order["body"].encode())
        if length > BATCH_BYTES:
            raise PartQueueError(f"a part order of {length:,} bytes is over SQS's limit")
        if batch and (len(batch) == _BATCH or size + length > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(order)
        size += length
    if batch:
        yield batch


class SqsPartQueue:
    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, orders: list[dict[str, Any]]) -> None:
        for batch in batches(orders):
            entries = [{"Id": order["id"], "MessageBody": order["body"]} for order in batch]
            for attempt in range(5):
                response = clients.sqs().send_message_batch(QueueUrl=self.url, Entries=entries)  # type: ignore[arg-type]
                failed = {entry["Id"] for entry in response.get("Failed", [])}
                if not failed:
                    break
                entries = [entry for entry in entries if entry["Id"] in failed]
                time.sleep(0.1 * 2**attempt)
            else:
                raise PartQueueError(f"{len(entries)} part orders were not accepted by SQS")
