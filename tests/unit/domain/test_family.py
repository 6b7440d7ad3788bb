"""Data-quality checks and effectuation matching for one family (pure: no AWS)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from acktrack.domain.family import (
    CHECKS,
    EFFECTUATION_FLAGS,
    EffectuationRecord,
    SentMember,
    SetAnswer,
    reconcile,
    transaction_findings,
)
from acktrack.domain.status import Status

PREMIUM = {"PRE AMT 1": "450.00", "PRE AMT TOT": "450.00", "APTC AMT": "300.00"}


def coverage(begin: str = "20240201", *, end: str | None = None, plan: str = "PLAN01",
             maintenance: str = "021", line: str = "HLT") -> dict[str, Any]:  # fmt: skip
    return {"maintenance_type": maintenance, "insurance_line": line, "plan": plan,
            "coverage_level": "IND", "benefit_begin": begin, "benefit_end": end}  # fmt: skip


def sent(
    number: int,
    *,
    member_id: str | None = "E1",
    subscriber: bool = True,
    maintenance: str = "021",
    coverages: tuple[dict[str, Any], ...] | None = None,
    categories: dict[str, str] | None = None,
    at: str = "2024-01-15T12:00:00Z",
    interchange: str = "000001001",
    eligibility_end: str | None = None,
    set_findings: tuple[str, ...] = (),
) -> SentMember:
    return SentMember(
        ref=("FAM#x", f"M#{number}"),
        sent_key=(at, interchange, "1", "0001", f"{number:07d}"),
        subscriber_id="100000001",
        member_id=member_id,
        subscriber_indicator="Y" if subscriber else "N",
        relationship="18" if subscriber else "19",
        maintenance_type=maintenance,
        coverages=coverages if coverages is not None else (coverage(),),
        categories=categories if categories is not None else dict(PREMIUM),
        eligibility_end=eligibility_end,
        set_findings=set_findings,
    )


def record(
    number: int,
    *,
    member_id: str | None = "E1",
    coverages: tuple[dict[str, Any], ...] | None = None,
    maintenance: str = "021",
    at: str = "2024-02-01T09:00:00Z",
) -> EffectuationRecord:
    return EffectuationRecord(
        ref=("FAM#x", f"E#{number}"),
        record_id=f"EFF-{number}",
        at=at,
        subscriber_id="100000001",
        member_id=member_id,
        subscriber_indicator="Y",
        relationship="18",
        maintenance_type=maintenance,
        coverages=coverages if coverages is not None else (coverage(),),
        carrier_member_id="C1",
        policy_ids=("POL1",),
    )


def kinds(
    members: list[SentMember],
    records: list[EffectuationRecord] = (),  # type: ignore[assignment]
    answers: dict[tuple[str, str], SetAnswer] | None = None,
) -> set[tuple[str, str]]:
    found = reconcile(members, records, answers=(answers or {}).get).findings
    return {(f.target[1], f.kind) for f in found}


# -- checks on one transaction -----------------------------------------------------------


def test_a_clean_addition_has_no_findings() -> None:
    assert transaction_findings(sent(1)) == []
    assert kinds([sent(1)]) == set()


def test_subsidy_checks() -> None:
    over = sent(1, categories={"PRE AMT TOT": "200.00", "APTC AMT": "250.00"})
    assert [k for k, _ in transaction_findings(over)] == ["aptc_exceeds_premium"]
    negative = sent(1, categories={"PRE AMT 1": "-12.00", "PRE AMT TOT": "-12.00"})
    assert [k for k, _ in transaction_findings(negative)] == ["negative_amount"]
    alone = sent(1, categories={"APTC AMT": "80.00"})
    assert [k for k, _ in transaction_findings(alone)] == ["aptc_without_premium"]
    # Text in a reporting category is not an amount and is not a finding.
    assert transaction_findings(sent(1, categories={"RATING AREA": "R-MD001", **PREMIUM})) == []


def test_required_fields_per_maintenance_type() -> None:
    assert [k for k, _ in transaction_findings(sent(1, coverages=()))] == ["missing_coverage"]
    no_begin = sent(1, coverages=(coverage(begin=""),))
    assert [k for k, _ in transaction_findings(no_begin)] == ["missing_benefit_begin"]
    no_end = sent(1, maintenance="024", coverages=(coverage(maintenance="024"),))
    assert [k for k, _ in transaction_findings(no_end)] == ["missing_end_date"]
    ended = sent(1, maintenance="024", coverages=(coverage(maintenance="024", end="20240229"),))
    assert transaction_findings(ended) == []
    by_eligibility = sent(1, maintenance="024", coverages=(), eligibility_end="20240229")
    assert transaction_findings(by_eligibility) == []


# -- checks across the family --------------------------------------------------------------


def test_the_same_addition_sent_again_once_confirmed_is_a_duplicate_on_the_later_one() -> None:
    first = sent(1)
    again = sent(2, at="2024-01-16T12:00:00Z", interchange="000001002")
    accepted = {first.set_key: SetAnswer(Status.ACCEPTED, "2024-01-15T18:00:00Z")}
    assert kinds([again, first], answers=accepted) == {("M#2", "duplicate_enrollment")}


def test_a_repeat_of_an_unanswered_addition_waits_for_its_answer() -> None:
    """The one judgment: no verdict before the earlier's answer; its set is watched, and a
    rejection makes the later one a resend, never a duplicate."""
    first = sent(1)
    again = sent(2, at="2024-01-16T12:00:00Z", interchange="000001002")
    waiting = reconcile([again, first], [])
    assert not {f.kind for f in waiting.findings} & {"duplicate_enrollment"}
    assert waiting.watch == {first.set_key}
    rejected = {first.set_key: SetAnswer(Status.REJECTED, "2024-01-15T18:00:00Z")}
    assert kinds([again, first], answers=rejected) == set()
    assert reconcile([again, first], [], answers=rejected.get).watch == set()


def test_a_cancellation_in_between_means_the_second_addition_is_not_a_duplicate() -> None:
    first = sent(1)
    cancel = sent(2, maintenance="024", coverages=(coverage(maintenance="024", end="20240201"),),
                  at="2024-01-16T12:00:00Z")  # fmt: skip
    again = sent(3, at="2024-01-17T12:00:00Z")
    assert kinds([first, cancel, again]) == set()


def test_another_effective_date_or_line_is_not_a_duplicate() -> None:
    first = sent(1)
    later = sent(2, coverages=(coverage("20240301"),), at="2024-01-16T12:00:00Z")
    dental = sent(3, coverages=(coverage(line="DEN"),), at="2024-01-16T12:00:00Z")
    assert kinds([first, later, dental]) == set()


def test_family_shape_checks() -> None:
    orphan = sent(1, member_id="E2", subscriber=False)
    assert kinds([orphan]) == {("M#1", "dependent_without_subscriber")}
    # The subscriber sent later does not cover a dependent sent before it.
    late_subscriber = sent(2, at="2024-01-16T12:00:00Z")
    assert ("M#1", "dependent_without_subscriber") in kinds([orphan, late_subscriber])
    with_subscriber = [sent(1), sent(2, member_id="E2", subscriber=False)]
    assert kinds(with_subscriber) == set()
    second = sent(2, member_id="E9", at="2024-01-16T12:00:00Z")
    assert kinds([sent(1), second]) == {("M#2", "second_subscriber")}
    mixed = sent(1, set_findings=("mixed_subscriber_ids",))
    assert kinds([mixed]) == {("M#1", "mixed_subscriber_ids")}


# -- effectuation --------------------------------------------------------------------------


def test_an_effectuation_confirms_the_latest_addition_for_that_member() -> None:
    members = [sent(1), sent(2, member_id="E2", subscriber=False)]
    state = reconcile(members, [record(1)])
    assert {ref[1] for ref in state.effectuated} == {"M#1"}
    assert state.findings == set()


def test_effectuation_flags() -> None:
    moved = record(1, coverages=(coverage("20240301"),))
    assert kinds([sent(1)], [moved]) == {("M#1", "effective_date_differs")}
    plan = record(1, coverages=(coverage(plan="PLAN99"),))
    assert kinds([sent(1)], [plan]) == {("M#1", "plan_differs")}
    stranger = record(7, member_id="E7")
    assert kinds([sent(1)], [stranger]) == {("E#7", "never_sent")}
    cancelled = record(
        1, maintenance="024", coverages=(coverage(end="20240201", maintenance="024"),)
    )
    assert kinds([sent(1)], [cancelled]) == {("M#1", "insurer_cancellation")}
    terminated = record(
        1, maintenance="024", coverages=(coverage(end="20240430", maintenance="024"),)
    )
    state = reconcile([sent(1)], [terminated])
    assert {(f.target[1], f.kind) for f in state.findings} == {("M#1", "insurer_termination")}
    assert state.effectuated == {}  # an ending is not an effectuation


def test_every_check_and_flag_has_words_for_the_report() -> None:
    assert all(
        text and not text.endswith(".") for text in {**CHECKS, **EFFECTUATION_FLAGS}.values()
    )


# -- order independence ----------------------------------------------------------------------

FAMILY = [
    sent(1),
    sent(2, member_id="E2", subscriber=False),
    sent(3, at="2024-01-16T12:00:00Z", interchange="000001002"),  # duplicate of 1
    sent(4, member_id="E4", at="2024-01-16T12:00:00Z", categories={"PRE AMT TOT": "1", "APTC AMT": "9"}),
    sent(5, member_id="E5", subscriber=False, maintenance="024", coverages=(coverage(maintenance="024"),),
         at="2024-01-17T12:00:00Z"),
]  # fmt: skip
RECORDS = [
    record(1),
    record(2, member_id="E2", coverages=(coverage("20240301"),)),
    record(3, member_id="E9"),
    record(4, member_id="E4", at="2024-02-02T09:00:00Z"),
]


@given(st.permutations(FAMILY), st.permutations(RECORDS))
def test_any_arrival_order_gives_the_same_family(
    members: list[SentMember], records: list[EffectuationRecord]
) -> None:
    expected = reconcile(FAMILY, RECORDS)
    got = reconcile(members, records)
    assert got.findings == expected.findings
    assert got.effectuated == expected.effectuated
    assert len(expected.findings) >= 5  # the family really has something to find
