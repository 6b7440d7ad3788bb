"""The one module that talks to DynamoDB.

- Writes that must not regress are conditional: an interchange completes once (and
  its counters move once); a set's status changes only from the revision it was read
  at, in one transaction with the counters it moves.
- Member items go out with BatchWriteItem (25 per request) from a few threads, with
  exponential back-off, and UnprocessedItems are retried until written.
- The report reads the sparse "report" index only: never a scan.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, NamedTuple

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from acktrack.domain.family import EffectuationRecord, FamilyFinding, SentMember, reconcile
from acktrack.domain.ports import Outcome
from acktrack.domain.tracked import (
    InsurerMember,
    ObjectRef,
    TrackedInterchange,
    TrackedMember,
    TrackedSet,
    iso,
)
from acktrack.store import keys
from acktrack.store.dynamo import StoreError, conditional_failure, transact
from acktrack.store.models import (
    AckChunkItem,
    AckItem,
    CounterItem,
    EffectuationCountItem,
    EffectuationItem,
    GroupVersionItem,
    InterchangeItem,
    JobItem,
    MemberItem,
    NoticeItem,
    ObjectItem,
    PartItem,
    PartnerItem,
    QualityItem,
    SetItem,
    bind,
)
from acktrack.store.set_acks import Applied, Change, SetAckWriter

log = logging.getLogger(__name__)

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
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="acktrack-writer")
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


def _member_item(member: TrackedMember) -> MemberItem:
    item = MemberItem(
        member.pk,
        member.sk,
        set_pk=member.set_pk,
        set_sk=member.set_sk,
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
    )


@dataclass(slots=True)
class FamilyChange:
    """What one reconciliation changed (for metrics; every field is a count or a code)."""

    new_findings: dict[str, int]
    effectuated: int = 0
    uneffectuated: int = 0


class Repository:
    """Tracking state in one DynamoDB table (see ``keys`` for the layout)."""

    def __init__(
        self,
        table_name: str,
        region: str,
        host: str | None = None,
        writer_threads: int = 4,
        retention_days: int = 0,
    ) -> None:
        bind(table_name, region, host)
        self.writer_threads = writer_threads
        self.retention_days = retention_days  # member-level items expire (TTL); 0 keeps them
        self._set_acks = SetAckWriter(self._connection)

    def _connection(self) -> Connection:
        return SetItem._get_connection().connection

    @property
    def client(self) -> Any:
        """The botocore DynamoDB client every model shares (for request-counting hooks)."""
        return self._connection().client

    # -- interchanges -------------------------------------------------------------------

    def interchange_versions(self, our: str, partner: str, control: str) -> list[InterchangeItem]:
        return list(
            InterchangeItem.query(keys.interchange_pk(our, partner, control), consistent_read=True)
        )

    def begin_interchange(self, planned: TrackedInterchange) -> None:
        """Create the version (status ingesting) unless it exists (then its ingest resumes)."""
        item = InterchangeItem(
            planned.pk,
            planned.sk,
            our_id=planned.our_id,
            partner=planned.partner,
            interchange_control=planned.interchange_control,
            interchange_date=planned.interchange_date,
            interchange_time=planned.interchange_time,
            digest=planned.digest,
            status="ingesting",
            source_bucket=planned.source_bucket,
            source_key=planned.source_key,
            received_at=planned.received_at,
            sent_at=planned.sent_at,
            groups=planned.groups,
            sets=len(planned.sets),
            members=planned.members,
            group_controls=planned.group_controls,
            findings=planned.findings,
        )
        try:
            item.save(condition=InterchangeItem.pk.does_not_exist())
        except PutError as error:
            if not conditional_failure(error):
                raise

    def complete_interchange(self, planned: TrackedInterchange) -> bool:
        """Mark the version complete and count its members, exactly once; the file whose
        ingest completes it becomes its source (two copies ingested at once: the other one
        then finds it complete under another key, a duplicate)."""
        counter_pk = keys.counter_pk(planned.our_id, planned.partner)

        def build(transaction: TransactWrite) -> None:
            transaction.update(
                InterchangeItem(planned.pk, planned.sk),
                actions=[
                    InterchangeItem.status.set("complete"),
                    InterchangeItem.source_bucket.set(planned.source_bucket),
                    InterchangeItem.source_key.set(planned.source_key),
                ],
                condition=InterchangeItem.status == "ingesting",
            )
            members, sets = planned.members, len(planned.sets)
            transaction.update(
                CounterItem(counter_pk, "ALL"),
                actions=[CounterItem.members_sent.add(members), CounterItem.sets_sent.add(sets)],
            )
            for day, (day_members, day_sets) in planned.counts_by_day().items():
                transaction.update(
                    CounterItem(counter_pk, f"D#{day}"),
                    actions=[
                        CounterItem.members_sent.add(day_members),
                        CounterItem.sets_sent.add(day_sets),
                    ],
                )

        try:
            transact(self._connection(), build, f"interchange {planned.interchange_control}")
        except TransactWriteError as error:
            if conditional_failure(error):
                return False
            raise
        return True

    def interchange_version(self, planned: TrackedInterchange) -> InterchangeItem | None:
        try:
            return InterchangeItem.get(planned.pk, planned.sk, consistent_read=True)
        except InterchangeItem.DoesNotExist:
            return None

    def settle_interchange(self, planned: TrackedInterchange) -> None:
        InterchangeItem(planned.pk, planned.sk).update(actions=[InterchangeItem.settled.set(True)])

    def record_duplicate(self, version: InterchangeItem, ref: ObjectRef) -> None:
        """Note an interchange seen again under another key. The notice (idempotent) goes
        first and the marker last, so a failure between the two is repaired by the retry."""
        if ref.key in (version.duplicate_sources or []):
            return
        self.notice(
            "duplicate_interchange",
            f"interchange ISA13 {version.interchange_control} to {version.partner} arrived again under "
            "another key; tracked once",
            sorted([version.source_key, ref.key]),  # either may have been first
            version.our_id,
            version.partner,
            version.interchange_control,
            version.digest,
        )
        version.update(
            actions=[
                InterchangeItem.duplicate_sources.set(
                    InterchangeItem.duplicate_sources.append([ref.key])
                )
            ]
        )

    # -- sets and groups ----------------------------------------------------------------

    def put_sets(self, sets: list[TrackedSet]) -> None:
        """Create each set once; an existing set (a resumed ingest) keeps its state."""
        for tracked in sets:
            item = SetItem(
                tracked.pk,
                tracked.sk,
                set_id=tracked.set_id,
                our_id=tracked.our_id,
                partner=tracked.partner,
                payer_name=tracked.payer_name,
                interchange_control=tracked.interchange_control,
                group_control=tracked.group_control,
                transaction_control=tracked.transaction_control,
                implementation=tracked.implementation,
                digest=tracked.digest,
                interchange_pk=tracked.interchange_pk,
                interchange_sk=tracked.interchange_sk,
                sent_at=tracked.sent_at,
                sent_day=tracked.sent_day,
                members=tracked.members,
                last_position=tracked.last_position,
                segments=tracked.segments,
                findings=tracked.findings,
                finding_count=tracked.finding_count,
                predicted_rejection=tracked.predicted_rejection,
                rk=keys.open_shard(tracked.set_id),
                rs=f"{tracked.sent_at}#{tracked.set_id}",
                uk=keys.sets_key(tracked.our_id, tracked.partner),
                us=f"{tracked.sent_at}#{tracked.set_id}",
            )
            try:
                item.save(condition=SetItem.pk.does_not_exist())
            except PutError as error:
                if not conditional_failure(error):
                    raise

    def put_group_version(
        self, planned: TrackedInterchange, group_control: str
    ) -> list[dict[str, str]]:
        """Mark that this interchange used GS06 ``group_control``; return every user of it."""
        sets = [item for item in planned.sets if item.group_control == group_control]
        GroupVersionItem(
            keys.group_pk(planned.our_id, planned.partner, group_control),
            keys.group_version_sk(planned.interchange_control, planned.digest),
            our_id=planned.our_id,
            partner=planned.partner,
            group_control=group_control,
            interchange_control=planned.interchange_control,
            digest=planned.digest,
            sets=len(sets),
            sent_at=sets[0].sent_at if sets else planned.sent_at,
            source_key=planned.source_key,
        ).save()
        return [
            {"interchange_control": v.interchange_control, "source_key": v.source_key}
            for v in self.group_versions(planned.our_id, planned.partner, group_control)
        ]

    def group_versions(self, our: str, partner: str, group_control: str) -> list[GroupVersionItem]:
        return list(
            GroupVersionItem.query(
                keys.group_pk(our, partner, group_control),
                GroupVersionItem.sk.startswith("V#"),
                consistent_read=True,
            )
        )

    def sets_of_group_version(self, version: GroupVersionItem) -> list[SetItem]:
        prefix = f"SET#{version.interchange_control}#{version.digest[:20]}#"
        return list(SetItem.query(version.pk, SetItem.sk.startswith(prefix), consistent_read=True))

    def sets_of_group(self, our: str, partner: str, group_control: str) -> list[SetItem]:
        pk = keys.group_pk(our, partner, group_control)
        return list(SetItem.query(pk, SetItem.sk.startswith("SET#"), consistent_read=True))

    def sets_of_interchange(self, version: InterchangeItem) -> list[SetItem]:
        prefix = f"SET#{version.interchange_control}#{version.digest[:20]}#"
        found: list[SetItem] = []
        for group_control in version.group_controls or []:
            pk = keys.group_pk(version.our_id, version.partner, group_control)
            found += SetItem.query(pk, SetItem.sk.startswith(prefix), consistent_read=True)
        return found

    def source_key(self, pk: str, sk: str) -> str:
        """The S3 key an interchange version was first read from."""
        try:
            return InterchangeItem.get(pk, sk).source_key
        except InterchangeItem.DoesNotExist:
            return "?"

    def get_set(self, pk: str, sk: str) -> SetItem | None:
        try:
            return SetItem.get(pk, sk, consistent_read=True)
        except SetItem.DoesNotExist:
            return None

    def member_at(self, set_id: str, position: int | None) -> dict[str, Any] | None:
        """The member whose INS loop holds segment ``position`` (one query, two at a chunk edge)."""
        if not position or position < 1:
            return None
        for chunk in (position // keys.MEMBER_CHUNK, position // keys.MEMBER_CHUNK - 1):
            if chunk < 0:
                break
            for item in MemberItem.lookup.query(
                f"MB#{set_id}#{chunk}",
                MemberItem.us <= keys.position_key(position),
                scan_index_forward=False,
                limit=1,
            ):
                if item.first_position <= position <= item.last_position:
                    return {
                        "ordinal": int(item.ordinal),
                        "first_position": int(item.first_position),
                        "last_position": int(item.last_position),
                    }
                return None
        return None

    # -- status changes ------------------------------------------------------------------

    def apply_to_set(self, item: SetItem, entry_id: str, summary: dict[str, Any]) -> SetItem:
        """Record one acknowledgment entry on a set and refold its status (the set after)."""
        return self._set_acks.change(item, _adding(entry_id, summary), entry_id)

    def apply_to_sets(
        self, entries: Iterable[tuple[SetItem, str, dict[str, Any]]]
    ) -> Iterator[Applied]:
        """Record entries on many sets, up to 100 items per transaction (``set_acks``)."""
        return self._set_acks.change_many(
            (item, _adding(entry_id, summary), entry_id) for item, entry_id, summary in entries
        )

    def revoke_from_set(self, item: SetItem, ack_id: str) -> SetItem:
        """An acknowledgment no longer counts for this set (its control number is ambiguous)."""

        def revoke(acks: dict[str, Any]) -> dict[str, Any]:
            changed = dict(acks)
            for key, value in acks.items():
                if key == ack_id or key.startswith(ack_id + "#"):
                    changed[key] = {**value, "revoked": True}
            return changed

        return self._set_acks.change(item, revoke, ack_id)

    # -- members --------------------------------------------------------------------------

    def member_writer(self, arrived_at: datetime | None = None) -> MemberWriter:
        """Member and insurer-record items of one file; they expire RetentionDays after
        ``arrived_at`` (the file's arrival; default now)."""
        return MemberWriter(
            self.writer_threads, retention_days=self.retention_days, arrived_at=arrived_at
        )

    def members_of_set(self, item: SetItem) -> Iterator[MemberItem]:
        for chunk in range(int(item.last_position) // keys.MEMBER_CHUNK + 1):
            yield from MemberItem.lookup.query(f"MB#{item.set_id}#{chunk}")

    # -- acknowledgments ------------------------------------------------------------------

    def put_ack(self, data: dict[str, Any]) -> AckItem:
        """Store an acknowledgment once (a redelivery finds the stored one and its state)."""
        if data["kind"] == "999":
            pk = keys.group_ack_pk(data["our_id"], data["partner"], data["target_control"])
        else:
            pk = keys.interchange_ack_pk(data["our_id"], data["partner"], data["target_control"])
        fields = {name: value for name, value in data.items() if name != "ack_id"}
        detail = fields.get("detail") or {}
        if data["kind"] == "999" and len(json.dumps(detail)) > MAX_INLINE_DETAIL:
            # Set responses first, in chunks: a retry writes the same chunks again.
            chunks = _chunks(detail.get("sets", []))
            chunk_pk = keys.ack_chunk_pk(pk, data["ack_id"])
            for number, blob in enumerate(chunks):
                AckChunkItem(chunk_pk, f"C#{number:05d}", sets=blob).save()
            fields["detail"] = {**detail, "sets": [], "set_chunks": len(chunks)}
        item = AckItem(pk, data["ack_id"], state="pending", **fields)
        try:
            item.save(condition=AckItem.pk.does_not_exist())
            return item
        except PutError as error:
            if not conditional_failure(error):
                raise
        return AckItem.get(pk, data["ack_id"], consistent_read=True)

    def ack_detail(self, item: AckItem) -> dict[str, Any]:
        """A stored 999's whole detail, its set responses read back from their chunks."""
        detail: dict[str, Any] = item.detail or {}
        if not detail.get("set_chunks"):
            return detail
        sets: list[Any] = []
        pk = keys.ack_chunk_pk(item.pk, item.sk)
        for chunk in AckChunkItem.query(pk, consistent_read=True):
            sets += json.loads(zlib.decompress(chunk.sets))
        return {**detail, "sets": sets}

    def set_ack_state(self, item: AckItem, state: str, reason: str) -> str:
        actions: list[Action] = [AckItem.state.set(state), AckItem.reason.set(reason)]
        if state in ("unmatched", "ambiguous"):
            actions += [
                AckItem.rk.set(keys.REPORT_UNMATCHED),
                AckItem.rs.set(f"{item.received_at}#{item.pk}#{item.sk}"),
            ]
        else:
            actions += [AckItem.rk.remove(), AckItem.rs.remove()]
        item.update(actions=actions)
        return state

    def acks_for_group(self, our: str, partner: str, group_control: str) -> list[AckItem]:
        return list(
            AckItem.query(keys.group_ack_pk(our, partner, group_control), consistent_read=True)
        )

    def acks_for_interchange(self, our: str, partner: str, control: str) -> list[AckItem]:
        return list(
            AckItem.query(keys.interchange_ack_pk(our, partner, control), consistent_read=True)
        )

    # -- objects, partners, notices -----------------------------------------------------------

    def record_object(self, ref: ObjectRef, outcome: Outcome) -> None:
        """What happened to one version of an object; the first outcome stands (redeliveries
        of the same version change nothing)."""
        item = ObjectItem(
            keys.object_pk(ref.bucket, ref.key),
            f"V#{ref.version_id or '-'}",
            bucket=ref.bucket,
            key=ref.key,
            outcome=outcome.outcome,
            reason=outcome.reason,
            received_at=iso(ref.received_at),
            size=ref.size or 0,
            quarantine_key=outcome.quarantine_key,
            detail=outcome.to_log(),
        )
        if outcome.outcome == "quarantined":
            item.rk = keys.REPORT_QUARANTINE
            item.rs = f"{iso(ref.received_at)}#{item.pk}#{item.sk}"
        try:
            item.save(condition=ObjectItem.pk.does_not_exist())
        except PutError as error:
            if not conditional_failure(error):
                raise

    def objects_for(self, bucket: str, key: str) -> list[ObjectItem]:
        """What happened to each version of one object (for `acktrack` tools and audits)."""
        return list(ObjectItem.query(keys.object_pk(bucket, key), consistent_read=True))

    def register_partner(self, our: str, partner: str, payer_name: str) -> None:
        item = PartnerItem("PARTNERS", f"{our}#{partner}")
        actions: list[Action] = [
            PartnerItem.our_id.set(our),
            PartnerItem.partner.set(partner),
            PartnerItem.first_seen.set(PartnerItem.first_seen | iso_now()),
        ]
        if payer_name:
            actions.append(PartnerItem.payer_name.set(payer_name))
        item.update(actions=actions)

    def notice(self, kind: str, detail: str, source_keys: list[str], *identity: str) -> None:
        item = NoticeItem(keys.notice_pk(kind, *identity), "N")
        actions: list[Action] = [
            NoticeItem.kind.set(kind),
            NoticeItem.detail.set(detail),
            NoticeItem.created_at.set(NoticeItem.created_at | iso_now()),
            NoticeItem.rk.set(keys.REPORT_NOTICE),
            NoticeItem.rs.set(f"{kind}#{item.pk}"),
        ]
        wanted = {key for key in source_keys if key}
        if wanted:
            actions.append(NoticeItem.keys.add(wanted))
        item.update(actions=actions)

    # -- families: data quality and effectuation --------------------------------------------

    def family(
        self, our: str, partner: str, subscriber_id: str
    ) -> tuple[list[MemberItem], list[EffectuationItem], list[QualityItem]]:
        """Everything known about one subscriber id: one consistent query of its partition."""
        connection = MemberItem._get_connection()
        members: list[MemberItem] = []
        records: list[EffectuationItem] = []
        findings: list[QualityItem] = []
        start: Any = None
        while True:
            page = connection.query(
                keys.family_pk(our, partner, subscriber_id),
                consistent_read=True,
                exclusive_start_key=start,
            )
            for raw in page.get("Items", []):
                sort = raw.get("sk", {}).get("S", "")
                if sort.startswith("E#"):
                    records.append(EffectuationItem.from_raw_data(raw))
                elif sort.startswith("Q#"):
                    findings.append(QualityItem.from_raw_data(raw))
                elif sort.startswith("M#"):
                    members.append(MemberItem.from_raw_data(raw))
            start = page.get("LastEvaluatedKey")
            if not start:
                return members, records, findings

    def reconcile_family(
        self,
        our: str,
        partner: str,
        subscriber_id: str,
    ) -> FamilyChange:
        """Recompute the family's findings and effectuations; write only what changed.

        The family is read consistently from its partition, so what this invocation wrote
        (its member writer closed first) is part of it. Another invocation may write to the
        same family meanwhile (a part of the same file, the insurer's file): after writing,
        the partition is read again and, if members or records came in the meantime, the
        family is recomputed, so a decision taken on a partial view never stays."""
        change = FamilyChange(new_findings={})
        added: dict[str, str] = {}  # finding sk -> kind, written by this call
        family = self.family(our, partner, subscriber_id)
        for _ in range(_RECONCILE_ROUNDS):
            if not self._reconcile_once(our, partner, subscriber_id, family, change, added):
                break  # nothing written: nothing taken on a partial view can stay
            again = self.family(our, partner, subscriber_id)
            if _evidence(again) == _evidence(family):
                break
            family = again
        return change

    def _reconcile_once(
        self,
        our: str,
        partner: str,
        subscriber_id: str,
        family: tuple[list[MemberItem], list[EffectuationItem], list[QualityItem]],
        change: FamilyChange,
        added: dict[str, str],
    ) -> bool:
        """One pass over what was read; True when it wrote something."""
        members, records, existing = family
        by_ref = {(item.pk, item.sk): item for item in members}
        sent = {m.ref: m for m in (sent_member(item) for item in members)}
        known_records = {r.ref: r for r in (effectuation_record(item) for item in records)}
        state = reconcile(sent.values(), known_records.values())
        family_key = keys.family_pk(our, partner, subscriber_id)
        wanted = {
            self._quality_sk(finding, sent, known_records): finding for finding in state.findings
        }
        have = {item.sk: item for item in existing}
        wrote = False
        for sk, finding in wanted.items():
            if sk not in have:
                self._put_quality(
                    family_key, sk, finding, our, partner, subscriber_id, sent, known_records
                )
                change.new_findings[finding.kind] = change.new_findings.get(finding.kind, 0) + 1
                added[sk] = finding.kind
                wrote = True
        for sk, item in have.items():
            if sk not in wanted:
                item.delete()
                if sk in added:  # written on a partial view a moment ago: not new after all
                    change.new_findings[added[sk]] -= 1
                wrote = True
        for ref, member in sent.items():
            confirming = state.effectuated.get(ref)
            target = confirming.record_id if confirming else None
            current = member.effectuated_by
            if target != current:
                self._set_effectuation(by_ref[ref], current, confirming, our, partner)
                if confirming is not None:
                    change.effectuated += 1
                else:
                    change.uneffectuated += 1
                wrote = True
        return wrote

    @staticmethod
    def _quality_sk(
        finding: FamilyFinding,
        sent: dict[tuple[str, str], SentMember],
        records: dict[tuple[str, str], EffectuationRecord],
    ) -> str:
        observed = Repository._observed(finding, sent, records)
        return f"Q#{observed}#{keys.short_hash(*finding.target, size=16)}#{finding.kind}"

    @staticmethod
    def _observed(
        finding: FamilyFinding,
        sent: dict[tuple[str, str], SentMember],
        records: dict[tuple[str, str], EffectuationRecord],
    ) -> str:
        """When the evidence for a finding came: the insurer record's time, else the send time."""
        if finding.observed_at:
            return finding.observed_at
        member = sent.get(finding.target)
        return member.sent_key[0] if member else records[finding.target].at

    def _put_quality(
        self,
        family: str,
        sk: str,
        finding: FamilyFinding,
        our: str,
        partner: str,
        subscriber_id: str,
        sent: dict[tuple[str, str], SentMember],
        records: dict[tuple[str, str], EffectuationRecord],
    ) -> None:
        member = sent.get(finding.target)
        item = QualityItem(
            family,
            sk,
            kind=finding.kind,
            detail=finding.detail,
            target_pk=finding.target[0],
            target_sk=finding.target[1],
            our_id=our,
            partner=partner,
            subscriber_id=subscriber_id,
        )
        if member is not None:
            item.member_id = member.member_id
            item.maintenance_type = member.maintenance_type
            item.ordinal = int(member.sent_key[3])
            item.sent_at = member.sent_key[0]
            # From the set's keys: a part of a large file finds before its sets are stored.
            controls = keys.set_controls(member.sent_key[1], member.sent_key[2])
            item.interchange_control, item.group_control, item.transaction_control = controls
        else:
            record = records[finding.target]
            item.member_id = record.member_id
            item.maintenance_type = record.maintenance_type
            item.sent_at = record.at
        observed = self._observed(finding, sent, records)
        item.rk = keys.quality_shard(family)
        item.rs = f"{observed}#{sk}"  # the report's window reads this
        # A finding goes with its evidence: retention counts from that file's arrival.
        evidence = member if member is not None else records.get(finding.target)
        item.expires = evidence.expires if evidence is not None else None
        item.save()

    def _set_effectuation(
        self,
        member: MemberItem,
        current: str | None,
        record: EffectuationRecord | None,
        our: str,
        partner: str,
    ) -> None:
        condition = (
            MemberItem.effectuated_by.does_not_exist()
            if current is None
            else MemberItem.effectuated_by == current
        )
        if record is not None:
            actions: list[Action] = [
                MemberItem.effectuated_by.set(record.record_id),
                MemberItem.effectuated_at.set(record.at),
                MemberItem.rk.remove(),
                MemberItem.rs.remove(),
            ]
            actions.append(
                MemberItem.insurer_member_id.set(record.carrier_member_id)
                if record.carrier_member_id
                else MemberItem.insurer_member_id.remove()
            )
            actions.append(MemberItem.insurer_policy_ids.set(list(record.policy_ids)))
        else:
            actions = [
                MemberItem.effectuated_by.remove(),
                MemberItem.effectuated_at.remove(),
                MemberItem.insurer_member_id.remove(),
                MemberItem.insurer_policy_ids.remove(),
            ]
            if member.maintenance_type == "021":
                actions += [
                    MemberItem.rk.set(keys.effect_shard(member.set_id, int(member.ordinal))),
                    MemberItem.rs.set(
                        f"{member.sent_at}#{member.set_id}#{int(member.ordinal):07d}"
                    ),
                ]
        counted = EffectuationCountItem(member.pk, "C" + member.sk[1:], expires=member.expires)
        counter = CounterItem(keys.counter_pk(our, partner), "ALL")

        def build(transaction: TransactWrite) -> None:
            transaction.update(member, actions=actions, condition=condition)
            # Counted once per member: the marker's existence decides, whatever the member
            # item went through (a rewrite by a second ingest of its interchange).
            if record is not None:
                transaction.save(counted, condition=EffectuationCountItem.pk.does_not_exist())
                transaction.update(counter, actions=[CounterItem.members_effectuated.add(1)])
            else:
                transaction.delete(counted, condition=EffectuationCountItem.pk.exists())
                transaction.update(counter, actions=[CounterItem.members_effectuated.add(-1)])

        try:
            transact(self._connection(), build, "effectuation")
        except TransactWriteError as error:
            # PynamoDB sends deletes and puts before updates: the marker, the member, the counter.
            marker, member_reason = [*_reasons(error), "None", "None"][:2]
            if member_reason == "ConditionalCheckFailed":
                return  # someone else changed it first: their reconciliation saw the same family
            if marker != "ConditionalCheckFailed":
                raise
            # Counted already (or never): the member's fields alone.
            try:
                member.update(actions=actions, condition=condition)
            except UpdateError as update_error:
                if not conditional_failure(update_error):
                    raise

    def quality_findings(self, since: str) -> Iterator[QualityItem]:
        for shard in range(keys.OPEN_SHARDS):
            yield from QualityItem.report.query(f"QUALITY#{shard}", QualityItem.rs >= since)

    def awaiting_effectuation(self, sent_before: str) -> Iterator[MemberItem]:
        for shard in range(keys.EFFECT_SHARDS):
            yield from MemberItem.report.query(f"EFFECT#{shard}", MemberItem.rs < sent_before)

    def sets_since(self, our: str, partner: str, since: str) -> Iterator[SetItem]:
        connection = SetItem._get_connection()
        start: Any = None
        while True:
            page = connection.query(
                keys.sets_key(our, partner),
                range_key_condition=SetItem.us >= since,
                index_name="lookup",
                exclusive_start_key=start,
            )
            for raw in page.get("Items", []):
                yield SetItem.from_raw_data(raw)
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    # -- what the report reads (the sparse index, never a scan) ---------------------------------

    def open_sets(self) -> Iterator[SetItem]:
        for shard in range(keys.OPEN_SHARDS):
            yield from SetItem.report.query(f"OPEN#{shard}")

    def keep_open_members(self, as_of: datetime, margin: timedelta = timedelta(days=30)) -> int:
        """Push back the TTL of members still open (unconfirmed, rejected, overdue) whose
        expiry falls within ``margin`` of ``as_of``: DynamoDB never deletes what someone
        must still act on. Reads only open sets sent before ``as_of - RetentionDays +
        margin`` (a set is never sent after its file arrived), so the daily cost follows
        the old backlog, not the table. Returns the members kept."""
        if not self.retention_days:
            return 0
        horizon = iso(as_of - timedelta(days=self.retention_days) + margin)
        soon, later = as_of + margin, as_of + 2 * margin
        kept = 0
        for shard in range(keys.OPEN_SHARDS):
            for item in SetItem.report.query(f"OPEN#{shard}", SetItem.rs < horizon):
                for member in self.members_of_set(item):
                    if member.expires is not None and member.expires < soon:
                        try:
                            member.update(
                                actions=[MemberItem.expires.set(later)],
                                condition=MemberItem.pk.exists(),
                            )
                        except UpdateError as error:
                            if not conditional_failure(error):
                                raise
                            continue  # gone meanwhile: nothing to keep
                        kept += 1
        return kept

    def unmatched_acks(self) -> list[AckItem]:
        return list(AckItem.report.query(keys.REPORT_UNMATCHED))

    def quarantined(self) -> list[ObjectItem]:
        return list(ObjectItem.report.query(keys.REPORT_QUARANTINE))

    def notices(self) -> list[NoticeItem]:
        return list(NoticeItem.report.query(keys.REPORT_NOTICE))

    def partners(self) -> list[PartnerItem]:
        return list(PartnerItem.query("PARTNERS"))

    def counters(
        self, our: str, partner: str, since_day: str | None = None
    ) -> dict[str, CounterItem]:
        """The ALL counter of one partner and, when asked, its day counters since a day."""
        pk = keys.counter_pk(our, partner)
        found = {item.sk: item for item in CounterItem.query(pk, CounterItem.sk == "ALL")}
        if since_day is not None:
            for item in CounterItem.query(pk, CounterItem.sk.between(f"D#{since_day}", "D#9999")):
                found[item.sk] = item
        return found

    # -- fan-out jobs (a file too large for one invocation) ------------------------------

    def begin_job(self, job: str, parts: int) -> None:
        """Create the job unless it exists (a redelivered event finds it)."""
        item = JobItem(keys.job_pk(job), "JOB", parts=parts, created_at=iso_now(),
                       expires=timedelta(days=JOB_DAYS))  # fmt: skip
        try:
            item.save(condition=JobItem.pk.does_not_exist())
        except PutError as error:
            if not conditional_failure(error):
                raise

    def record_part(self, job: str, index: int, result: bytes) -> JobProgress:
        """Keep a part's result and count the part once. Exactly one delivery of the last
        part to be counted sees done == parts with ``counted`` true."""
        PartItem(keys.job_pk(job), keys.part_sk(index), result=result,
                 expires=timedelta(days=JOB_DAYS)).save()  # fmt: skip
        item = JobItem(keys.job_pk(job), "JOB")
        try:
            item.update(
                actions=[JobItem.done.add(1), JobItem.done_parts.add({index})],
                condition=JobItem.pk.exists() & ~JobItem.done_parts.contains(index),
            )
        except UpdateError as error:
            if not conditional_failure(error):
                raise
            item = JobItem.get(keys.job_pk(job), "JOB", consistent_read=True)
            return JobProgress(False, int(item.done), int(item.parts), bool(item.finished))
        return JobProgress(True, int(item.done), int(item.parts), bool(item.finished))

    def part_results(self, job: str) -> list[bytes]:
        """Every part's result, in part order (read consistently)."""
        found = PartItem.query(
            keys.job_pk(job), PartItem.sk.startswith("PART#"), consistent_read=True
        )
        return [item.result for item in found]

    def finish_job(self, job: str) -> None:
        JobItem(keys.job_pk(job), "JOB").update(actions=[JobItem.finished.set(True)])


JOB_DAYS = 14  # a fan-out job's bookkeeping expires (TTL) after this many days
_RECONCILE_ROUNDS = 4  # a family written by others meanwhile is recomputed (bounded)


def _reasons(error: Exception) -> list[str]:
    """A cancelled transaction's reason per action, in order ("None" where it held)."""
    found = getattr(error, "cancellation_reasons", None) or []
    return [reason.code if reason is not None else "None" for reason in found]


def _adding(entry_id: str, summary: dict[str, Any]) -> Change:
    return lambda entries: {**entries, entry_id: summary}


def _evidence(
    family: tuple[list[MemberItem], list[EffectuationItem], list[QualityItem]],
) -> set[str]:
    """The members and insurer records a family's findings are computed from."""
    members, records, _ = family
    return {item.sk for item in members} | {item.sk for item in records}


MAX_INLINE_DETAIL = 300_000  # a 999's detail larger than this keeps its sets in chunks
_CHUNK_BYTES = 300_000  # compressed bytes per chunk item, well under DynamoDB's 400 KB


def _chunks(sets: list[Any]) -> list[bytes]:
    """Set responses as zlib-compressed JSON chunks, each under ``_CHUNK_BYTES``."""
    if not sets:
        return []
    blob = zlib.compress(json.dumps(sets, separators=(",", ":")).encode(), 6)
    if len(blob) <= _CHUNK_BYTES or len(sets) == 1:
        return [blob]
    half = len(sets) // 2
    return _chunks(sets[:half]) + _chunks(sets[half:])


def expiry(moment: str | None, days: int) -> datetime | None:
    """When an item about ``moment`` (ISO 8601, UTC) expires; None: kept (days 0 or no time)."""
    if not days or not moment:
        return None
    try:
        start = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (start if start.tzinfo else start.replace(tzinfo=UTC)) + timedelta(days=days)


class JobProgress(NamedTuple):
    counted: bool  # this delivery counted the part (False: it was counted before)
    done: int
    parts: int
    finished: bool


def iso_now() -> str:
    return iso(datetime.now(UTC))
