"""Publishing the outbox (``domain.events``), and announcing what the report found.

The publisher reads what the outbox holds, sends it to the bus, and takes out what the bus
took. Nothing is taken out before the bus has it: an event the bus refused, or one of an
invocation that stopped half-way, is sent again by the next run, with the same id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from acktrack.domain.events import (
    Published,
    announcements,
    published,
    to_announce,
    with_previous,
)
from acktrack.domain.hashing import Keyring
from acktrack.domain.ports import EventSink, Outbox, PendingEvents

log = logging.getLogger("acktrack.events")

ITEMS = 2_000  # outbox items read by one run (a 999's transaction writes one of up to 98 sets)
EVENTS = 20_000  # events sent by one run, about (2,000 PutEvents requests)


@dataclass(slots=True)
class Publishing:
    """What one run did (logged: counts and types only)."""

    published: int = 0
    refused: int = 0
    unpublishable: int = 0  # events a bug made unfit for the bus: kept, logged
    by_type: dict[str, int] = field(default_factory=dict)
    more: bool = False  # the outbox held more than one run takes
    items_read: int = 0

    def to_log(self) -> dict[str, Any]:
        return {"published": self.published, "refused": self.refused,
                "unpublishable": self.unpublishable, "by_type": dict(sorted(self.by_type.items())),
                "items_read": self.items_read, "more": self.more}  # fmt: skip


def publish_pending(
    outbox: Outbox, sink: EventSink, keyring: Keyring, *, items: int = ITEMS,
    events: int = EVENTS, start: int = 0, time_left: Callable[[], bool] = lambda: True,
) -> Publishing:  # fmt: skip
    """One pass over the outbox, from shard ``start`` on (the handler picks it at random, so
    that no shard waits behind another's backlog whatever the schedule): each item's events
    sent, then the item taken out. The outbox is read as the events go, so a run that stops
    at ``events`` has read only what it sent."""
    done = Publishing()
    pending = iter(outbox.pending_events(items, start))
    waiting = next(pending, None)
    while waiting is not None and time_left() and done.published < events:
        batch: list[PendingEvents] = []
        count = 0
        while waiting is not None and (not batch or count + len(waiting.notices) <= 500):
            batch.append(waiting)
            count += len(waiting.notices)
            waiting = next(pending, None)
        if not _send(batch, outbox, sink, keyring, done):
            done.more = True  # refused: the next run sends them again
            break
    done.more = done.more or waiting is not None or done.items_read >= items
    return done


def _send(batch: list[PendingEvents], outbox: Outbox, sink: EventSink, keyring: Keyring,
          done: Publishing) -> bool:  # fmt: skip
    """Send one batch of items' events and take out the items the bus took all of (False:
    the bus refused some; the next run tries again)."""
    done.items_read += len(batch)
    ready: list[tuple[tuple[str, str], list[Published]]] = []
    for item in batch:
        if item.unreadable:  # written by another version of acktrack: kept (it expires)
            done.unpublishable += item.unreadable
            log.error("an outbox item cannot be read", extra={"notices": item.unreadable})
            continue
        try:
            ready.append((item.key, [published(notice, keyring) for notice in item.notices]))
        except ValueError as error:  # a bug: the item stays (and expires), the rest go on
            done.unpublishable += len(item.notices)
            log.error("an outbox item cannot be published", extra={"reason": str(error)})
    sending = [event for _, ones in ready for event in ones]
    refused = set(sink.publish(sending))
    outbox.events_published([key for key, ones in ready
                             if not any(e.event_id in refused for e in ones)])  # fmt: skip
    done.refused += len(refused)
    for event in sending:
        if event.event_id not in refused:
            done.published += 1
            done.by_type[event.detail_type] = done.by_type.get(event.detail_type, 0) + 1
    return not refused


def announce(outbox: Outbox, report: Mapping[str, Any]) -> int:
    """The report's findings that changed since they were last announced: their events go
    in the outbox with the new state, once (a retried report finds the state moved).
    Returns how many events were written."""
    found = announcements(report)
    known = outbox.announced()
    written = 0
    at = str(report.get("as_of") or "")
    for one, before in to_announce(found, known, cleared=list(known)):
        notice = with_previous(one, before)
        if outbox.announce(one.key, before, one.fingerprint, notice, at) and notice is not None:
            written += 1
    return written
