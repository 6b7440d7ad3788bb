"""Families: a subscriber's partition read in one consistent query, and what a judgment of
it decided (``domain.judgment``; ``ingest.families`` runs the passes) written: findings,
watches, and effectuation moves in conditional transactions that move the counts once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from pynamodb.exceptions import PutError, UpdateError

from acktrack.domain.family import Family, SetAnswer
from acktrack.domain.judgment import Confirmation, FamilyRead, NewFinding
from acktrack.domain.ledger import ClosedBy, Resolution
from acktrack.domain.status import OPEN, Status
from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure
from acktrack.store.effectuations import Move, write_families, write_family
from acktrack.store.expected import close_sent
from acktrack.store.members import effectuation_record, expiry, sent_member
from acktrack.store.models import (
    EffectuationItem,
    ErrorRowItem,
    ExpectedItem,
    MemberItem,
    QualityItem,
    ResolutionItem,
    SetItem,
    WatchItem,
)
from acktrack.store.reported_errors import apply_reported, change_with


class Partition(NamedTuple):
    """One subscriber's partition as read: members, insurer records, findings, counted
    members, operators' resolutions."""

    members: list[MemberItem]
    records: list[EffectuationItem]
    findings: list[QualityItem]
    counted: set[str]
    resolutions: list[ResolutionItem]
    watches: frozenset[tuple[str, str]] = frozenset()  # sets whose answer it waits on
    expected: tuple[ExpectedItem, ...] = ()  # actions the exchange's system says it took
    errors: tuple[ErrorRowItem, ...] = ()  # rows of the insurer's error reports about it


class FamilyStore(TableStore):
    """A subscriber's family partition: members, the insurer's records, the findings."""

    def family(self, our: str, partner: str, subscriber_id: str) -> Partition:
        """Everything known about one subscriber id: one consistent query of its partition."""
        connection = MemberItem._get_connection()
        members: list[MemberItem] = []
        records: list[EffectuationItem] = []
        findings: list[QualityItem] = []
        counted: set[str] = set()  # member sks counted as effectuated (their C# markers)
        resolutions: list[ResolutionItem] = []
        watches: set[tuple[str, str]] = set()
        expected: list[ExpectedItem] = []
        errors: list[ErrorRowItem] = []
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
                elif sort.startswith("C#"):
                    counted.add("M" + sort[1:])
                elif sort.startswith("R#"):
                    resolutions.append(ResolutionItem.from_raw_data(raw))
                elif sort.startswith("W#"):
                    watches.add(keys.watched_set(sort))
                elif sort.startswith("X#"):
                    expected.append(ExpectedItem.from_raw_data(raw))
                elif sort.startswith("Y#"):
                    errors.append(ErrorRowItem.from_raw_data(raw))
            start = page.get("LastEvaluatedKey")
            if not start:
                return Partition(members, records, findings, counted, resolutions,
                                 frozenset(watches), tuple(expected), tuple(errors))  # fmt: skip

    def family_read(self, family: Partition) -> FamilyRead:
        """The partition as read, in the domain's terms (``domain.judgment``)."""
        return FamilyRead(
            sent=tuple(sent_member(item) for item in family.members),
            records=tuple(effectuation_record(item) for item in family.records),
            findings={item.sk[2:]: item.kind for item in family.findings},  # Q#<finding id>
            counted=frozenset((m.pk, m.sk) for m in family.members if m.sk in family.counted),
        )

    @staticmethod
    def set_answer(key: tuple[str, str]) -> SetAnswer | None:
        """A set's status as it stands (strongly consistent); None: no such set."""
        try:
            item = SetItem.get(*key, consistent_read=True)
        except SetItem.DoesNotExist:
            return None
        return SetAnswer(Status(item.status), item.status_at)

    def settle_records(self, family: Partition) -> None:
        """Close the expected actions its 834s sent; apply the error-report rows about it."""
        close_sent(family.expected, family.members)
        apply_reported(family.errors, family.members, change_with(self._set_acks))

    @staticmethod
    def write_watches(key: Family, family: Partition, wanted: frozenset[tuple[str, str]]) -> bool:
        """Keep a watch beside each set whose answer decides a duplicate question of this
        family (the 999 or TA1 that brings it finds the family there), and a marker in the
        family's partition; both go once the question is decided. True when it wrote."""
        family_key = keys.family_pk(*key)
        our, partner, subscriber_id = key
        expires = _latest_expiry(family.members)
        for set_pk, set_sk in sorted(wanted - family.watches):
            # Written, then the answer read again (``ingest.families``): no answer is missed.
            WatchItem(set_pk, keys.watch_sk(set_sk, family_key), our_id=our, partner=partner,
                      subscriber_id=subscriber_id, expires=expires).save()  # fmt: skip
            WatchItem(family_key, keys.watch_marker(set_pk, set_sk), our_id=our, partner=partner,
                      subscriber_id=subscriber_id, expires=expires).save()  # fmt: skip
        for set_pk, set_sk in sorted(family.watches - wanted):
            WatchItem(set_pk, keys.watch_sk(set_sk, family_key)).delete()
            WatchItem(family_key, keys.watch_marker(set_pk, set_sk)).delete()
        return wanted != family.watches

    def write_findings(
        self, key: Family, added: Sequence[NewFinding], dropped: Sequence[str]
    ) -> None:
        family_key = keys.family_pk(*key)
        for found in added:
            self._put_quality(key, found)
        for finding_id in dropped:
            QualityItem(family_key, f"Q#{finding_id}").delete()

    def write_moves(
        self, families: Sequence[tuple[Family, Partition, Sequence[Confirmation]]],
        *, packed: bool = True,
    ) -> None:  # fmt: skip
        """The families' effectuation moves, each with its counter delta: packed into shared
        transactions per insurer, or (``packed=False``) a transaction per family; the sets of
        members no longer effectuated go back in the report's index."""
        by_partner: dict[tuple[str, str], list[list[Move]]] = {}
        for key, family, confirmations in families:
            if confirmations:
                by_ref = {(item.pk, item.sk): item for item in family.members}
                moves = [Move(by_ref[c.member], c.current, c.record, c.count)
                         for c in confirmations]  # fmt: skip
                by_partner.setdefault(key[:2], []).append(moves)
        reopened: list[tuple[str, str]] = []
        for (our, partner), moved in sorted(by_partner.items()):
            if packed:
                reopened += write_families(self._connection(), moved, our, partner)
            else:
                for moves in moved:
                    reopened += write_family(self._connection(), moves, our, partner)
        if reopened:  # no longer effectuated: open again
            self.relist_sets(reopened)

    @staticmethod
    def _put_quality(key: Family, found: NewFinding) -> None:
        our, partner, subscriber_id = key
        family = keys.family_pk(*key)
        sk, finding, member = f"Q#{found.finding_id}", found.finding, found.member
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
        elif found.record is not None:
            record = found.record
            item.member_id = record.member_id
            item.maintenance_type = record.maintenance_type
            item.sent_at = record.at
        item.rk = keys.quality_shard(family)
        item.rs = f"{found.observed}#{sk}"  # the report's window reads this
        # A finding goes with its evidence: retention counts from that file's arrival.
        evidence = member if member is not None else found.record
        item.expires = evidence.expires if evidence is not None else None
        item.save()

    def add_resolution(self, our: str, partner: str, subscriber_id: str, resolution: Resolution,
                       closed: int, *, members: Sequence[Any] | None = None) -> bool:  # fmt: skip
        """Record a resolution once (False: it was recorded already). It expires no earlier
        than the member transactions it closes, so they never reopen while they are kept."""
        family = keys.family_pk(our, partner, subscriber_id)
        sk = keys.resolution_sk(resolution.at, resolution.resolution_id)
        operator = resolution.kind == ClosedBy.OPERATOR
        item = ResolutionItem(
            family,
            sk,
            our_id=our,
            partner=partner,
            subscriber_id=subscriber_id,
            member_id=resolution.member_id,
            resolution_id=resolution.resolution_id,
            at=resolution.at,
            by=resolution.by,
            caller=resolution.caller or None,
            reason=resolution.reason,
            closed=closed,
            refs={f"{pk}|{sk}" for pk, sk in resolution.refs} or None,
            expires=self._resolution_expiry(family, resolution, members),
            kind=None if operator else str(resolution.kind),
        )
        if operator:  # the report lists the window's (reconciliation's are in its own section)
            item.rk = keys.resolution_shard(family)
            item.rs = f"{resolution.at}#{resolution.resolution_id}"
        try:
            item.save(condition=ResolutionItem.pk.does_not_exist())
        except PutError as error:
            if conditional_failure(error):
                return False
            raise
        return True

    def _resolution_expiry(
        self, family: str, resolution: Resolution, members: Sequence[Any] | None = None
    ) -> datetime | None:
        """RetentionDays after it was recorded, or the latest expiry of the member transactions
        it closes when that is later: a resolution gone before them would reopen them. One of
        them kept without an expiry (an item older than retention) keeps it too (None). They
        are in its family's partition: one consistent query (GetItem and Query are what the
        functions recording a reconciliation's confirmations may do), unless the caller has
        just read them (``members``)."""
        own = expiry(resolution.at, self.retention_days)
        if own is None or not resolution.refs:
            return own
        latest = own
        read = members if members is not None else MemberItem.query(
            family, MemberItem.sk.startswith("M#"), consistent_read=True,
            attributes_to_get=["pk", "sk", "expires"],
        )  # fmt: skip
        for member in read:
            if (member.pk, member.sk) not in resolution.refs:
                continue
            if member.expires is None:
                return None
            latest = max(latest, member.expires)
        return latest

    def operator_resolutions(self, since: str, until: str) -> Iterator[ResolutionItem]:
        """Operators' resolutions recorded from ``since`` to ``until`` (inclusive), oldest first."""
        found: list[ResolutionItem] = []
        for shard in range(keys.OPEN_SHARDS):
            found += ResolutionItem.report.query(
                f"RESOLVED#{shard}", ResolutionItem.rs.between(since, f"{until}~")
            )
        yield from sorted(found, key=lambda item: (item.at, item.resolution_id))

    def get_sets(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SetItem]:
        """Sets by key, 100 a request (BatchGetItem, strongly consistent); absent ones left out."""
        found: dict[tuple[str, str], SetItem] = {}
        keys_left = sorted(set(wanted))
        for start in range(0, len(keys_left), 100):
            for item in SetItem.batch_get(keys_left[start : start + 100], consistent_read=True):
                found[(item.pk, item.sk)] = item
        return found

    @staticmethod
    def get_set_item(pk: str, sk: str) -> SetItem | None:
        try:
            return SetItem.get(pk, sk, consistent_read=True)
        except SetItem.DoesNotExist:
            return None

    def relist_sets(self, wanted: Iterable[tuple[str, str]]) -> int:
        """Put sets back in the report's index (an answer that closed their members changed);
        only a set still open by status (sent, received, rejected) goes back."""
        done = 0
        found = (self.get_set_item(pk, sk) for pk, sk in sorted(set(wanted)))  # rare: one by one
        for item in (found_item for found_item in found if found_item is not None):
            if Status(item.status) not in OPEN or item.rk:
                continue
            try:
                item.update(actions=[SetItem.rk.set(keys.open_shard(item.set_id)),
                                     SetItem.rs.set(f"{item.sent_at}#{item.set_id}")],
                            condition=SetItem.revision == item.revision)  # fmt: skip
            except UpdateError as error:
                if not conditional_failure(error):
                    raise
                continue  # it changed meanwhile: its own status move decided its place
            done += 1
        return done

    def quality_findings(self, since: str) -> Iterator[QualityItem]:
        for shard in range(keys.OPEN_SHARDS):
            yield from QualityItem.report.query(f"QUALITY#{shard}", QualityItem.rs >= since)

    def awaiting_effectuation(self, sent_before: str) -> Iterator[MemberItem]:
        for shard in range(keys.EFFECT_SHARDS):
            yield from MemberItem.report.query(f"EFFECT#{shard}", MemberItem.rs < sent_before)


def _latest_expiry(members: list[MemberItem]) -> Any:
    times = [item.expires for item in members if item.expires is not None]
    return max(times) if times else None
