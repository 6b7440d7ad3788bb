"""Families reconciled after a file: each touched family read (one consistent query), judged
(``domain.judgment``), what was decided written, and read again until a read finds what the
last judgment saw. The store (``FamilyJudge``) reads and writes; this decides when.

Many families' effectuation moves share transactions: a chunk of families is judged (its
findings and watches written, its moves held back), the chunk's moves written together,
then each family settled (read again, judged anew if anything came meanwhile)."""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from acktrack.domain.family import Family, SetAnswer
from acktrack.domain.judgment import Confirmation, Ref, judge
from acktrack.domain.ports import FamilyJudge, Outcome

_FAMILY_CHUNK = 512
RECONCILE_ROUNDS = 4  # a family written by others meanwhile is judged again (bounded)


@dataclass(slots=True)
class FamilyChange:
    """What one family's reconciliation changed (for metrics: counts and codes)."""

    new_findings: dict[str, int] = field(default_factory=dict)
    effectuated: int = 0
    uneffectuated: int = 0

    def moved(self, moves: Sequence[Confirmation], sign: int = 1) -> None:
        for move in moves:
            self.effectuated += sign * max(move.count, 0)
            self.uneffectuated += sign * max(-move.count, 0)


@dataclass(slots=True)
class Judged:
    """One family judged on one read: its findings and watches written, its effectuation
    moves held back (``moves``) to be written with other families'."""

    key: Family
    change: FamilyChange
    added: dict[str, str]  # finding id -> kind, written by this family's judgments
    moves: tuple[Confirmation, ...]
    wrote: bool
    current: bool  # no answer it waited on changed while it was judged
    partition: Any = None  # as read: the moves' items and the evidence it was judged on


class _Answers:
    """Set answers read for one judgment, and whether a watched set's answer changed after
    its watch was written: then the family is judged again."""

    def __init__(self, store: FamilyJudge) -> None:
        self.store = store
        self.read: dict[Ref, SetAnswer | None] = {}
        self.watched: frozenset[Ref] = frozenset()

    def get(self, key: Ref) -> SetAnswer | None:
        if key not in self.read:
            self.read[key] = self.store.set_answer(key)
        return self.read[key]

    def changed(self) -> bool:
        return any(self.store.set_answer(key) != self.read.get(key) for key in self.watched)


def evidence(partition: Any) -> frozenset[str]:
    """The members and insurer records a family's findings are computed from."""
    return frozenset(m.sk for m in partition.members) | frozenset(r.sk for r in partition.records)


def _judge_once(
    store: FamilyJudge, key: Family, partition: Any, judged: Judged, answers: _Answers,
    sla_hours: float,
) -> tuple[bool, tuple[Confirmation, ...]]:  # fmt: skip
    """One pass over what was read: findings and watches written, moves returned (not
    written); True when it wrote something or has moves."""
    judgment = judge(store.family_read(partition), answers=answers.get, sla_hours=sla_hours)
    store.settle_records(partition)  # expected actions sent, error-report rows applied
    wrote = store.write_watches(key, partition, judgment.watch)
    answers.watched = judgment.watch  # written, then read again (``changed``): none missed
    if judgment.added or judgment.dropped:
        store.write_findings(key, judgment.added, judgment.dropped)
    change, added = judged.change, judged.added
    for found in judgment.added:
        kind = found.finding.kind
        change.new_findings[kind] = change.new_findings.get(kind, 0) + 1
        added[found.finding_id] = kind
    for finding_id in judgment.dropped:
        if finding_id in added:  # written on a partial view a moment ago: not new after all
            change.new_findings[added[finding_id]] -= 1
    change.moved(judgment.moves)
    return wrote or judgment.writes, judgment.moves


def judge_family(store: FamilyJudge, key: Family, sla_hours: float = 48.0) -> Judged:
    """The family judged on one consistent read, its moves held back (``write_judged``)."""
    partition = store.family(*key)
    judged = Judged(key, FamilyChange(), {}, (), False, True, partition)
    answers = _Answers(store)
    judged.wrote, moves = _judge_once(store, key, partition, judged, answers, sla_hours)
    judged.current = not answers.changed()
    if judged.current:
        judged.moves = moves
    else:  # judged again from a fresh read when settled: these moves never go
        judged.change.moved(moves, sign=-1)
    return judged


def write_judged(store: FamilyJudge, judged: Sequence[Judged]) -> None:
    """The judged families' moves, packed into shared transactions per insurer."""
    moved = [(one.key, one.partition, one.moves) for one in judged if one.moves]
    if moved:
        store.write_moves(moved)


def settle_family(store: FamilyJudge, judged: Judged, sla_hours: float) -> FamilyChange:
    """After the chunk's moves are written: read the family again; if anything came
    meanwhile (or an answer it waits on changed while it was judged), judge it again,
    until a read finds what the last judgment saw. Another invocation may write to the
    same family meanwhile (a part of the same file, the insurer's file), and a decision
    taken on a partial view must never stay."""
    if judged.current and not judged.wrote:
        return judged.change
    family = store.family(*judged.key)
    if judged.current and evidence(family) == evidence(judged.partition):
        return judged.change
    for _ in range(RECONCILE_ROUNDS - 1):
        answers = _Answers(store)
        wrote, moves = _judge_once(store, judged.key, family, judged, answers, sla_hours)
        if moves:  # this family's moves at once, in their own transaction
            store.write_moves([(judged.key, family, moves)], packed=False)
        if answers.changed():  # an answer came while judging: judge again with it
            family = store.family(*judged.key)
            continue
        if not wrote:
            break  # nothing written: nothing taken on a partial view can stay
        again = store.family(*judged.key)
        if evidence(again) == evidence(family):
            break
        family = again
    return judged.change


def reconcile_families(
    store: FamilyJudge, families: set[Family], outcome: Outcome, sla_hours: float = 48.0
) -> None:
    """Recompute each touched family's findings and effectuations (a few threads): a chunk
    of families is judged, their effectuation moves written together in shared
    transactions, then each family read again and judged anew if anything came meanwhile."""
    if not families:
        return
    keys = sorted(families)

    def judged(family: Family) -> Judged:
        return judge_family(store, family, sla_hours)

    def settled(one: Judged) -> FamilyChange:
        return settle_family(store, one, sla_hours)

    # The threads start in this thread's context (the local stack's request trace follows).
    with ThreadPoolExecutor(
        max_workers=store.writer_threads, thread_name_prefix="acktrack-family",
        initializer=_enter_context, initargs=(contextvars.copy_context(),),
    ) as pool:  # fmt: skip
        # In chunks: pool.map submits everything at once (a future per family).
        for start in range(0, len(keys), _FAMILY_CHUNK):
            chunk = keys[start : start + _FAMILY_CHUNK]
            found = list(pool.map(judged, chunk))
            write_judged(store, found)
            for (_, partner, _), change in zip(chunk, pool.map(settled, found), strict=True):
                for kind, count in change.new_findings.items():
                    if not count:
                        continue
                    outcome.findings[kind] = outcome.findings.get(kind, 0) + count
                    outcome.count(partner, "findings", count)
                effectuated = change.effectuated - change.uneffectuated
                outcome.count(partner, "effectuated", effectuated)
                outcome.effectuated += effectuated


def _enter_context(context: contextvars.Context) -> None:
    for variable, value in context.items():
        variable.set(value)
