"""Counters kept at write time (pure): hour buckets a median and p95 can be read back from,
and a set's contribution, so that adding ``after - before`` on every move keeps the
counters equal to the sum over the sets as they are."""

from __future__ import annotations

import itertools
import math
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from acktrack.domain.status import Status
from acktrack.domain.tally import (
    BUCKETS,
    HOUR_EDGES,
    SetState,
    Tally,
    bucket_bounds,
    contribution,
    difference,
    hour_bucket,
    quantile_bucket,
    quantile_hours,
)

SENT = "2024-01-15T12:00:00Z"
REJECTED_IK5 = {"999#1": {"kind": "999", "event": "set_rejected", "status": "R", "per_set": True,
                          "codes": ["5"], "errors": [{"code": "8", "elements": [
                              {"code": "7", "reference": "875"}]}], "at": "2024-01-15T15:00:00Z"}}  # fmt: skip


def test_buckets_are_an_hour_wide_to_48_hours_then_coarser_and_open_past_30_days() -> None:
    assert [bucket_bounds(hour_bucket(h)) for h in (0, 0.99, 1, 47.5)] == [
        (0.0, 1.0), (0.0, 1.0), (1.0, 2.0), (47.0, 48.0)
    ]  # fmt: skip
    assert bucket_bounds(hour_bucket(50)) == (48.0, 54.0)
    assert bucket_bounds(hour_bucket(200)) == (192.0, 216.0)
    assert bucket_bounds(hour_bucket(10_000)) == (720.0, None)
    assert hour_bucket(-3) == 0  # clocks that disagree
    assert BUCKETS == len(HOUR_EDGES) == 48 + 20 + 24


@given(st.lists(st.floats(min_value=0, max_value=2_000), min_size=1, max_size=200),
       st.sampled_from([0.5, 0.95]))  # fmt: skip
def test_a_quantile_read_from_the_buckets_is_in_the_bucket_of_the_exact_one(
    hours: list[float], share: float
) -> None:
    exact = sorted(hours)[max(1, math.ceil(share * len(hours))) - 1]  # nearest rank
    histogram = Counter(hour_bucket(h) for h in hours)
    index = quantile_bucket(histogram, share)
    assert index == hour_bucket(exact)
    low, high = bucket_bounds(index)
    assert low <= exact and (high is None or exact < high)
    assert quantile_hours(histogram, share) == low


def test_an_empty_histogram_has_no_quantile() -> None:
    assert quantile_bucket({}, 0.5) is None and quantile_hours(Counter({3: 0}), 0.95) is None


def state(status: Status, *, members: int = 3, first_999_at: str | None = None,
          status_at: str | None = None, entries: dict | None = None) -> SetState:  # fmt: skip
    return SetState(status, members, SENT, first_999_at, status_at, entries or {})


def test_a_rejected_set_counts_its_members_its_codes_and_its_first_999() -> None:
    rejected = state(Status.REJECTED, first_999_at="2024-01-15T15:30:00Z",
                     status_at="2024-01-15T15:30:00Z", entries=REJECTED_IK5)  # fmt: skip
    assert contribution(rejected) == {
        "members_rejected": 3, "sets_rejected": 1, "h999#3": 1,
        "code#IK5 5": 3, "code#IK3 8": 3, "code#IK4 7 (875)": 3,
    }  # fmt: skip


def test_an_accepted_set_counts_the_hours_to_its_confirmation_per_member() -> None:
    accepted = state(Status.ACCEPTED, first_999_at="2024-01-16T14:00:00Z",
                     status_at="2024-01-17T13:00:00Z")  # fmt: skip
    assert contribution(accepted) == {"members_accepted": 3, "sets_accepted": 1, "h999#26": 1,
                                      "hconf#48": 3}  # fmt: skip
    assert bucket_bounds(48) == (48.0, 54.0)  # 49 h


ACCEPTED_999 = {"999#2": {"kind": "999", "event": "set_accepted", "status": "A",
                          "at": "2024-01-15T14:00:00Z"}}  # fmt: skip


def _row(number: int, transaction: str) -> dict:
    return {f"error_report-{number}": {
        "kind": "error_report", "event": "set_rejected_after_accept", "status": "R",
        "codes": ["E1"], "at": "2024-01-16T09:00:00Z",
        "pinned": {"subscriber_id": "S1", "transaction": transaction}}}  # fmt: skip


def test_an_error_report_row_rejects_the_members_it_names_and_the_rest_stay_accepted() -> None:
    """Five member transactions, two rows naming one of them: one rejected, four
    confirmed at the 999's time (not the report's)."""
    late = state(Status.REJECTED_AFTER_ACCEPT, members=5, first_999_at="2024-01-15T14:00:00Z",
                 status_at="2024-01-16T09:00:00Z",
                 entries={**ACCEPTED_999, **_row(1, "0000002"), **_row(2, "0000002")})  # fmt: skip
    assert contribution(late) == {
        "members_rejected": 1, "sets_rejected": 1, "members_accepted": 4, "h999#2": 1,
        "hconf#2": 4, "code#error report E1": 1,
    }  # fmt: skip
    two = state(Status.REJECTED_AFTER_ACCEPT, members=5, first_999_at="2024-01-15T14:00:00Z",
                entries={**ACCEPTED_999, **_row(1, "0000002"), **_row(3, "0000004")})  # fmt: skip
    assert (contribution(two)["members_rejected"], contribution(two)["members_accepted"]) == (2, 3)
    whole = {**ACCEPTED_999, **_row(1, "0000002"), "824#1": {
        "kind": "824", "event": "set_rejected_after_accept", "status": "TR", "codes": []}}  # fmt: skip
    assert contribution(state(Status.REJECTED_AFTER_ACCEPT, members=5, entries=whole))[
        "members_rejected"] == 5  # an 824 loop rejects the whole set  # fmt: skip


def test_rows_kept_before_their_ordinal_was_count_as_they_did_then() -> None:
    """A row stored without its member transaction's ordinal was counted as rejecting the
    whole set, under AK9: it still is, so a later move subtracts what was added."""
    legacy = {"error_report-1": {"kind": "error_report", "event": "set_rejected_after_accept",
                                 "status": "R", "codes": ["E1"], "at": "2024-01-16T09:00:00Z",
                                 "pinned": {"subscriber_id": "S1", "member_id": "M2"}}}  # fmt: skip
    counted = contribution(state(Status.REJECTED_AFTER_ACCEPT, members=5,
                                 entries={**ACCEPTED_999, **legacy}))  # fmt: skip
    assert counted == {"members_rejected": 5, "sets_rejected": 1, "code#AK9 E1": 5}


statuses = st.sampled_from(list(Status))
times = st.sampled_from([None, "2024-01-15T13:00:00Z", "2024-01-16T20:00:00Z"])
states = st.builds(
    state, statuses, members=st.integers(1, 5), first_999_at=times, status_at=times,
    entries=st.sampled_from([{}, REJECTED_IK5, {**ACCEPTED_999, **_row(1, "1")}, {**_row(1, "1")},
                             {**ACCEPTED_999, **_row(1, "1"), **_row(2, "2")}]),
)  # fmt: skip


@given(st.lists(states, min_size=1, max_size=8))
def test_the_moves_of_any_path_sum_to_what_the_last_state_contributes(path: list[SetState]) -> None:
    total: Counter[str] = Counter(contribution(path[0]))
    for before, after in itertools.pairwise(path):
        total.update(difference(before, after))
    assert {name: n for name, n in total.items() if n} == contribution(path[-1])
    assert all(delta for before, after in itertools.pairwise(path)
               for delta in difference(before, after).values())  # fmt: skip


def test_a_tally_reads_stored_attributes_and_sums() -> None:
    first, second = Tally(), Tally()
    first.add_attributes({"members_sent": 4, "h999#2": 1, "hconf#2": 4, "code#IK5 5": 2, "x": 9})
    second.add_attributes({"members_sent": 1, "members_accepted": 1, "h999#2": 1})
    first.add(second)
    assert (first.members_sent, first.unconfirmed) == (5, 4)
    assert first.to_999 == Counter({2: 2}) and first.codes == Counter({"IK5 5": 2})
