"""The EventBridge bus events are published on (``domain.events``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from acktrack.aws import clients
from acktrack.domain.events import SOURCE, Published

ENTRIES = 10  # PutEvents takes 10 entries a request
REQUEST_BYTES = 256 * 1024  # and 256 KiB


class EventBridgeSink:
    def __init__(self, bus_name: str) -> None:
        self.bus_name = bus_name

    def publish(self, events: Sequence[Published]) -> list[str]:
        """Send ``events``; the ids of those the bus refused (sent again next time)."""
        failed: list[str] = []
        for chunk in _chunks(events):
            entries = [self._entry(event) for event in chunk]
            answer = clients.events().put_events(Entries=entries)
            if answer.get("FailedEntryCount"):
                failed += [event.event_id for event, result in zip(chunk, answer["Entries"], strict=False)
                           if result.get("ErrorCode")]  # fmt: skip
        return failed

    def _entry(self, event: Published) -> dict[str, Any]:
        entry: dict[str, Any] = {"Source": SOURCE, "DetailType": event.detail_type,
                                 "Detail": event.to_json(), "EventBusName": self.bus_name}  # fmt: skip
        if event.at:
            entry["Time"] = datetime.fromisoformat(event.at.replace("Z", "+00:00"))
        return entry


def _chunks(events: Sequence[Published]) -> list[list[Published]]:
    chunks: list[list[Published]] = [[]]
    size = 0
    for event in events:
        weight = len(event.to_json()) + len(event.detail_type) + len(SOURCE) + 64
        if len(chunks[-1]) == ENTRIES or (chunks[-1] and size + weight > REQUEST_BYTES):
            chunks.append([])
            size = 0
        chunks[-1].append(event)
        size += weight
    return [chunk for chunk in chunks if chunk]
