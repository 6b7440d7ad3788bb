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

from acktrack.domain.family import EffectuationRecord, Family, SentMember, SetAnswer
from acktrack.domain.judgment import Confirmation, FamilyRead, NewFinding, Ref
from acktrack.domain.ports import Outcome
from acktrack.domain.status import FileOutcome, Status
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
        self.watches: dict[Family, frozenset[Ref]] = defaultdict(frozenset)
        self.answers: dict[Ref, SetAnswer] = {}
        self.effectuated = 0  # the insurer's count
        self.reads = 0
        self.after_read: Callable[[int], None] = lambda reads: None  # another writer
        self.after_answer: Callable[[Ref], None] = lambda key: None  # a 999 meanwhile

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
        )
        self.reads += 1
        self.after_read(self.reads)
        return SimpleNamespace(read=read, members=[SimpleNamespace(sk=m.ref[1]) for m in read.sent],
                               records=[SimpleNamespace(sk=r.ref[1]) for r in read.records])  # fmt: skip

    def family_read(self, family: Any) -> FamilyRead:
        return family.read  # type: ignore[no-any-return]

    def set_answer(self, key: tuple[str, str]) -> SetAnswer | None:
        answer = self.answers.get(key)
        self.after_answer(key)
        return answer

    def settle_records(self, family: Any) -> None:
        pass

    def write_watches(self, key: Family, family: Any, wanted: frozenset[Ref]) -> bool:
        wrote, self.watches[key] = wanted != self.watches[key], wanted
        return wrote

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
                sorted((r[1], m.effectuated_by) for r, m in self.sent[FAMILY].items()),
                sorted(self.watches[FAMILY]))  # fmt: skip


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


def test_an_answer_that_comes_while_the_family_is_judged_is_judged_with() -> None:
    """A repeated addition waits on the earlier one's answer (its set watched); the 999
    accepting it lands right after the judgment read it: the moves taken without it are
    withdrawn, uncounted, and the family judged again ends as if the answer had been
    there from the start (the later addition a duplicate)."""
    first, again = sent(1), sent(2, at="2024-01-16T12:00:00Z", interchange="000001002")
    accepted = SetAnswer(Status.ACCEPTED, "2024-01-15T18:00:00Z")
    whole = Families()
    whole.add(first, again, record(1))
    whole.answers[first.set_key] = accepted
    whole_outcome = _reconcile(whole)
    store = Families()
    store.add(first, again, record(1))

    def comes(key: Ref) -> None:  # after the judgment's first read of that answer
        store.answers[key] = accepted

    store.after_answer = comes
    outcome = _reconcile(store)
    assert store.state() == whole.state()
    assert "duplicate_enrollment" in store.state()[0] and store.effectuated == 1
    assert outcome.effectuated == store.effectuated == whole_outcome.effectuated
    assert outcome.findings == whole_outcome.findings


ARRIVALS = [sent(1), sent(2, member_id="E2", subscriber=False), record(1),
            record(2, member_id="E2"), record(3, member_id="E9")]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(len(ARRIVALS))))
def test_any_order_of_arrival_ends_in_the_state_of_all_at_once(order: list[int]) -> None:
    whole = Families()
    whole.add(*ARRIVALS)
    _reconcile(whole)
    store, counted = Families(), 0
    for index in order:  # each file reconciles the family as it lands
        store.add(ARRIVALS[index])
        counted += _reconcile(store).effectuated
    assert store.state() == whole.state()
    assert counted == store.effectuated  # every change counted once, as it happened
    assert "never_sent" in whole.state()[0] and whole.effectuated == 2
