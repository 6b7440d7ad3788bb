"""What `acktrack stats` shows, kept as counts at write time: per insurer and sent day,
member and set counts by status, two histograms in hour buckets and the rejection codes.

A set's contribution is a function of its stored state (``contribution``); a write that
moves a set adds ``after - before`` in the transaction that moves it, so the counters
always equal the sum over the sets as stored, whatever the order of acknowledgments.

Hour buckets (``HOUR_EDGES``): 1 h wide up to 48 h (where the SLA and most answers
fall), 6 h wide to a week, a day wide to 30 days, then one open bucket. A median or a
95th percentile read back from a histogram is known to its bucket only: it is reported
as the bucket's lower edge, with the bucket (``quantile_bucket``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from acktrack.domain.status import (
    COUNTED,
    REJECTING_EVENTS,
    REJECTIONS,
    Status,
    named_rejection,
    person,
)

HOUR_EDGES: tuple[float, ...] = (
    *range(0, 48),
    *range(48, 168, 6),
    *range(168, 720 + 1, 24),
)  # bucket i is [HOUR_EDGES[i], HOUR_EDGES[i + 1]); the last one is [720 h, ...)
BUCKETS = len(HOUR_EDGES)

CONFIRMED = frozenset({Status.ACCEPTED, Status.ACCEPTED_WITH_ERRORS})

# Counter attributes that are plain counts (the CounterItem's fields).
COUNTS = (
    "members_sent", "sets_sent", "members_accepted", "members_accepted_with_errors",
    "members_rejected", "members_effectuated", "sets_accepted", "sets_accepted_with_errors",
    "sets_rejected",
)  # fmt: skip
# Prefixes of the open-ended counter attributes (one attribute per bucket or code).
TO_999 = "h999#"  # sets by hours from sending to the first 999
TO_CONFIRMATION = "hconf#"  # member transactions by hours from sending to confirmation
CODE = "code#"  # rejected member transactions by error code


def hour_bucket(hours: float) -> int:
    """The bucket holding ``hours`` (negative, from clocks that disagree: the first)."""
    if hours < 0:
        return 0
    low, high = 0, BUCKETS - 1
    while low < high:  # the last edge at or below ``hours``
        middle = (low + high + 1) // 2
        if HOUR_EDGES[middle] <= hours:
            low = middle
        else:
            high = middle - 1
    return low


def bucket_bounds(index: int) -> tuple[float, float | None]:
    """[low, high) hours of a bucket (high None: the open last bucket)."""
    return float(HOUR_EDGES[index]), (float(HOUR_EDGES[index + 1]) if index + 1 < BUCKETS else None)


def hours_between(start: str, end: str) -> float:
    first = datetime.fromisoformat(start.replace("Z", "+00:00"))
    last = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return (last - first).total_seconds() / 3600


def quantile_bucket(histogram: Mapping[int, int], share: float) -> int | None:
    """The bucket holding the value of nearest rank ``share`` (None: an empty histogram)."""
    total = sum(count for count in histogram.values() if count > 0)
    if not total:
        return None
    rank = max(1, -(-int(share * total * 1_000_000) // 1_000_000))  # ceil, no float drift
    seen = 0
    for index in sorted(histogram):
        seen += max(histogram[index], 0)
        if seen >= rank:
            return index
    return max(histogram)


def quantile_hours(histogram: Mapping[int, int], share: float) -> float | None:
    """The lower edge of ``quantile_bucket``: the value is at least this, below the next edge."""
    index = quantile_bucket(histogram, share)
    return None if index is None else bucket_bounds(index)[0]


def rejection_codes(entries: Mapping[str, Any]) -> set[str]:
    """The codes a rejected set's acknowledgment entries carry (TA1 notes, AK9, IK5, IK3, IK4)."""
    found: set[str] = set()
    for ack in entries.values():
        if ack.get("revoked") or ack.get("event") not in REJECTING_EVENTS:
            continue
        if ack.get("kind") == "TA1":
            found.add(f"TA1 {ack.get('note')}")
            continue
        if ack.get("kind") == "824":
            found |= {f"824 {ack.get('status')}"} | {f"TED {code}" for code in ack.get("codes", [])}
            continue
        if ack.get("kind") == "error_report" and (ack.get("pinned") or {}).get("transaction"):
            # An insurer's own code, from its CSV (rows kept before their ordinal was are
            # counted under AK9, as they were then: see ``NamedRejection.exact``).
            found |= {f"error report {code}" for code in ack.get("codes", [])}
            continue
        prefix = "IK5" if ack.get("per_set") else "AK9"
        found |= {f"{prefix} {code}" for code in ack.get("codes", [])} or {
            f"{prefix} {ack.get('status')}"
        }
        for error in ack.get("errors", []):
            found.add(f"IK3 {error.get('code')}")
            for element in error.get("elements", []):
                found.add(f"IK4 {element.get('code')} ({element.get('reference')})")
    return found


@dataclass(frozen=True, slots=True)
class SetState:
    """What a set's counter contribution depends on (as stored, or as a write leaves it)."""

    status: Status
    members: int
    sent_at: str
    first_999_at: str | None
    status_at: str | None
    entries: Mapping[str, Any]


def contribution(state: SetState) -> dict[str, int]:
    """The counter attributes one set adds (status counts, histograms, codes); sending
    itself (members_sent, sets_sent) is counted when its interchange completes. A set whose
    error report's rows reject some members only (``named_rejection``) counts those members
    rejected and the rest as its other acknowledgments say."""
    found: dict[str, int] = {}
    named = named_rejection(state.status, state.entries)
    named = named if named is not None and named.exact else None
    if state.first_999_at:
        bucket = hour_bucket(hours_between(state.sent_at, state.first_999_at))
        found[f"{TO_999}{bucket}"] = 1
    if named is not None:
        rejected = min(len(named.people), state.members)
        found["members_rejected"], found["sets_rejected"] = rejected, 1
        _count_members(found, named.rest, state.members - rejected, state.sent_at, named.rest_at)
        for code, people in _named_codes(state.entries).items():
            found[f"{CODE}{code}"] = min(people, rejected)
        return {name: value for name, value in found.items() if value}
    name = COUNTED.get(state.status)
    if name:
        found[f"members_{name}"] = state.members
        found[f"sets_{name}"] = 1
    if state.status in CONFIRMED and state.status_at:
        bucket = hour_bucket(hours_between(state.sent_at, state.status_at))
        found[f"{TO_CONFIRMATION}{bucket}"] = state.members
    if state.status in REJECTIONS:
        for code in rejection_codes(state.entries):
            found[f"{CODE}{code}"] = state.members
    return found


def _count_members(found: dict[str, int], status: Status, members: int, sent_at: str,
                   at: str | None) -> None:  # fmt: skip
    """Members of a set not named by its error report's rows: counted as ``status``."""
    name = COUNTED.get(status)
    if name and members:
        found[f"members_{name}"] = found.get(f"members_{name}", 0) + members
    if status in CONFIRMED and at and members:
        found[f"{TO_CONFIRMATION}{hour_bucket(hours_between(sent_at, at))}"] = members


def _named_codes(entries: Mapping[str, Any]) -> dict[str, int]:
    """Per code, the member transactions an error report's live rows reject with it."""
    people: dict[str, set[str]] = {}
    for entry in entries.values():
        if entry.get("event") in REJECTING_EVENTS and not entry.get("revoked"):
            for code in rejection_codes({"one": entry}):
                people.setdefault(code, set()).add(person(entry))
    return {code: len(named) for code, named in people.items()}


def difference(before: SetState, after: SetState) -> dict[str, int]:
    """What moving a set from ``before`` to ``after`` adds (non-zero deltas only)."""
    old, new = contribution(before), contribution(after)
    deltas = {name: new.get(name, 0) - old.get(name, 0) for name in old.keys() | new.keys()}
    return {name: delta for name, delta in deltas.items() if delta}


@dataclass(slots=True)
class Tally:
    """Counters summed (over shards, days or partners)."""

    members_sent: int = 0
    sets_sent: int = 0
    members_accepted: int = 0
    members_accepted_with_errors: int = 0
    members_rejected: int = 0
    members_effectuated: int = 0
    sets_accepted: int = 0
    sets_accepted_with_errors: int = 0
    sets_rejected: int = 0
    to_999: Counter[int] = field(default_factory=Counter)
    to_confirmation: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)

    def add_attributes(self, values: Mapping[str, int]) -> None:
        """Add stored counter attributes (``COUNTS`` and the prefixed ones); others are ignored."""
        for name, value in values.items():
            if name in COUNTS:
                setattr(self, name, getattr(self, name) + int(value))
            elif name.startswith(TO_999):
                self.to_999[int(name[len(TO_999) :])] += int(value)
            elif name.startswith(TO_CONFIRMATION):
                self.to_confirmation[int(name[len(TO_CONFIRMATION) :])] += int(value)
            elif name.startswith(CODE):
                self.codes[name[len(CODE) :]] += int(value)

    def add(self, other: Tally) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.to_999.update(other.to_999)
        self.to_confirmation.update(other.to_confirmation)
        self.codes.update(other.codes)

    @property
    def unconfirmed(self) -> int:
        """Member transactions sent and neither accepted nor accepted with errors."""
        return self.members_sent - self.members_accepted - self.members_accepted_with_errors
