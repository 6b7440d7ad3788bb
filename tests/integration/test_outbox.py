"""The outbox on DynamoDB (moto): a run reads from a rotating first shard, and a page at a
time as it publishes, so a backlog in one shard delays no other and a run that stops early
reads no more."""

from __future__ import annotations

from datetime import UTC, datetime

from acktrack.domain.events import EventType, Notice
from acktrack.handlers import wiring
from acktrack.local.stack import EmbeddedStack
from acktrack.store.models import OutboxItem
from acktrack.store.outbox import outbox_item
from tests.integration.conftest import requests

AT = datetime(2024, 1, 2, tzinfo=UTC)


def _item(number: int) -> OutboxItem:
    notice = Notice(EventType.PERSON_CONFIRMED, f"set-{number}", "t", {"people": 1}, f"k{number}")
    return outbox_item([notice], AT)


def test_a_run_starts_where_the_last_one_did_not_and_reads_as_it_goes(
    stack: EmbeddedStack,
) -> None:
    items = [_item(number) for number in range(400)]
    for item in items:
        item.save()
    shards = sorted({item.pk for item in items})
    assert len(shards) == 16
    repository = wiring.repository()
    for start in (0, 5, 15):
        first = next(iter(repository.pending_events(1_000, start)))
        assert first.key[0] == f"OUT#{start:02d}"
    whole = list(repository.pending_events(1_000, 7))
    assert len(whole) == 400 and len({p.key for p in whole}) == 400
    assert [p.key[0] for p in whole][:1] == ["OUT#07"]
    with requests() as calls:
        taken = repository.pending_events(1_000, 3)
        for _ in zip(range(10), taken, strict=False):
            pass
    assert calls["Query"] == 1  # ten items: one page, not the run's whole share
    for number in range(150):  # a backlog in one shard: more than a page of it
        item = _item(1_000 + number)
        OutboxItem("OUT#03", f"9999-{number:04d}", notices=item.notices).save()
    with requests() as calls:
        taken = repository.pending_events(1_000, 3)
        for _ in zip(range(10), taken, strict=False):
            pass
    assert calls["Query"] == 1  # still one page of the shard's 175 items
