"""Publishing the outbox and announcing the report's findings (``ingest.publish``), on
in-memory fakes of the outbox and the bus: nothing is taken out before the bus has it, a
refused event goes again with the same id, and a report run twice announces once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from acktrack.domain.events import EventType, Notice, Published
from acktrack.domain.hashing import Keyring
from acktrack.domain.ports import PendingEvents
from acktrack.ingest.publish import announce, publish_pending

KEYRING = Keyring.of(b"k" * 40)


class MemoryOutbox:
    """The outbox and the announced states as the table keeps them (conditions included)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], list[Notice]] = {}
        self.states: dict[str, str] = {}
        self.reads = 0

    def add(self, *notices: Notice) -> None:
        self.items[("OUT#00", f"{len(self.items):06d}")] = list(notices)

    def pending_events(self, limit: int, start: int = 0) -> Iterator[PendingEvents]:
        """Read lazily, as the table's pages are: ``reads`` counts what was read."""
        for key, notices in sorted(self.items.items())[:limit]:
            self.reads += 1
            yield PendingEvents(key, list(notices))

    def events_published(self, done: Sequence[tuple[str, str]]) -> None:
        for key in done:
            self.items.pop(key, None)

    def announced(self) -> dict[str, str]:
        return dict(self.states)

    def announce(self, key: str, before: str | None, fingerprint: str, notice: Notice | None,
                 at: str) -> bool:  # fmt: skip
        if self.states.get(key) != before:
            return False  # another run moved it first
        self.states[key] = fingerprint
        if notice is not None:
            self.add(notice)
        return True


class MemoryBus:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.events: list[Published] = []
        self.refuse = refuse or set()

    def publish(self, events: Sequence[Published]) -> list[str]:
        self.events += [event for event in events if event.event_id not in self.refuse]
        return [event.event_id for event in events if event.event_id in self.refuse]


def _notice(number: int, kind: EventType = EventType.PERSON_CONFIRMED) -> Notice:
    return Notice(kind, f"set-{number}", "2024-01-02T00:00:00Z",
                  {"insurer": "PLAN01", "people": number}, f"GS#{number}")  # fmt: skip


def test_published_events_leave_the_outbox_and_refused_ones_stay_for_the_next_run() -> None:
    outbox, bus = MemoryOutbox(), MemoryBus(refuse={_notice(2).event_id})
    outbox.add(_notice(1))
    outbox.add(_notice(2), _notice(3))  # one item: it stays whole while one of it is refused
    done = publish_pending(outbox, bus, KEYRING)
    assert done.published == 2 and done.refused == 1 and done.more
    assert [key for key, _ in outbox.items.items()] == [("OUT#00", "000001")]
    bus.refuse.clear()
    again = publish_pending(outbox, bus, KEYRING)
    assert again.published == 2 and not outbox.items
    ids = [event.event_id for event in bus.events]
    assert ids.count(_notice(3).event_id) == 2  # sent twice, with the same id: consumers act once
    assert ids.count(_notice(2).event_id) == 1


def test_an_event_a_bug_made_unfit_stays_and_the_others_go() -> None:
    outbox, bus = MemoryOutbox(), MemoryBus()
    outbox.add(Notice(EventType.PERSON_CONFIRMED, "x", "t", {"name": "SMITH"}))
    outbox.add(_notice(1))
    done = publish_pending(outbox, bus, KEYRING)
    assert done.unpublishable == 1 and done.published == 1
    assert len(outbox.items) == 1 and "SMITH" not in str([e.detail for e in bus.events])


def test_an_item_this_version_cannot_read_stays_and_stops_nothing() -> None:
    """An event type unknown here (written before a rollback): the item is kept (it expires),
    the others are published, and the next run does the same."""

    class Unreadable(MemoryOutbox):
        def pending_events(self, limit: int, start: int = 0) -> Iterator[PendingEvents]:
            yield PendingEvents(("OUT#00", "0"), [], unreadable=1)
            yield from super().pending_events(limit, start)

        def events_published(self, done: Sequence[tuple[str, str]]) -> None:
            assert ("OUT#00", "0") not in done
            super().events_published(done)

    outbox, bus = Unreadable(), MemoryBus()
    outbox.add(_notice(1))
    for _ in range(2):
        done = publish_pending(outbox, bus, KEYRING)
        assert done.unpublishable == 1
    assert [event.event_id for event in bus.events] == [_notice(1).event_id]


def test_a_run_takes_a_bounded_share_and_says_there_is_more() -> None:
    outbox, bus = MemoryOutbox(), MemoryBus()
    for number in range(30):
        outbox.add(_notice(number))
    done = publish_pending(outbox, bus, KEYRING, items=10)
    assert done.published == 10 and done.more and len(outbox.items) == 20


def test_a_run_that_reaches_its_events_reads_no_further() -> None:
    """Items of 98 events each (a 999's transaction): a run that may send 1,000 events reads
    the items it sends and one more, not its whole share."""
    outbox, bus = MemoryOutbox(), MemoryBus()
    for number in range(100):
        outbox.add(*(_notice(number * 100 + n) for n in range(98)))
    done = publish_pending(outbox, bus, KEYRING, items=100, events=1_000)
    assert done.more and 1_000 <= done.published <= 1_000 + 500
    assert outbox.reads <= done.items_read + 1 < 100


def _report(overdue: int, gaps: list[int]) -> dict[str, Any]:
    return {"as_of": "2024-01-20T07:00:00+00:00",
            "by_partner": [{"partner": "PLAN01", "pending_overdue": overdue}],
            "control_gaps": [{"partner": "PLAN01", "direction": "inbound", "level": "interchange",
                              "missing": gaps, "since": "t"}] if gaps else []}  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.lists(st.integers(1, 6), max_size=3, unique=True)),
                min_size=1, max_size=6),
       st.integers(1, 3))  # fmt: skip
def test_a_report_run_again_announces_nothing_more(
    runs: list[tuple[int, list[int]]], repeats: int
) -> None:
    """Each day's report run ``repeats`` times (a retried Deliver) writes what it writes once."""
    once, repeated = MemoryOutbox(), MemoryOutbox()
    for overdue, gaps in runs:
        announce(once, _report(overdue, gaps))
        for _ in range(repeats):
            announce(repeated, _report(overdue, gaps))
    assert [n.event_id for _, ns in sorted(once.items.items()) for n in ns] == [
        n.event_id for _, ns in sorted(repeated.items.items()) for n in ns
    ]


def test_a_state_another_run_moved_first_is_not_announced_twice() -> None:
    outbox = MemoryOutbox()
    outbox.states["AcknowledgmentOverdue#PLAN01"] = "3"  # moved meanwhile by a concurrent run
    stale = MemoryOutbox()
    written = announce(_Stale(outbox, stale.announced()), _report(5, []))
    assert written == 0 and not outbox.items


class _Stale(MemoryOutbox):
    """An outbox whose reads are older than its writes (another run wrote in between)."""

    def __init__(self, real: MemoryOutbox, seen: dict[str, str]) -> None:
        super().__init__()
        self.real, self.seen = real, seen

    def announced(self) -> dict[str, str]:
        return self.seen

    def announce(self, key: str, before: str | None, fingerprint: str, notice: Notice | None,
                 at: str) -> bool:  # fmt: skip
        return self.real.announce(key, before, fingerprint, notice, at)
