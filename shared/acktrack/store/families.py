"""Families: data-quality findings and effectuations recomputed from one consistent read
of a subscriber's partition, written only where they changed; counts move once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from pynamodb.exceptions import PutError, UpdateError

from acktrack.domain.family import (
    EffectuationRecord,
    FamilyFinding,
    SentMember,
    SetAnswer,
    reconcile,
)
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


@dataclass(slots=True)
class FamilyChange:
    """What one reconciliation changed (for metrics; every field is a count or a code)."""

    new_findings: dict[str, int]
    effectuated: int = 0
    uneffectuated: int = 0


@dataclass(slots=True)
class Judged:
    """One family judged on one read (``FamilyStore.judge_family``): its findings and
    watches written, its effectuation moves held back to be written with other families'."""

    key: tuple[str, str, str]  # our id, partner, subscriber id
    partition: Partition  # as read for the judgment
    change: FamilyChange
    added: dict[str, str]  # finding sk -> kind, written by this judgment
    moves: list[Move]
    wrote: bool
    current: bool  # no answer it waited on changed while it was judged


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

    def judge_family(
        self, our: str, partner: str, subscriber_id: str, *, sla_hours: float = 48.0
    ) -> Judged:
        """Recompute the family's findings and effectuations from one consistent read of its
        partition (what this invocation wrote, its member writer closed first, is part of
        it), writing the findings and holding the effectuation moves back, to be written
        with other families' (``write_judged``), then settled (``ingest.steps``)."""
        change, added = FamilyChange(new_findings={}), dict[str, str]()
        family = self.family(our, partner, subscriber_id)
        answers = _Answers()
        moves: list[Move] = []
        wrote = self._reconcile_once(our, partner, subscriber_id, family, change, added,
                                     answers, sla_hours, moves)  # fmt: skip
        current = not answers.changed()
        if not current:  # judged again from a fresh read when settled: these moves never go
            for move in moves:
                change.effectuated -= max(move.count, 0)
                change.uneffectuated -= max(-move.count, 0)
            moves = []
        return Judged((our, partner, subscriber_id), family, change, added, moves, wrote, current)

    def write_judged(self, judged: list[Judged]) -> None:
        """The judged families' moves, packed into shared transactions per insurer."""
        by_partner: dict[tuple[str, str], list[list[Move]]] = {}
        for one in judged:
            if one.moves:
                by_partner.setdefault(one.key[:2], []).append(one.moves)
        reopened: list[tuple[str, str]] = []
        for (our, partner), families in sorted(by_partner.items()):
            reopened += write_families(self._connection(), families, our, partner)
        if reopened:  # no longer effectuated: open again
            self.relist_sets(reopened)

    def judge_again(
        self, judged: Judged, family: Partition, *, sla_hours: float = 48.0
    ) -> tuple[bool, bool]:
        """One more pass over the family as read again (``ingest.steps.settle_family``
        decides when), its moves written at once: (it wrote, an answer it waits on changed
        meanwhile). Counts add to ``judged.change``."""
        answers = _Answers()
        wrote = self._reconcile_once(*judged.key, family, judged.change, judged.added,
                                     answers, sla_hours)  # fmt: skip
        return wrote, answers.changed()

    @staticmethod
    def same_evidence(one: Partition, other: Partition) -> bool:
        """The same members and insurer records (what a family's findings come from)."""
        return _evidence(one) == _evidence(other)

    def _reconcile_once(
        self,
        our: str,
        partner: str,
        subscriber_id: str,
        family: Partition,
        change: FamilyChange,
        added: dict[str, str],
        answers: _Answers,
        sla_hours: float,
        deferred: list[Move] | None = None,
    ) -> bool:
        """One pass over what was read; True when it wrote something (or holds moves back in
        ``deferred``, to be written with other families')."""
        members, records, existing, counted, *_ = family
        by_ref = {(item.pk, item.sk): item for item in members}
        sent = {m.ref: m for m in (sent_member(item) for item in members)}
        known_records = {r.ref: r for r in (effectuation_record(item) for item in records)}
        state = reconcile(sent.values(), known_records.values(), answers=answers.get,
                          sla_hours=sla_hours)  # fmt: skip
        family_key = keys.family_pk(our, partner, subscriber_id)
        close_sent(family.expected, members)  # expected actions its 834s sent
        apply_reported(family.errors, members, change_with(self._set_acks))
        wrote = self._watch(our, partner, subscriber_id, family, state.watch)
        answers.watched = set(state.watch)
        wanted = {
            self._quality_sk(finding, sent, known_records): finding for finding in state.findings
        }
        have = {item.sk: item for item in existing}
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
        moves: list[Move] = []
        for ref, member in sent.items():
            confirming = state.effectuated.get(ref)
            target = confirming.record_id if confirming else None
            current = member.effectuated_by
            # The count follows the member's marker, whatever the member item went through
            # (a second ingest of its interchange rewrites it whole).
            was_counted = by_ref[ref].sk in counted
            count = 1 if target and not was_counted else -1 if not target and was_counted else 0
            if target != current or count:
                moves.append(Move(by_ref[ref], current, confirming, count))
                change.effectuated += max(count, 0)
                change.uneffectuated += max(-count, 0)
                wrote = True
        if moves and deferred is not None:
            deferred += moves
        elif moves:  # the family's moves together: one transaction (``effectuations``)
            reopened = write_family(self._connection(), moves, our, partner)
            if reopened:  # no longer effectuated: open again
                self.relist_sets(reopened)
        return wrote

    @staticmethod
    def _watch(our: str, partner: str, subscriber_id: str, family: Partition,
               wanted: set[tuple[str, str]]) -> bool:  # fmt: skip
        """Keep a watch beside each set whose answer decides a duplicate question of this
        family (the 999 or TA1 that brings it finds the family there), and a marker in the
        family's partition; both go once the question is decided. True when it wrote."""
        family_key = keys.family_pk(our, partner, subscriber_id)
        expires = _latest_expiry(family.members)
        for set_pk, set_sk in sorted(wanted - family.watches):
            # Written, then the answer read again (``_Answers.changed``): no answer is missed.
            WatchItem(set_pk, keys.watch_sk(set_sk, family_key), our_id=our, partner=partner,
                      subscriber_id=subscriber_id, expires=expires).save()  # fmt: skip
            WatchItem(family_key, keys.watch_marker(set_pk, set_sk), our_id=our, partner=partner,
                      subscriber_id=subscriber_id, expires=expires).save()  # fmt: skip
        for set_pk, set_sk in sorted(family.watches - wanted):
            WatchItem(set_pk, keys.watch_sk(set_sk, family_key)).delete()
            WatchItem(family_key, keys.watch_marker(set_pk, set_sk)).delete()
        return wanted != family.watches

    @staticmethod
    def _quality_sk(
        finding: FamilyFinding,
        sent: dict[tuple[str, str], SentMember],
        records: dict[tuple[str, str], EffectuationRecord],
    ) -> str:
        observed = FamilyStore._observed(finding, sent, records)
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


class _Answers:
    """Set answers read for one judgment (strongly consistent), and whether a watched set's
    answer changed after its watch was written: then the family is judged again."""

    def __init__(self) -> None:
        self.read: dict[tuple[str, str], SetAnswer | None] = {}
        self.watched: set[tuple[str, str]] = set()

    def get(self, key: tuple[str, str]) -> SetAnswer | None:
        if key not in self.read:
            self.read[key] = _answer(key)
        return self.read[key]

    def changed(self) -> bool:
        return any(_answer(key) != self.read.get(key) for key in self.watched)


def _answer(key: tuple[str, str]) -> SetAnswer | None:
    try:
        item = SetItem.get(*key, consistent_read=True)
    except SetItem.DoesNotExist:
        return None
    return SetAnswer(Status(item.status), item.status_at)


def _latest_expiry(members: list[MemberItem]) -> Any:
    times = [item.expires for item in members if item.expires is not None]
    return max(times) if times else None


def _evidence(family: Partition) -> set[str]:
    """The members and insurer records a family's findings are computed from."""
    return {item.sk for item in family.members} | {item.sk for item in family.records}
