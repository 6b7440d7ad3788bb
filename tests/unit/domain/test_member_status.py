"""A rejection after the 999 by an error report's rows (each matched to the member it names
when applied) rejects those members only; the set's other members keep what its 999 said.
An 824 loop (its REF may match none of ours), a row naming nobody, or more rows than a set
keeps by name, rejects the whole set."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from acktrack.domain.status import (
    MAX_NAMED,
    OVERFLOW,
    Status,
    adding,
    member_status,
    refold,
)

ACCEPTED = {"id": "a1", "kind": "999", "event": "set_accepted", "status": "A"}


def _late(number: int, kind: str = "824", **pinned: str) -> dict[str, Any]:
    return {"id": f"l{number}", "kind": kind, "event": "set_rejected_after_accept",
            "status": "TR", "codes": ["007"], **({"pinned": pinned} if pinned else {})}  # fmt: skip


def _status(entries: dict[str, Any], subscriber_id: str, member_id: str | None = None,
            subscriber: bool = True) -> Status:  # fmt: skip
    folded = refold(entries, lambda e: e).status
    return member_status(folded, entries, subscriber_id=subscriber_id, member_id=member_id,
                         subscriber=subscriber)  # fmt: skip


def test_an_824_naming_a_member_rejects_the_whole_set() -> None:
    """An 824 loop's REF may match none of our ids: whom it names is said, not trusted."""
    entries = {"a1": ACCEPTED, "l1": _late(1, subscriber_id="S1", member_id="M2")}
    assert _status(entries, "S2") == Status.REJECTED_AFTER_ACCEPT
    assert _status(entries, "S1", "M1") == Status.REJECTED_AFTER_ACCEPT


def test_an_error_report_row_naming_a_member_rejects_that_member_alone() -> None:
    entries = {"a1": ACCEPTED, "l1": _late(1, "error_report", subscriber_id="S1", member_id="M2")}
    assert _status(entries, "S1", "M2", subscriber=False) == Status.REJECTED_AFTER_ACCEPT
    assert _status(entries, "S1", "M1") == Status.ACCEPTED
    assert _status(entries, "S2") == Status.ACCEPTED


def test_an_error_report_row_without_member_id_names_the_subscriber_s_own_transaction() -> None:
    entries = {"a1": ACCEPTED, "l1": _late(1, "error_report", subscriber_id="S1")}
    assert _status(entries, "S1") == Status.REJECTED_AFTER_ACCEPT
    assert _status(entries, "S1", "M2", subscriber=False) == Status.ACCEPTED


def test_a_rejection_naming_nobody_rejects_every_member() -> None:
    entries = {"a1": ACCEPTED, "l1": _late(1, "error_report", subscriber_id="S1"), "l2": _late(2)}
    assert _status(entries, "S2") == Status.REJECTED_AFTER_ACCEPT


def test_a_999_rejection_still_rejects_every_member() -> None:
    rejected = {"id": "r", "kind": "999", "event": "set_rejected", "status": "R"}
    entries = {"r": rejected, "l1": _late(1, "error_report", subscriber_id="S1")}
    assert _status(entries, "S2") == Status.REJECTED


@given(st.integers(MAX_NAMED - 3, MAX_NAMED + 30))
def test_a_set_keeps_so_many_names_then_rejects_whole(count: int) -> None:
    """Bounded: a set item never holds more than MAX_NAMED named rejections and one overflow
    entry, and past the bound every member is rejected (never fewer than were named)."""
    entries: dict[str, Any] = {"a1": ACCEPTED}
    for number in range(count):
        change = adding(f"l{number}", _late(number, "error_report", subscriber_id=f"S{number}"))  # type: ignore[arg-type]
        entries = change(entries)
        entries = change(entries)  # written again: nothing more
    late = [e for e in entries.values() if e.get("event") == "set_rejected_after_accept"]
    assert len(late) == min(count, MAX_NAMED) + (count > MAX_NAMED)
    assert (OVERFLOW in entries) == (count > MAX_NAMED)
    assert len(entries) <= 2 * MAX_NAMED + 2
    outsider = _status(entries, "NOT-NAMED")
    assert outsider == (Status.REJECTED_AFTER_ACCEPT if count > MAX_NAMED else Status.ACCEPTED)
    assert all(_status(entries, f"S{n}") == Status.REJECTED_AFTER_ACCEPT for n in range(count))


def test_an_824_s_overflow_stops_counting_with_the_824() -> None:
    """Past the bound, an 824's loops leave an overflow entry of that 824's: revoking the
    824 revokes it too, and the set is accepted again."""
    from acktrack.domain.status import revoking

    entries: dict[str, Any] = {"a1": ACCEPTED}
    for number in range(MAX_NAMED + 5):
        entries = adding(f"ACK#824#{number}", _late(number))(entries)  # type: ignore[arg-type]
    assert refold(entries, lambda e: e).status == Status.REJECTED_AFTER_ACCEPT
    after = refold(entries, revoking("ACK#824"))
    assert after.status == Status.ACCEPTED


def test_revoked_rejections_do_not_count_toward_the_bound() -> None:
    from acktrack.domain.status import revoking

    entries: dict[str, Any] = {"a1": ACCEPTED}
    for number in range(MAX_NAMED):
        entries = adding(
            f"OLD#{number}", _late(number, "error_report", subscriber_id=f"S{number}")
        )(entries)  # type: ignore[arg-type]
    entries = {**entries, **refold(entries, revoking("OLD")).updates}
    entries = adding("NEW#1", _late(1, "error_report", subscriber_id="S1"))(entries)  # type: ignore[arg-type]
    assert "NEW#1" in entries and not any(key.endswith(OVERFLOW) for key in entries)
    assert _status(entries, "S1") == Status.REJECTED_AFTER_ACCEPT
    assert _status(entries, "S2") == Status.ACCEPTED


def test_a_row_matched_to_a_member_transaction_names_that_one_only() -> None:
    """One member id in two transactions of a set: the row names the one it was matched to
    (its ordinal), as the counts do."""
    row = _late(1, "error_report", subscriber_id="S1", member_id="M2", transaction="0000002")
    entries = {"a1": ACCEPTED, "l1": row}
    folded = refold(entries, lambda e: e).status

    def of(ordinal: int) -> Status:
        return member_status(folded, entries, subscriber_id="S1", member_id="M2",
                             subscriber=False, ordinal=ordinal)  # fmt: skip

    assert (of(2), of(5)) == (Status.REJECTED_AFTER_ACCEPT, Status.ACCEPTED)
