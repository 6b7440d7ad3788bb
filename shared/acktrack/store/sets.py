"""A group's sets and its versions: created once, read back by group version (over every
partition a large group version spreads them, ``keys.set_bucket``), and an insurer's sets
by time (the lookup index; a spread group's in shards, merged back in time order)."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from acktrack.domain.tracked import MEMBER_STARTS_KEPT, TrackedInterchange, TrackedSet
from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure, transact
from acktrack.store.members import iso_now
from acktrack.store.models import GroupVersionItem, InterchangeItem, PartnerItem, SetItem

_SETS_READ = 100  # BatchGetItem's and a transaction's limit: the sets one request reads or creates


class SetStore(TableStore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spread_partners: set[tuple[str, str]] = set()

    def put_sets(self, sets: list[TrackedSet]) -> None:
        """Create each set once; an existing set (a resumed ingest, a copy of the file
        ingested at the same time) keeps its state. 100 sets a request: a keys-only
        BatchGetItem (strongly consistent) reads which are there, then the absent ones are
        created in one transaction, each Put conditioned on its set not existing (the
        create-once a PutItem gave, kept whatever else writes at the same moment). When
        another copy created one of them in between, its condition fails and cancels the
        transaction: that chunk's sets are then created one at a time, the same condition
        each (a race that rare costs 100 requests, never a set's answers)."""
        for start in range(0, len(sets), _SETS_READ):
            chunk = {keys.of_set(tracked.version): tracked
                     for tracked in sets[start : start + _SETS_READ]}  # fmt: skip
            present = {(item.pk, item.sk) for item in SetItem.batch_get(
                list(chunk), consistent_read=True, attributes_to_get=["pk", "sk"])}  # fmt: skip
            absent = [_set_item(key, tracked) for key, tracked in chunk.items()
                      if key not in present]  # fmt: skip
            if absent:
                self._create_sets(absent)

    def _create_sets(self, items: list[SetItem]) -> None:
        def build(transaction: TransactWrite) -> None:
            for item in items:
                transaction.save(item, condition=SetItem.pk.does_not_exist())

        try:
            transact(self._connection(), build, f"{len(items)} sets")
        except TransactWriteError as error:
            if not conditional_failure(error):
                raise
            for item in items:  # another copy of the file created some of them
                try:
                    item.save(condition=SetItem.pk.does_not_exist())
                except PutError as refused:
                    if not conditional_failure(refused):
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
            buckets=sets[0].buckets if sets and sets[0].buckets > 1 else None,
        ).save()
        if sets and sets[0].buckets > 1:  # the insurer's sets by time are in shards too
            self._partner_update(planned.our_id, planned.partner, PartnerItem.spread.set(True))
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
        return [item for pk in version.set_pks
                for item in SetItem.query(pk, SetItem.sk.startswith(prefix), consistent_read=True)]  # fmt: skip

    def set_controls_of_group_version(self, version: GroupVersionItem) -> list[str]:
        """The ST02 of each set of the version: keys read only, none held but the ST02s."""
        return [control for control, _ in _projected(version)]

    def set_references_of_group_version(self, version: GroupVersionItem) -> dict[str, list[str]]:
        """BGN02 -> the ST02s of the version's sets that carried it: keys and BGN02 read only."""
        found: dict[str, list[str]] = {}
        for control, item in _projected(version, "bgn02"):
            if item.reference:
                found.setdefault(item.reference, []).append(control)
        return found

    def sets_of_group_version_with(
        self, version: GroupVersionItem, controls: Sequence[str]
    ) -> list[SetItem]:
        """The version's sets with these ST02s, 100 a request (BatchGetItem)."""
        wanted = [(version.set_pk(control),
                   keys.set_sk(version.interchange_control, version.digest, control))
                  for control in controls]  # fmt: skip
        found: list[SetItem] = []
        for start in range(0, len(wanted), _SETS_READ):
            found += SetItem.batch_get(wanted[start : start + _SETS_READ], consistent_read=True)
        return found

    def sets_of_group(self, our: str, partner: str, group_control: str) -> list[SetItem]:
        """Every version's sets (a spread version's from each of its partitions)."""
        pk = keys.group_pk(our, partner, group_control)
        found = list(SetItem.query(pk, SetItem.sk.startswith("SET#"), consistent_read=True))
        for version in self.group_versions(our, partner, group_control):
            if int(version.buckets or 1) > 1:
                found += self.sets_of_group_version(version)
        return found

    def sets_of_interchange(self, version: InterchangeItem) -> list[SetItem]:
        prefix = f"SET#{version.interchange_control}#{version.digest[:20]}#"
        found: list[SetItem] = []
        spread = version.group_buckets or {}
        for group_control in version.group_controls or []:
            buckets = int(spread.get(group_control, 1))
            for pk in keys.bucket_pks(version.our_id, version.partner, group_control, buckets):
                found += SetItem.query(pk, SetItem.sk.startswith(prefix), consistent_read=True)
        return found

    def _partner_update(self, our: str, partner: str, *more: Action) -> None:
        item = PartnerItem("PARTNERS", f"{our}#{partner}")
        item.update(actions=[
            PartnerItem.our_id.set(our),
            PartnerItem.partner.set(partner),
            PartnerItem.first_seen.set(PartnerItem.first_seen | iso_now()),
            *more,
        ])  # fmt: skip

    def _spread(self, our: str, partner: str) -> bool:
        """Whether some group version to this insurer spread its sets (``keys.sets_key``);
        once seen, remembered."""
        if (our, partner) in self._spread_partners:
            return True
        try:
            spread = bool(PartnerItem.get("PARTNERS", f"{our}#{partner}").spread)
        except PartnerItem.DoesNotExist:
            spread = False
        if spread:
            self._spread_partners.add((our, partner))
        return spread

    def sets_since(
        self, our: str, partner: str, since: str, before: str | None = None
    ) -> Iterator[SetItem]:
        """The insurer's sets sent at or after ``since`` (and before ``before``)."""
        condition = SetItem.us >= since if before is None else SetItem.us.between(since, before)
        pages = [
            self._sets_by_time(partition, condition) for partition in self._partitions(our, partner)
        ]
        # In time order across the shards (the report takes the oldest first).
        yield from heapq.merge(*pages, key=lambda item: item.us or "")

    def sets_before_roster(self, our: str, partner: str, before: str | None) -> Iterator[SetItem]:
        """The insurer's sets sent before ``before`` (every one when None) that code before
        the roster wrote (no ``rostered`` mark): their families may not be in the roster.
        Each lookup partition the insurer's sets are in is read in pages; a set written since
        is left out by the query's filter, so none of its members is read."""
        condition = SetItem.us < before if before else SetItem.us >= "0"
        unrostered = SetItem.rostered.does_not_exist()
        for partition in self._partitions(our, partner):
            yield from self._sets_by_time(partition, condition, unrostered)

    def _partitions(self, our: str, partner: str) -> list[str]:
        """The lookup partitions of the insurer's sets: one, or 17 once a group has spread
        (the flag is written with the group version, before its sets)."""
        if self._spread(our, partner):
            return keys.sets_keys(our, partner)
        return [keys.sets_key(our, partner)]

    def _sets_by_time(self, partition: str, condition: Any, only: Any = None) -> Iterator[SetItem]:
        connection = SetItem._get_connection()
        start: Any = None
        while True:
            page = connection.query(
                partition,
                range_key_condition=condition,
                filter_condition=only,
                index_name="lookup",
                exclusive_start_key=start,
            )
            for raw in page.get("Items", []):
                yield SetItem.from_raw_data(raw)
            start = page.get("LastEvaluatedKey")
            if not start:
                return


def _projected(version: GroupVersionItem, *names: str) -> Iterator[tuple[str, SetItem]]:
    """(ST02, item) of each set of a group version, its keys and ``names`` read only."""
    prefix = f"SET#{version.interchange_control}#{version.digest[:20]}#"
    for pk in version.set_pks:
        for item in SetItem.query(pk, SetItem.sk.startswith(prefix), consistent_read=True,
                                  attributes_to_get=["pk", "sk", *names]):  # fmt: skip
            yield item.sk[len(prefix) :], item


def _set_item(key: tuple[str, str], tracked: TrackedSet) -> SetItem:
    """A set as first written: sent, in the report's index and the partner's sets."""
    interchange_pk, interchange_sk = keys.of_interchange(tracked.version)
    return SetItem(
        *key,
        set_id=tracked.set_id,
        our_id=tracked.our_id,
        partner=tracked.partner,
        payer_name=tracked.payer_name,
        reference=tracked.reference or None,
        interchange_control=tracked.interchange_control,
        group_control=tracked.group_control,
        transaction_control=tracked.transaction_control,
        implementation=tracked.implementation,
        digest=tracked.digest,
        interchange_pk=interchange_pk,
        interchange_sk=interchange_sk,
        sent_at=tracked.sent_at,
        sent_day=tracked.sent_day,
        members=tracked.members,
        last_position=tracked.last_position,
        # Kept for small sets: their IK3 errors are attributed without a read.
        member_starts=_member_starts(tracked),
        segments=tracked.segments,
        findings=tracked.findings,
        finding_count=tracked.finding_count,
        predicted_rejection=tracked.predicted_rejection,
        rk=keys.open_shard(tracked.set_id),
        rs=f"{tracked.sent_at}#{tracked.set_id}",
        uk=keys.sets_key(
            tracked.our_id,
            tracked.partner,
            keys.set_bucket(tracked.transaction_control, tracked.buckets),
        ),
        us=f"{tracked.sent_at}#{tracked.set_id}",
        rostered=tracked.rostered or None,  # its families are in the insurer's roster
    )


def _member_starts(tracked: TrackedSet) -> list[int] | None:
    """Where each of a small set's INS loops starts, when every one is known."""
    starts = sorted(set(tracked.member_starts))
    if not 0 < tracked.members <= MEMBER_STARTS_KEPT or len(starts) != tracked.members:
        return None
    return starts if starts[0] > 0 else None
