"""The store: the one place that talks to DynamoDB (this module and its roles beside it).

- Writes that must not regress are conditional: an interchange completes once (and
  its counters move once); a set's status changes only from the revision it was read
  at, in one transaction with the counters it moves.
- Member items go out with BatchWriteItem (25 per request) from a few threads, with
  exponential back-off, and UnprocessedItems are retried until written.
- The report reads the sparse "report" index only: never a scan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from acktrack.domain.acks import AckEntry
from acktrack.domain.events import file_quarantined
from acktrack.domain.ports import Outcome
from acktrack.domain.status import (
    Applied,
    FileOutcome,
    InterchangeStatus,
    adding,
    revoking,
)
from acktrack.domain.tally import Tally
from acktrack.domain.tracked import (
    ObjectRef,
    TrackedInterchange,
    iso,
)
from acktrack.store import keys
from acktrack.store.acks import AckStore
from acktrack.store.attribution import members_at
from acktrack.store.counters import counter_items, summed
from acktrack.store.dynamo import conditional_failure, transact
from acktrack.store.events import OutboxStore
from acktrack.store.expected import ExpectedStore
from acktrack.store.families import FamilyStore
from acktrack.store.jobs import JobStore
from acktrack.store.members import MemberWriter, expiry, iso_now
from acktrack.store.models import (
    AckItem,
    CounterItem,
    InterchangeItem,
    MemberItem,
    NoticeItem,
    ObjectItem,
    PartnerItem,
    SetItem,
    WatchItem,
)
from acktrack.store.outbox import saving_with
from acktrack.store.reconciliations import ReconciliationStore
from acktrack.store.reported_errors import ReportedErrorStore
from acktrack.store.roster import RosterStore
from acktrack.store.sequences import SequenceStore
from acktrack.store.sets import SetStore


class Repository(
    FamilyStore,
    SetStore,
    ExpectedStore,
    ReportedErrorStore,
    SequenceStore,
    AckStore,
    JobStore,
    ReconciliationStore,
    RosterStore,
    OutboxStore,
):
    """Tracking state in one DynamoDB table (see ``keys`` for the layout); each role's
    reads and writes live in its own module (families, acks, jobs, members)."""

    # -- interchanges -------------------------------------------------------------------

    def interchange_versions(self, our: str, partner: str, control: str) -> list[InterchangeItem]:
        return list(
            InterchangeItem.query(keys.interchange_pk(our, partner, control), consistent_read=True)
        )

    def begin_interchange(self, planned: TrackedInterchange) -> None:
        """Create the version (status ingesting) unless it exists (then its ingest resumes)."""
        item = InterchangeItem(
            *keys.of_interchange(planned),
            our_id=planned.our_id,
            partner=planned.partner,
            interchange_control=planned.interchange_control,
            interchange_date=planned.interchange_date,
            interchange_time=planned.interchange_time,
            digest=planned.digest,
            status=InterchangeStatus.INGESTING,
            source_bucket=planned.source_bucket,
            source_key=planned.source_key,
            received_at=planned.received_at,
            sent_at=planned.sent_at,
            groups=planned.groups,
            sets=len(planned.sets),
            members=planned.members,
            group_controls=planned.group_controls,
            group_buckets=_spread_groups(planned),
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
                InterchangeItem(*keys.of_interchange(planned)),
                actions=[
                    InterchangeItem.status.set(InterchangeStatus.COMPLETE),
                    InterchangeItem.source_bucket.set(planned.source_bucket),
                    InterchangeItem.source_key.set(planned.source_key),
                ],
                condition=InterchangeItem.status == InterchangeStatus.INGESTING,
            )
            shard = keys.counter_shard(*keys.of_interchange(planned))
            for day, (day_members, day_sets) in planned.counts_by_day().items():
                transaction.update(
                    CounterItem(counter_pk, keys.counter_sk(day, shard)),
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
            return InterchangeItem.get(*keys.of_interchange(planned), consistent_read=True)
        except InterchangeItem.DoesNotExist:
            return None

    def settle_interchange(self, planned: TrackedInterchange) -> None:
        InterchangeItem(*keys.of_interchange(planned)).update(
            actions=[InterchangeItem.settled.set(True)]
        )

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
            at=ref.received_at,
        )
        version.update(
            actions=[
                InterchangeItem.duplicate_sources.set(
                    InterchangeItem.duplicate_sources.append([ref.key])
                )
            ]
        )

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

    def members_at(
        self, item: SetItem, positions: Iterable[int | None]
    ) -> dict[int, dict[str, Any] | None]:
        """The member whose INS loop holds each segment position: one query for all of a
        set's positions in one lookup partition (``attribution``)."""
        starts = [int(start) for start in cast("list[float]", item.member_starts or [])]
        return members_at(item.set_id, int(item.members), int(item.last_position), positions,
                          member_starts=starts)  # fmt: skip

    # -- status changes ------------------------------------------------------------------

    def apply_to_set(self, item: SetItem, entry_id: str, summary: AckEntry) -> SetItem:
        """Record one acknowledgment entry on a set and refold its status (the set after)."""
        return self._set_acks.change(item, adding(entry_id, summary), entry_id)

    def apply_to_sets(self, entries: Iterable[tuple[SetItem, str, AckEntry]]) -> Iterator[Applied]:
        """Record entries on many sets, up to 100 items per transaction (``set_acks``)."""
        return self._set_acks.change_many(
            (item, adding(entry_id, summary), entry_id) for item, entry_id, summary in entries
        )

    def watchers(self, sets: Sequence[SetItem]) -> set[tuple[str, str, str]]:
        """The families waiting on these sets' answers: one query per group version."""
        wanted: dict[tuple[str, str], set[str]] = {}
        for item in sets:
            prefix = item.sk.rsplit("#", 1)[0] + "#"  # SET#<isa13>#<digest>#: its group version
            wanted.setdefault((item.pk, prefix), set()).add(item.sk)
        found: set[tuple[str, str, str]] = set()
        reopen: set[tuple[str, str]] = set()
        for (pk, prefix), set_keys in wanted.items():
            for watch in WatchItem.query(pk, WatchItem.sk.startswith(keys.watch_prefix(prefix)),
                                         consistent_read=True):  # fmt: skip
                if keys.watched_set_sk(watch.sk) not in set_keys:
                    continue
                if watch.reopen_pk:  # a set the report took out of its index
                    reopen.add((watch.reopen_pk, watch.reopen_sk or ""))
                elif watch.subscriber_id:
                    found.add((watch.our_id, watch.partner, watch.subscriber_id))
        if reopen:
            self.relist_sets(reopen)
        return found

    def revoke_from_set(self, item: SetItem, ack_id: str) -> SetItem:
        """An acknowledgment no longer counts for this set (its control number is ambiguous)."""
        return self._set_acks.change(item, revoking(ack_id), ack_id)

    # -- members --------------------------------------------------------------------------

    def member_writer(self, arrived_at: datetime | None = None) -> MemberWriter:
        """Member and insurer-record items of one file; they expire RetentionDays after
        ``arrived_at`` (the file's arrival; default now)."""
        return MemberWriter(
            self.writer_threads, retention_days=self.retention_days, arrived_at=arrived_at
        )

    def members_of_set(
        self, item: SetItem, chunks: tuple[int, int] | None = None
    ) -> Iterator[MemberItem]:
        """A set's members, by segment position; ``chunks``: only those lookup partitions
        (first, last), as the report reads one part of a very large set."""
        first, last = chunks or (0, int(item.last_position) // keys.MEMBER_CHUNK)
        for chunk in range(first, last + 1):
            yield from MemberItem.lookup.query(f"MB#{item.set_id}#{chunk}")

    def get_members(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], MemberItem]:
        """Member transactions by key, 100 a request (BatchGetItem); absent ones left out."""
        found: dict[tuple[str, str], MemberItem] = {}
        keys_left = sorted(set(wanted))
        for start in range(0, len(keys_left), 100):
            for item in MemberItem.batch_get(keys_left[start : start + 100]):
                found[(item.pk, item.sk)] = item
        return found

    def unlist_set(self, item: SetItem, reopen_on: Iterable[tuple[str, str]] = ()) -> bool:
        """Take a set out of the report's index: the report found every member of it closed
        (conditioned on its revision as read: a set that changed since stays). A watch beside
        each set whose confirmation closed one of its members puts it back if that set's
        answer changes (``watchers``). False: it changed meanwhile."""
        for set_pk, set_sk in sorted(set(reopen_on)):
            WatchItem(set_pk, keys.reopen_sk(set_sk, item.pk, item.sk)).update(actions=[
                WatchItem.our_id.set(item.our_id), WatchItem.partner.set(item.partner),
                WatchItem.reopen_pk.set(item.pk), WatchItem.reopen_sk.set(item.sk),
            ])  # fmt: skip
        try:
            item.update(actions=[SetItem.rk.remove(), SetItem.rs.remove()],
                        condition=(SetItem.revision == item.revision) & SetItem.rk.exists())  # fmt: skip
        except UpdateError as error:
            if conditional_failure(error):
                return False
            raise
        return True

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
        if outcome.outcome == FileOutcome.QUARANTINED or outcome.other_usage:
            # Listed for its window (other usage apart); kept as long as the file itself.
            quarantined = outcome.outcome == FileOutcome.QUARANTINED
            item.rk = keys.REPORT_QUARANTINE if quarantined else keys.REPORT_OTHER_USAGE
            item.rs = f"{iso(ref.received_at)}#{item.pk}#{item.sk}"
            item.expires = expiry(item.received_at, self.raw_retention_days)
        condition = ObjectItem.pk.does_not_exist()
        notices = [] if outcome.outcome != FileOutcome.QUARANTINED else [
            file_quarantined(ref.bucket, ref.key, ref.version_id or "-",
                             "/".join(ref.key.split("/")[:-1][:2]), outcome.reason or "",
                             ref.size or 0, item.received_at)]  # fmt: skip
        try:
            if notices:  # the event with the outcome that stands: once per version
                transact(self._connection(), saving_with(item, condition, notices), "quarantine")  # fmt: skip
            else:
                item.save(condition=condition)
        except (PutError, TransactWriteError) as error:
            if not conditional_failure(error):
                raise

    def objects_for(self, bucket: str, key: str) -> list[ObjectItem]:
        """What happened to each version of one object (for `acktrack` tools and audits)."""
        return list(ObjectItem.query(keys.object_pk(bucket, key), consistent_read=True))

    def register_partner(self, our: str, partner: str, payer_name: str) -> None:
        if payer_name:
            self._partner_update(our, partner, PartnerItem.payer_name.set(payer_name))
        else:
            self._partner_update(our, partner)

    def notice(self, kind: str, detail: str, source_keys: list[str], *identity: str,
               at: datetime | None = None) -> None:  # fmt: skip
        """Raise a notice (once per identity; raised again, its keys gather). ``at``: the
        arrival of the file that raised it (default now): the report lists it for that day's
        window, and it expires with that file (RawRetentionDays)."""
        item = NoticeItem(keys.notice_pk(kind, *identity), "N")
        raised = iso(at) if at is not None else iso_now()
        actions: list[Action] = [
            NoticeItem.kind.set(kind),
            NoticeItem.detail.set(detail),
            NoticeItem.created_at.set(NoticeItem.created_at | iso_now()),
            NoticeItem.rk.set(keys.REPORT_NOTICE),
            NoticeItem.rs.set(keys.notice_rs(raised, item.pk)),
        ]
        expires = expiry(raised, self.raw_retention_days)
        if expires is not None:
            actions.append(NoticeItem.expires.set(expires))
        wanted = {key for key in source_keys if key}
        if wanted:
            actions.append(NoticeItem.keys.add(wanted))
        item.update(actions=actions)

    # -- what the report reads (the sparse index, never a scan) ---------------------------------

    def open_sets(self) -> Iterator[SetItem]:
        for shard in range(keys.OPEN_SHARDS):
            yield from SetItem.report.query(f"OPEN#{shard}")

    def keep_open_members(
        self,
        as_of: datetime,
        margin: timedelta = timedelta(days=30),
        still_open: Callable[[MemberItem], bool] | None = None,
    ) -> int:
        """Push back the TTL of members still open (unconfirmed, rejected, overdue) whose
        expiry falls within ``margin`` of ``as_of``: DynamoDB never deletes what someone
        must still act on. Reads only open sets sent before ``as_of - RetentionDays +
        margin`` (a set is never sent after its file arrived), so the daily cost follows
        the old backlog, not the table. ``still_open`` (the enrollment ledger) says which
        members of those sets are open still: one closed by a confirmed resend or an operator
        is let go with the transaction that closed it. Returns the members kept."""
        if not self.retention_days:
            return 0
        horizon = iso(as_of - timedelta(days=self.retention_days) + margin)
        soon, later = as_of + margin, as_of + 2 * margin
        kept = 0
        for shard in range(keys.OPEN_SHARDS):
            for item in SetItem.report.query(f"OPEN#{shard}", SetItem.rs < horizon):
                for member in self.members_of_set(item):
                    if member.expires is not None and member.expires < soon:
                        if still_open is not None and not still_open(member):
                            continue
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

    def unmatched_acks(self, since: str) -> Iterator[AckItem]:
        """Acknowledgments that match nothing, received since ``since`` (the report's window:
        a key condition, so last month's are never read again)."""
        return AckItem.report.query(keys.REPORT_UNMATCHED, AckItem.rs.between(since, keys.TIME_END))

    def quarantined(self, since: str) -> Iterator[ObjectItem]:
        """Files quarantined since ``since`` (each version that came)."""
        return ObjectItem.report.query(
            keys.REPORT_QUARANTINE, ObjectItem.rs.between(since, keys.TIME_END)
        )

    def notices(self, since: str) -> Iterator[NoticeItem]:
        """Notices raised since ``since``; then those written before notices were kept by
        time (``keys.LEGACY_NOTICES``: a fixed set that no write adds to, each moved to its time
        when raised again), by when they were first raised."""
        yield from NoticeItem.report.query(
            keys.REPORT_NOTICE, NoticeItem.rs.between(since, keys.TIME_END)
        )
        for item in NoticeItem.report.query(keys.REPORT_NOTICE,
                                            NoticeItem.rs > keys.LEGACY_NOTICES):  # fmt: skip
            if item.created_at >= since:
                yield item

    def other_usage(self, since: str) -> Iterator[ObjectItem]:
        """Files that set aside interchanges of the usage not tracked, arrived since ``since``."""
        return ObjectItem.report.query(keys.REPORT_OTHER_USAGE, ObjectItem.rs >= since)

    def partners(self) -> list[PartnerItem]:
        return list(PartnerItem.query("PARTNERS"))

    def counters(self, our: str, partner: str, since_day: str | None = None) -> dict[str, Tally]:
        """One partner's counters summed: ``ALL`` (every item: one paginated query of the
        partition) and, when asked, ``D#<day>`` for each sent day since ``since_day``."""
        items = list(counter_items(our, partner))
        if not items:
            return {}
        total, days = summed(iter(items))
        found = {"ALL": total}
        for day, tally in sorted(days.items()):
            if since_day is not None and day >= since_day:
                found[f"D#{day}"] = tally
        return found

    def tallies(self, our: str, partner: str, since_day: str) -> dict[str, Tally]:
        """One partner's counters by sent day since ``since_day``, summed over shards: one
        paginated query, however many sets and members the days hold."""
        return dict(sorted(summed(counter_items(our, partner, since_day))[1].items()))


def _spread_groups(planned: TrackedInterchange) -> dict[str, int] | None:
    """GS06 -> partitions of the interchange's groups spread over more than one."""
    return {item.group_control: item.buckets for item in planned.sets if item.buckets > 1} or None
