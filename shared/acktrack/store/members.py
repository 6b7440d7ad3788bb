"""Member items: written 25 at a time from a few threads, with back-off and every
UnprocessedItem retried; read back as the domain's sent members and insurer records."""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from pynamodb.models import Model

from acktrack.domain.family import EffectuationRecord, SentMember
from acktrack.domain.hashing import person_tokens
from acktrack.domain.tracked import (
    InsurerMember,
    TrackedMember,
    iso,
)
from acktrack.store import keys
from acktrack.store.dynamo import StoreError
from acktrack.store.models import (
    EffectuationItem,
    MemberItem,
    RosterItem,
    pack_hashes,
)

BATCH = 25  # BatchWriteItem's limit


class MemberWriter:
    """Buffers member items and writes them 25 at a time from a small thread pool."""

    def __init__(
        self,
        threads: int,
        deadline_seconds: float = 600.0,
        retention_days: int = 0,
        arrived_at: datetime | None = None,
    ) -> None:
        # Retention counts from the file's arrival, never from its envelope's date.
        self._expires = expiry(iso(arrived_at or datetime.now(UTC)), retention_days)
        # The writers start in this thread's context (the local stack's request trace follows).
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="acktrack-writer",
                                        initializer=enter_context,
                                        initargs=(contextvars.copy_context(),))  # fmt: skip
        self._threads = threads
        self._buffer: list[dict[str, Any]] = []
        self._pending: deque[Future[int]] = deque()
        self._deadline = deadline_seconds
        self.written = 0
        self.requests = 0
        self._lock = threading.Lock()

    def add(self, member: TrackedMember) -> None:
        item = _member_item(member)
        item.expires = self._expires
        self.add_item(item)

    def add_family(self, our: str, partner: str, subscriber_id: str) -> None:
        """The family in the insurer's roster (once per file that names it: the same item,
        its expiry pushed on with the family's members)."""
        pk, sk = keys.roster_key(our, partner, subscriber_id)
        self.add_item(RosterItem(pk, sk, subscriber_id=subscriber_id, expires=self._expires))

    def add_insurer_member(self, member: InsurerMember) -> None:
        """An insurer's record of one member, in its family's partition."""
        self.add_item(
            EffectuationItem(
                keys.family_pk(member.our_id, member.partner, member.subscriber_id),
                f"E#{member.record_id}",
                our_id=member.our_id,
                partner=member.partner,
                record_id=member.record_id,
                at=member.at,
                subscriber_id=member.subscriber_id,
                member_id=member.member_id,
                subscriber_indicator=member.subscriber_indicator,
                relationship=member.relationship,
                maintenance_type=member.maintenance_type,
                coverages=member.coverages,
                carrier_member_id=member.carrier_member_id,
                policy_ids=member.policy_ids,
                source_key=member.source_key,
                demographic_hashes=pack_hashes(member.hashes),
            )
        )

    def add_item(self, item: Model) -> None:
        """Any item of the table (members, effectuation records) goes out in the same batches."""
        if isinstance(item, EffectuationItem):
            item.expires = self._expires
        self._buffer.append(item.serialize())
        if len(self._buffer) == BATCH:
            self._submit()

    def _submit(self) -> None:
        batch, self._buffer = self._buffer, []
        self._pending.append(self._pool.submit(self._write, batch))
        while len(self._pending) > 4 * self._threads:  # bounded memory: wait for the oldest
            self.written += self._pending.popleft().result()

    def _write(self, batch: list[dict[str, Any]]) -> int:
        connection = MemberItem._get_connection()
        started = time.monotonic()
        delay = 0.05
        items = batch
        while True:
            with self._lock:
                self.requests += 1
            response = connection.batch_write_item(put_items=items)
            unprocessed = (
                (response or {}).get("UnprocessedItems", {}).get(MemberItem.Meta.table_name, [])
            )
            if not unprocessed:
                return len(batch)
            if time.monotonic() - started > self._deadline:
                raise StoreError(
                    f"{len(unprocessed)} member items still unprocessed after {self._deadline:.0f} s"
                )
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)
            items = [entry["PutRequest"]["Item"] for entry in unprocessed]

    def close(self) -> None:
        try:
            if self._buffer:
                self._submit()
            while self._pending:
                self.written += self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> MemberWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._pool.shutdown(wait=True, cancel_futures=True)


def enter_context(context: contextvars.Context) -> None:
    """A pool thread's start: the context variables of the thread that made the pool."""
    for variable, value in context.items():
        variable.set(value)


def _member_item(member: TrackedMember) -> MemberItem:
    set_pk, set_sk = keys.of_set(member.set_version)
    item = MemberItem(
        *keys.of_member(member),
        set_pk=set_pk,
        set_sk=set_sk,
        set_id=member.set_id,
        our_id=member.our_id,
        partner=member.partner,
        sent_at=member.sent_at,
        ordinal=member.ordinal,
        first_position=member.first_position,
        last_position=member.last_position,
        subscriber_indicator=member.subscriber_indicator,
        relationship=member.relationship,
        maintenance_type=member.maintenance_type,
        maintenance_reason=member.maintenance_reason,
        benefit_status=member.benefit_status,
        subscriber_id=member.subscriber_id,
        member_id=member.member_id,
        carrier_member_id=member.carrier_member_id,
        group_policy_number=member.group_policy_number,
        eligibility_begin=member.eligibility_begin,
        eligibility_end=member.eligibility_end,
        maintenance_effective=member.maintenance_effective,
        coverages=member.coverages,
        categories=member.categories,
        findings=member.findings,
    )
    item.set_findings = member.set_findings
    if member.hashes:
        item.demographic_hashes = pack_hashes(member.hashes)
    item.uk = keys.member_lookup(member.set_id, member.first_position)
    item.us = keys.position_key(member.first_position)
    if member.maintenance_type == "021":  # an addition waits for the insurer's effectuation
        item.rk = keys.effect_shard(member.set_id, member.ordinal)
        item.rs = f"{member.sent_at}#{member.set_id}#{member.ordinal:07d}"
    return item


def sent_member(item: MemberItem) -> SentMember:
    return SentMember(
        ref=(item.pk, item.sk),
        sent_key=(item.sent_at, item.set_pk, item.set_sk, f"{int(item.ordinal):07d}"),
        subscriber_id=item.subscriber_id or "",
        member_id=item.member_id,
        subscriber_indicator=item.subscriber_indicator,
        relationship=item.relationship,
        maintenance_type=item.maintenance_type,
        coverages=tuple(item.coverages or ()),
        categories=dict(item.categories or {}),
        eligibility_end=item.eligibility_end,
        set_findings=tuple(item.set_findings or ()),
        effectuated_by=item.effectuated_by,
        expires=item.expires,
        carrier_member_id=item.carrier_member_id,
        person=person_tokens(item.hashes),
    )


def effectuation_record(item: EffectuationItem) -> EffectuationRecord:
    return EffectuationRecord(
        ref=(item.pk, item.sk),
        record_id=item.record_id,
        at=item.at,
        subscriber_id=item.subscriber_id,
        member_id=item.member_id,
        subscriber_indicator=item.subscriber_indicator,
        relationship=item.relationship,
        maintenance_type=item.maintenance_type,
        coverages=tuple(item.coverages or ()),
        carrier_member_id=item.carrier_member_id,
        policy_ids=tuple(item.policy_ids or ()),
        expires=item.expires,
        person=person_tokens(item.hashes),
    )


def expiry(moment: str | None, days: int) -> datetime | None:
    """When an item about ``moment`` (ISO 8601, UTC) expires; None: kept (days 0 or no time)."""
    if not days or not moment:
        return None
    try:
        start = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (start if start.tzinfo else start.replace(tzinfo=UTC)) + timedelta(days=days)


def iso_now() -> str:
    return iso(datetime.now(UTC))
