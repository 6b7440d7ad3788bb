"""A family's reconciliation (``ingest.families``) on an in-memory family store: what a
judgment decides is written once and counted once, in any order of arrival, and a decision
taken on a partial view (another writer between two reads) never stays."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acktrack.domain.family import EffectuationRecord, Family, SentMember
from acktrack.domain.judgment import Confirmation, FamilyRead, NewFinding, Ref
from acktrack.domain.ports import Outcome
from acktrack.domain.status import FileOutcome
from acktrack.ingest import families as loop
from acktrack.ingest.families import reconcile_families
from tests.unit.domain.test_family import record, sent

FAMILY: Family = ("US", "HEALTHPLAN01", "100000001")


class Families:
    """``FamilyJudge`` in memory: each family's member transactions, the insurer's records,
    its findings and count markers. A move applies on its condition (the record id the
    member pointed at as read), as the store's conditional transactions do."""

    writer_threads = 1

    def __init__(self) -> None:
        self.sent: dict[Family, dict[Ref, SentMember]] = defaultdict(dict)
        self.records: dict[Family, dict[Ref, EffectuationRecord]] = defaultdict(dict)
        self.findings: dict[Family, dict[str, str]] = defaultdict(dict)
        self.counted: dict[Family, set[Ref]] = defaultdict(set)
        self.effectuated = 0  # the insurer's count
        self.reads = 0
        self.after_read: Callable[[int], None] = lambda reads: None  # another writer

    def add(self, *items: SentMember | EffectuationRecord) -> None:
        for item in items:
            shelf = self.sent if isinstance(item, SentMember) else self.records
            shelf[FAMILY][item.ref] = item  # type: ignore[index]

    def family(self, our: str, partner: str, subscriber_id: str) -> Any:
        key = (our, partner, subscriber_id)
        read = FamilyRead(
            sent=tuple(self.sent[key].values()),
            records=tuple(self.records[key].values()),
            findings=dict(self.findings[key]),
            counted=frozenset(self.counted[key]),
            watches=frozenset(),
        )
        self.reads += 1
        self.after_read(self.reads)
        return SimpleNamespace(read=read, members=[SimpleNamespace(sk=m.ref[1]) for m in read.sent],
                               records=[SimpleNamespace(sk=r.ref[1]) for r in read.records])  # fmt: skip

    def family_read(self, family: Any) -> FamilyRead:
        return family.read  # type: ignore[no-any-return]

    def set_answer(self, key: tuple[str, str]) -> Any:
        return None

    def settle_records(self, family: Any) -> None:
        pass

    def write_watches(self, key: Family, family: Any, wanted: frozenset[Ref]) -> bool:
        return False

    def write_findings(
        self, key: Family, added: Sequence[NewFinding], dropped: Sequence[str]
    ) -> None:
        for found in added:
            self.findings[key][found.finding_id] = found.finding.kind
        for finding_id in dropped:
            self.findings[key].pop(finding_id, None)

    def write_moves(self, families: Sequence[tuple[Family, Any, Sequence[Confirmation]]],
                    *, packed: bool = True) -> None:  # fmt: skip
        for key, _, moves in families:
            for move in moves:
                member = self.sent[key][move.member]
                if member.effectuated_by != move.current:
                    continue  # refused: it moved meanwhile (the next read sees how)
                target = move.record.record_id if move.record else None
                self.sent[key][move.member] = replace(member, effectuated_by=target)
                if move.count > 0 and move.member not in self.counted[key]:
                    self.counted[key].add(move.member)
                    self.effectuated += 1
                elif move.count < 0 and move.member in self.counted[key]:
                    self.counted[key].discard(move.member)
                    self.effectuated -= 1

    def state(self) -> tuple[Any, ...]:
        return (sorted(self.findings[FAMILY].values()), self.effectuated,
                sorted((r[1], m.effectuated_by) for r, m in self.sent[FAMILY].items()))  # fmt: skip


def _reconcile(store: Families) -> Outcome:
    outcome = Outcome(FileOutcome.EFFECTUATION)
    reconcile_families(store, {FAMILY}, outcome)
    return outcome


def test_a_record_confirms_its_member_once_and_a_redelivery_changes_nothing() -> None:
    store = Families()
    store.add(sent(1), record(1))
    first = _reconcile(store)
    assert first.effectuated == store.effectuated == 1
    assert store.sent[FAMILY][sent(1).ref].effectuated_by == "EFF-1"
    assert store.reads == 2  # judged, then read once more after its move: nothing came
    before = store.state()
    again = _reconcile(store)
    assert again.effectuated == 0 and again.findings == {} and store.state() == before
    assert store.reads == 3  # nothing written: no second read


def test_a_finding_is_new_once_and_goes_when_its_evidence_changes() -> None:
    store = Families()
    store.add(sent(2, member_id="E2", subscriber=False))
    assert _reconcile(store).findings == {"dependent_without_subscriber": 1}
    assert _reconcile(store).findings == {}  # stored already: not new again
    store.add(sent(1))  # its subscriber, in the same set
    assert _reconcile(store).findings == {}
    assert store.findings[FAMILY] == {}


def test_members_landing_between_two_reads_are_judged_again_and_nothing_stale_stays() -> None:
    """The insurer's record is judged before our members land (another invocation writes
    them right after the first read): "never sent" is written, then the second read finds
    the members and the family is judged again."""
    store = Families()
    store.add(record(1))
    store.after_read = lambda reads: store.add(sent(1)) if reads == 1 else None
    outcome = _reconcile(store)
    assert store.findings[FAMILY] == {}  # "never sent", concluded on a partial view, is gone
    assert outcome.findings.get("never_sent", 0) == 0  # and was never counted as new
    assert outcome.effectuated == store.effectuated == 1


def test_with_one_round_the_partial_view_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above reaches the race: without a second judgment the stale finding stays."""
    monkeypatch.setattr(loop, "RECONCILE_ROUNDS", 1)
    store = Families()
    store.add(record(1))
    store.after_read = lambda reads: store.add(sent(1)) if reads == 1 else None
    _reconcile(store)
    assert list(store.findings[FAMILY].values()) == ["never_sent"]


ARRIVALS = [sent(1), sent(2, member_id="E2", subscriber=False), record(1),
            record(2, member_id="E2"), record(3, member_id="E9")]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(len(ARRIVALS))))
def test_any_order_of_arrival_ends_in_the_state_of_all_at_once(order: list[int]) -> None:
    whole = Families()
    whole.add(*ARRIVALS)
    _reconcile(whole)
    store = Families()
    for index in order:  # each file reconciles the family as it lands
        store.add(ARRIVALS[index])
        _reconcile(store)
    assert store.state() == whole.state()
    assert "never_sent" in whole.state()[0] and whole.effectuated == 2
