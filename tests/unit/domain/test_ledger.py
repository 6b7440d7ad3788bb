"""The enrollment ledger (pure): resends, duplicates, operator resolutions, order independence."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from acktrack.domain.ledger import (
    Attempt,
    AttemptState,
    Resolution,
    enrollments,
    is_resend,
)
from acktrack.domain.status import Status

AS_OF = datetime(2024, 1, 20, 12, 0, tzinfo=UTC)
SLA = 48.0


def attempt(
    number: int,
    day: int,
    status: Status = Status.SENT,
    *,
    member_id: str | None = "E1",
    maintenance: str = "021",
    line: str = "HLT",
    begin: str = "20240201",
    status_at: str | None = None,
    effectuated_at: str | None = None,
) -> Attempt:
    sent_at = f"2024-01-{day:02d}T12:00:00Z"
    return Attempt(
        ref=("FAM#1", f"M#{sent_at}#{number}"),
        sent_key=(sent_at, "GS#1", f"SET#{number:09d}", "0000001"),
        sent_at=sent_at,
        subscriber_id="300000001",
        member_id=member_id,
        subscriber_indicator="Y",
        relationship="18",
        maintenance_type=maintenance,
        lines=(line,) if line else (),
        begins=((line, begin),) if line else (),
        status=status,
        status_at=status_at,
        effectuated_at=effectuated_at,
        interchange_control=f"{number:09d}",
        transaction_control="0001",
    )


def test_a_confirmed_resend_closes_the_rejected_attempt_it_replaces() -> None:
    rejected = attempt(1, 10, Status.REJECTED, status_at="2024-01-10T14:00:00Z")
    resend = attempt(2, 12, Status.ACCEPTED, status_at="2024-01-12T13:00:00Z")
    [ledger] = enrollments([rejected, resend], [], AS_OF, SLA)
    assert ledger.resend_of[resend.ref] == rejected
    assert ledger.states[rejected.ref] == AttemptState.RESOLVED_BY_RESEND
    assert ledger.closed_by[rejected.ref] == "ISA13 000000002 ST02 0001"
    assert not ledger.open
    assert ledger.duplicates == {}  # a resend is not a duplicate


def test_a_resend_still_waiting_keeps_the_enrollment_open_from_the_first_attempt() -> None:
    first = attempt(1, 10, Status.REJECTED)
    second = attempt(2, 15, Status.REJECTED)
    third = attempt(3, 17)  # no answer, past the SLA on the 20th
    [ledger] = enrollments([third, first, second], [], AS_OF, SLA)
    assert ledger.open and ledger.state == AttemptState.OVERDUE
    assert [a.ref for a in ledger.waiting] == [first.ref, second.ref, third.ref]
    assert ledger.first_sent_at == first.sent_at
    assert ledger.resend_of[third.ref] == second and ledger.resend_of[second.ref] == first


def test_a_chain_of_resends_is_closed_whole_by_the_one_confirmed() -> None:
    chain = [attempt(1, 10, Status.REJECTED), attempt(2, 12, Status.REJECTED),
             attempt(3, 14, Status.ACCEPTED_WITH_ERRORS)]  # fmt: skip
    [ledger] = enrollments(chain, [], AS_OF, SLA)
    assert [ledger.states[a.ref] for a in chain] == [
        AttemptState.RESOLVED_BY_RESEND, AttemptState.RESOLVED_BY_RESEND, AttemptState.CONFIRMED,
    ]  # fmt: skip


def test_overdue_when_sent_again_is_a_resend_even_if_confirmed_later() -> None:
    late = attempt(1, 10, Status.ACCEPTED, status_at="2024-01-16T00:00:00Z")
    again = attempt(2, 14, Status.SENT)
    assert is_resend(late, again, SLA)
    early = attempt(1, 10, Status.ACCEPTED, status_at="2024-01-10T13:00:00Z")
    assert not is_resend(early, again, SLA)  # confirmed before: the same addition sent twice
    within = attempt(2, 11, Status.SENT)
    assert not is_resend(attempt(1, 10), within, SLA)  # still within its SLA


def test_the_same_addition_sent_twice_and_both_accepted_is_a_duplicate() -> None:
    first = attempt(1, 10, Status.ACCEPTED, status_at="2024-01-10T14:00:00Z")
    second = attempt(2, 12, Status.ACCEPTED, status_at="2024-01-12T14:00:00Z")
    [ledger] = enrollments([first, second], [], AS_OF, SLA)
    assert ledger.duplicates == {second.ref: first}
    assert second.ref not in ledger.resend_of


def test_a_cancellation_in_between_means_the_second_addition_is_no_duplicate() -> None:
    first = attempt(1, 10, Status.ACCEPTED, status_at="2024-01-10T14:00:00Z")
    cancel = attempt(2, 11, Status.ACCEPTED, maintenance="024", status_at="2024-01-11T14:00:00Z")
    again = attempt(3, 12, Status.ACCEPTED, status_at="2024-01-12T14:00:00Z")
    [ledger] = enrollments([first, cancel, again], [], AS_OF, SLA)
    assert ledger.duplicates == {}


def test_an_operator_resolution_closes_what_was_sent_before_it_and_nothing_later() -> None:
    waiting = attempt(1, 10)
    resolved = Resolution("R1", "2024-01-13T09:00:00Z", "ops", "confirmed by phone")
    [ledger] = enrollments([waiting], [resolved], AS_OF, SLA)
    assert ledger.states[waiting.ref] == AttemptState.RESOLVED_BY_OPERATOR
    assert ledger.closed_by[waiting.ref] == "R1" and not ledger.open
    later = attempt(2, 18, Status.REJECTED, maintenance="001")
    [ledger] = enrollments([waiting, later], [resolved], AS_OF, SLA)
    assert ledger.open and ledger.state == AttemptState.REJECTED  # tracked as usual


def test_a_resolution_for_one_member_leaves_the_others_open() -> None:
    mine, theirs = attempt(1, 10, member_id="E1"), attempt(2, 10, member_id="E2")
    resolved = Resolution("R1", "2024-01-13T09:00:00Z", "ops", "withdrew", member_id="E2")
    ledger = {e.identity: e for e in enrollments([mine, theirs], [resolved], AS_OF, SLA)}
    assert ledger["M:E1"].open and not ledger["M:E2"].open


def test_an_attempt_without_coverage_joins_every_enrollment_of_its_member() -> None:
    health = attempt(1, 10, Status.REJECTED, line="HLT")
    dental = attempt(2, 10, Status.REJECTED, line="DEN")
    again = attempt(3, 14, Status.ACCEPTED, line="")  # the addition resent, without an HD loop
    ledger = {e.line: e for e in enrollments([health, dental, again], [], AS_OF, SLA)}
    assert set(ledger) == {"HLT", "DEN"}
    assert all(not e.open for e in ledger.values())


def test_an_accepted_change_does_not_close_a_rejected_addition() -> None:
    """A 999 checks syntax: an accepted change says nothing about an addition never taken."""
    addition = attempt(1, 10, Status.REJECTED)
    change = attempt(2, 14, Status.ACCEPTED, maintenance="001", status_at="2024-01-14T14:00:00Z")
    [ledger] = enrollments([addition, change], [], AS_OF, SLA)
    assert ledger.open and ledger.head == addition and ledger.state == AttemptState.REJECTED
    assert change.ref not in ledger.resend_of


def test_a_rejected_attempt_with_no_valid_ins03_is_replaced_by_the_corrected_one() -> None:
    invalid = attempt(1, 10, Status.REJECTED, maintenance="099")
    corrected = attempt(2, 12, Status.ACCEPTED, status_at="2024-01-12T14:00:00Z")
    [ledger] = enrollments([invalid, corrected], [], AS_OF, SLA)
    assert ledger.resend_of[corrected.ref] == invalid and not ledger.open


def test_a_confirmed_attempt_closes_every_earlier_open_one_of_its_kind() -> None:
    overdue = attempt(1, 10)  # never answered
    rejected = attempt(2, 11, Status.REJECTED)  # sent within the first one's SLA
    resend = attempt(3, 14, Status.ACCEPTED, status_at="2024-01-14T14:00:00Z")
    [ledger] = enrollments([overdue, rejected, resend], [], AS_OF, SLA)
    assert (
        ledger.states[overdue.ref] == ledger.states[rejected.ref] == AttemptState.RESOLVED_BY_RESEND
    )
    assert not ledger.open


def test_a_confirmed_addition_sent_again_after_another_was_rejected_is_still_a_duplicate() -> None:
    first = attempt(1, 10, Status.ACCEPTED, status_at="2024-01-10T14:00:00Z")
    other = attempt(2, 11, Status.REJECTED, begin="20240301")
    again = attempt(3, 12, Status.ACCEPTED, status_at="2024-01-12T14:00:00Z")
    [ledger] = enrollments([first, other, again], [], AS_OF, SLA)
    assert ledger.duplicates == {again.ref: first}


def test_a_resolution_naming_its_attempts_closes_only_those() -> None:
    early, later = attempt(1, 10, member_id="E1"), attempt(2, 19, Status.REJECTED, member_id="E2")
    named = Resolution("R1", "2024-01-19T18:00:00Z", "ops", "phone", refs=frozenset({early.ref}))
    ledger = {e.identity: e for e in enrollments([early, later], [named], AS_OF, SLA)}
    assert not ledger["M:E1"].open and ledger["M:E2"].open


STATUSES = st.sampled_from(list(Status))


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Attempt], list[Resolution]]:
    count = draw(st.integers(1, 6))
    attempts = [
        attempt(
            number, draw(st.integers(1, 19)), draw(STATUSES),
            member_id=draw(st.sampled_from(["E1", "E2"])),
            maintenance=draw(st.sampled_from(["021", "021", "024", "001", "099"])),
            line=draw(st.sampled_from(["HLT", "DEN", ""])),
            status_at=f"2024-01-{draw(st.integers(1, 19)):02d}T15:00:00Z",
        )
        for number in range(1, count + 1)
    ]  # fmt: skip
    resolutions = [
        Resolution(f"R{n}", f"2024-01-{draw(st.integers(1, 19)):02d}T10:00:00Z", "ops", "why",
                   draw(st.sampled_from([None, "E1", "E2"])))
        for n in range(draw(st.integers(0, 2)))
    ]  # fmt: skip
    return attempts, resolutions


def _summary(attempts: list[Attempt], resolutions: list[Resolution]) -> object:
    return [
        (e.identity, e.line, sorted(e.states.items()), sorted(e.closed_by.items()),
         sorted((k, v.ref) for k, v in e.resend_of.items()),
         sorted((k, v.ref) for k, v in e.duplicates.items()))
        for e in enrollments(attempts, resolutions, AS_OF, SLA)
    ]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_the_ledger_does_not_depend_on_arrival_order_or_redelivery(
    history: tuple[list[Attempt], list[Resolution]], rng: object
) -> None:
    attempts, resolutions = history
    shuffled = list(attempts) + list(attempts)[: len(attempts) // 2]  # some delivered twice
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    again = list(resolutions)
    rng.shuffle(again)  # type: ignore[attr-defined]
    assert _summary(shuffled, again) == _summary(attempts, resolutions)


@settings(max_examples=150, deadline=None)
@given(histories())
def test_every_attempt_has_one_fate_and_an_open_enrollment_ends_unconfirmed(
    history: tuple[list[Attempt], list[Resolution]],
) -> None:
    for enrollment in enrollments(*history, AS_OF, SLA):
        assert set(enrollment.states) == {a.ref for a in enrollment.attempts}
        assert set(enrollment.closed_by) == {
            ref for ref, state in enrollment.states.items()
            if state in (AttemptState.RESOLVED_BY_RESEND, AttemptState.RESOLVED_BY_OPERATOR)
        }  # fmt: skip
        by_ref = {a.ref: a for a in enrollment.attempts}
        for ref, earlier in enrollment.duplicates.items():
            assert not is_resend(earlier, by_ref[ref], SLA)  # a resend is never a duplicate
        if enrollment.open:
            assert not enrollment.head.confirmed
            assert enrollment.state in (
                AttemptState.REJECTED,
                AttemptState.REJECTED_AFTER_ACCEPT,  # an 824 after the 999
                AttemptState.PENDING,
                AttemptState.OVERDUE,
            )
