"""Transaction-set status: a table of (status, event) -> status.

The table is a join-semilattice (it only moves up in rank), so applying the same
events in any order, any number of times, gives the same status. A TA1 rejection
outranks everything: it rejects every member, whatever a 999 says before or after.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from acktrack.domain.acks import AckEntry, Entries


class Status(StrEnum):
    SENT = "sent"  # no acknowledgment yet
    RECEIVED = "received"  # TA1 A/E: the interchange arrived and was readable
    ACCEPTED = "accepted"  # 999 IK5 A (or AK9 A without AK2 loops)
    ACCEPTED_WITH_ERRORS = "accepted_with_errors"  # IK5 E: confirmed, kept as a warning
    REJECTED = "rejected"  # IK5 R/M/W/X, AK9 rejection without AK2 loops, or TA1 R
    # An 824 (or the insurer's error report) rejected it after the 999: not enrolled.
    REJECTED_AFTER_ACCEPT = "rejected_after_accept"


class AckState(StrEnum):
    """A stored acknowledgment: waiting for what it answers, applied, or not applicable."""

    PENDING = "pending"
    APPLIED = "applied"
    UNMATCHED = "unmatched"  # nothing sent matches it (yet: an 834 may still arrive)
    AMBIGUOUS = "ambiguous"  # a reused control number: it cannot tell two interchanges apart


class InterchangeStatus(StrEnum):
    INGESTING = "ingesting"
    COMPLETE = "complete"  # its members counted, exactly once


class FileOutcome(StrEnum):
    """What happened to one object (an S3 file, or one part of a file cut in parts)."""

    TRACKED = "tracked"
    DUPLICATE = "duplicate"  # the same interchange under another key
    REDELIVERED = "redelivered"
    ACKNOWLEDGMENTS = "acknowledgments"
    EFFECTUATION = "effectuation"
    ACKNOWLEDGMENTS_AND_EFFECTUATION = "acknowledgments and effectuation"
    QUARANTINED = "quarantined"
    FANNED_OUT = "fanned_out"  # cut in parts; the last part records the file's outcome
    RECONCILIATION = "reconciliation"  # an insurer's whole population, held against ours
    OTHER_USAGE = "other_usage"  # only interchanges of the usage this stack does not track
    EXPECTED = "expected_actions"  # the exchange's own list of the enrollment actions it took
    ERROR_REPORT = "error_report"  # an insurer's CSV of business rejections after the 999
    PART = "part"


class Event(StrEnum):
    TA1_ACCEPTED = "ta1_accepted"
    TA1_REJECTED = "ta1_rejected"
    SET_ACCEPTED = "set_accepted"
    SET_ACCEPTED_WITH_ERRORS = "set_accepted_with_errors"
    SET_REJECTED = "set_rejected"
    SET_REJECTED_AFTER_ACCEPT = "set_rejected_after_accept"  # an 824's OTI, or an error report


S, E = Status, Event
TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (S.SENT, E.TA1_ACCEPTED): S.RECEIVED,
    (S.SENT, E.TA1_REJECTED): S.REJECTED,
    (S.SENT, E.SET_ACCEPTED): S.ACCEPTED,
    (S.SENT, E.SET_ACCEPTED_WITH_ERRORS): S.ACCEPTED_WITH_ERRORS,
    (S.SENT, E.SET_REJECTED): S.REJECTED,
    (S.RECEIVED, E.TA1_ACCEPTED): S.RECEIVED,
    (S.RECEIVED, E.TA1_REJECTED): S.REJECTED,
    (S.RECEIVED, E.SET_ACCEPTED): S.ACCEPTED,
    (S.RECEIVED, E.SET_ACCEPTED_WITH_ERRORS): S.ACCEPTED_WITH_ERRORS,
    (S.RECEIVED, E.SET_REJECTED): S.REJECTED,
    (S.ACCEPTED, E.TA1_ACCEPTED): S.ACCEPTED,
    (S.ACCEPTED, E.TA1_REJECTED): S.REJECTED,
    (S.ACCEPTED, E.SET_ACCEPTED): S.ACCEPTED,
    (S.ACCEPTED, E.SET_ACCEPTED_WITH_ERRORS): S.ACCEPTED_WITH_ERRORS,
    (S.ACCEPTED, E.SET_REJECTED): S.REJECTED,
    (S.ACCEPTED_WITH_ERRORS, E.TA1_ACCEPTED): S.ACCEPTED_WITH_ERRORS,
    (S.ACCEPTED_WITH_ERRORS, E.TA1_REJECTED): S.REJECTED,
    (S.ACCEPTED_WITH_ERRORS, E.SET_ACCEPTED): S.ACCEPTED_WITH_ERRORS,
    (S.ACCEPTED_WITH_ERRORS, E.SET_ACCEPTED_WITH_ERRORS): S.ACCEPTED_WITH_ERRORS,
    (S.ACCEPTED_WITH_ERRORS, E.SET_REJECTED): S.REJECTED,
    (S.REJECTED, E.TA1_ACCEPTED): S.REJECTED,
    (S.REJECTED, E.TA1_REJECTED): S.REJECTED,
    (S.REJECTED, E.SET_ACCEPTED): S.REJECTED,
    (S.REJECTED, E.SET_ACCEPTED_WITH_ERRORS): S.REJECTED,
    (S.REJECTED, E.SET_REJECTED): S.REJECTED,
}

RANK: dict[Status, float] = {  # kept on each set (status_rank): the ranks before stay
    Status.SENT: 0,
    Status.RECEIVED: 1,
    Status.ACCEPTED: 2,
    Status.ACCEPTED_WITH_ERRORS: 3,
    Status.REJECTED_AFTER_ACCEPT: 3.5,  # a business rejection: under a TA1's or 999's
    Status.REJECTED: 4,
}
# A later business rejection joins like the others: the higher rank wins, in any order.
for _status in Status:
    _after = S.REJECTED_AFTER_ACCEPT
    TRANSITIONS[(_status, E.SET_REJECTED_AFTER_ACCEPT)] = max(_status, _after, key=RANK.__getitem__)
    for _event in E:
        if (_after, _event) not in TRANSITIONS:
            TRANSITIONS[(_after, _event)] = max(TRANSITIONS[(S.SENT, _event)], _after,
                                                key=RANK.__getitem__)  # fmt: skip
del S, E, _status, _after, _event

CONFIRMED = frozenset({Status.ACCEPTED, Status.ACCEPTED_WITH_ERRORS})
REJECTING_EVENTS = frozenset(
    {Event.TA1_REJECTED, Event.SET_REJECTED, Event.SET_REJECTED_AFTER_ACCEPT}
)
REJECTIONS = frozenset({Status.REJECTED, Status.REJECTED_AFTER_ACCEPT})  # open, to be resent
OPEN = frozenset({Status.SENT, Status.RECEIVED, *REJECTIONS})  # shown by the report

# Counter attribute (members_<name>, sets_<name>) that holds sets in each status.
COUNTED = {
    Status.ACCEPTED: "accepted",
    Status.ACCEPTED_WITH_ERRORS: "accepted_with_errors",
    Status.REJECTED: "rejected",
    Status.REJECTED_AFTER_ACCEPT: "rejected",  # a rejection too: moved out of the accepted
}


def apply(status: Status, event: Event) -> Status:
    return TRANSITIONS[(status, event)]


def fold(events: Iterable[Event], start: Status = Status.SENT) -> Status:
    """The status a set reaches after ``events`` (in any order)."""
    for event in events:
        start = apply(start, event)
    return start


def event_for_ik5(code: str) -> Event | None:
    """999 IK501 (or AK901 when there are no AK2 loops) -> event; None when it says nothing."""
    if code == "A":
        return Event.SET_ACCEPTED
    if code == "E":
        return Event.SET_ACCEPTED_WITH_ERRORS
    if code in ("R", "M", "W", "X"):
        return Event.SET_REJECTED
    return None


def event_for_ta1(code: str) -> Event | None:
    if code in ("A", "E"):
        return Event.TA1_ACCEPTED
    if code == "R":
        return Event.TA1_REJECTED
    return None


@dataclass(frozen=True, slots=True)
class Refolded:
    """A set's entries after a change, and what they fold to."""

    updates: Entries  # entries new or changed
    status: Status
    first_999_at: str | None  # the earliest 999 still counting (time to acknowledge)
    status_at: str | None  # the latest deciding acknowledgment


# A set keeps this many rejections after the 999 member by member (an 824's loops, an error
# report's rows, about 250 bytes each); past it, one entry naming nobody rejects the whole
# set (never fewer than were named), and the set item stays far under DynamoDB's 400 KB.
MAX_NAMED = 100
OVERFLOW = "late-overflow"
_LATE = "set_rejected_after_accept"  # Event.SET_REJECTED_AFTER_ACCEPT's value


def adding(entry_id: str, summary: AckEntry) -> Callable[[Entries], Entries]:
    """The change that records one acknowledgment entry on a set (a named rejection after
    the 999 past ``MAX_NAMED`` live ones: its acknowledgment's overflow entry instead, once).
    Revoked rejections do not count toward the bound, but the set never stores more than
    twice it."""

    def add(entries: Entries) -> Entries:
        if summary.get("event") != _LATE or entry_id in entries:
            return {**entries, entry_id: summary}
        overflow = overflow_id(entry_id)
        if overflow in entries:
            return entries
        late = [e for e in entries.values() if e.get("event") == _LATE]
        live = sum(1 for e in late if not e.get("revoked"))
        if live < MAX_NAMED and len(late) < 2 * MAX_NAMED:
            return {**entries, entry_id: summary}
        whole: AckEntry = {key: value for key, value in summary.items() if key != "pinned"}  # type: ignore[assignment]
        whole["id"], whole["note"] = overflow, f"more than {MAX_NAMED} members named: the whole set"
        return {**entries, overflow: whole}

    return add


def adding_all(entries: Iterable[tuple[str, AckEntry]]) -> Callable[[Entries], Entries]:
    """The change that records several entries on one set, in order (written once)."""
    changes = [adding(entry_id, entry) for entry_id, entry in entries]
    return lambda start: functools.reduce(lambda done, change: change(done), changes, start)


def overflow_id(entry_id: str) -> str:
    """The overflow entry of the acknowledgment ``entry_id`` belongs to (an 824's loops are
    ``<ack>#<n>``): revoking that acknowledgment revokes its overflow too."""
    owner = entry_id.rsplit("#", 1)[0] if "#" in entry_id else ""
    return f"{owner}#{OVERFLOW}" if owner else OVERFLOW


@dataclass(frozen=True, slots=True)
class NamedRejection:
    """A set rejected after its 999 by an error report's rows alone: the member transactions
    they name, and what the set's other acknowledgments say of the rest."""

    people: frozenset[str]  # one key per member transaction named
    rest: Status
    rest_at: str | None  # the latest of those other acknowledgments
    # Every row pinned to its member transaction's ordinal. Rows kept before the ordinal
    # was are counted, as they were then, as rejecting the whole set (the counters hold
    # what was added: counting them otherwise now would subtract what was never added).
    exact: bool


def named_rejection(status: Status, entries: Mapping[str, Any]) -> NamedRejection | None:
    """None when the rejection is the whole set's (or the set is not rejected after its 999).
    Only an error report's rows, each matched to a member transaction when applied, name
    members; an 824 loop's REF may match none of ours, and an overflow names nobody."""
    if status != Status.REJECTED_AFTER_ACCEPT:
        return None
    late = [e for e in entries.values() if e.get("event") == _LATE and not e.get("revoked")]
    if not late or not all(e.get("pinned") and e.get("kind") == "error_report" for e in late):
        return None
    others = [e for e in entries.values()
              if e.get("event") and e.get("event") != _LATE and not e.get("revoked")]  # fmt: skip
    times = [at for e in others if (at := e.get("at"))]
    return NamedRejection(
        people=frozenset(person(e) for e in late),
        rest=fold(Event(event) for e in others if (event := e.get("event"))),
        rest_at=max(times) if times else None,
        exact=all((e.get("pinned") or {}).get("transaction") for e in late),
    )


def rejected_people(status: Status, entries: Mapping[str, Any], members: int) -> int:
    """The member transactions a set's status rejects: those its error report's rows name
    (``NamedRejection``), or every one; none when it is not rejected."""
    if status not in REJECTIONS:
        return 0
    named = named_rejection(status, entries)
    return min(len(named.people), members) if named is not None and named.exact else members


def person(entry: Mapping[str, Any]) -> str:
    """The member transaction a pinned entry names: its ordinal in the set where the row was
    matched to one, else its ids (entries kept before the ordinal was)."""
    pinned = entry.get("pinned") or {}
    if pinned.get("transaction"):
        return f"#{pinned['transaction']}"
    return f"{pinned.get('subscriber_id', '')}\x1f{pinned.get('member_id', '')}"


def member_status(status: Status, entries: Entries, *, subscriber_id: str | None,
                  member_id: str | None, subscriber: bool,
                  ordinal: int | None = None) -> Status:  # fmt: skip
    """A member's own status in its set. A set rejected after its 999 only by an error
    report's rows (each matched to the member transaction it names) rejects those members;
    the others keep what the set's other acknowledgments say."""
    named = named_rejection(status, entries)
    if named is None:
        return status
    late = [e for e in entries.values() if e.get("event") == _LATE and not e.get("revoked")]
    for entry in late:
        pinned = pinned_to(entry, ordinal)
        if names(entry, subscriber_id, member_id, subscriber) if pinned is None else pinned:
            return status
    return named.rest


def transaction_key(ordinal: float) -> str:
    """How a row's pin names the member transaction it was matched to: its ordinal in the
    set, as the member's key writes it."""
    return f"{int(ordinal):07d}"


def pinned_to(entry: Mapping[str, Any], ordinal: int | None) -> bool | None:
    """Whether a row matched to a member transaction (its ordinal in the set) names this
    one; None when either is unknown (rows kept before the ordinal was: by their ids)."""
    transaction = (entry.get("pinned") or {}).get("transaction")
    return None if not transaction or ordinal is None else transaction == transaction_key(ordinal)


def names(entry: AckEntry, subscriber_id: str | None, member_id: str | None,
          subscriber: bool) -> bool:  # fmt: skip
    """The entry's pin names this member: its member id, or its subscriber's family (an
    824's REF*0F alone), or the subscriber's own transaction (an error report's row with
    no member id)."""
    pinned = entry.get("pinned") or {}
    if not subscriber_id or pinned.get("subscriber_id") != subscriber_id:
        return False
    if pinned.get("member_id"):
        return pinned["member_id"] == member_id
    return entry.get("kind") != "error_report" or subscriber


def revoking(ack_id: str) -> Callable[[Entries], Entries]:
    """The change that makes an acknowledgment's entries stop counting (``ack_id`` and
    ``ack_id#n``, one per set it answered); they are kept, marked revoked."""

    def revoke(entries: Entries) -> Entries:
        return {
            key: {**value, "revoked": True}
            if key == ack_id or key.startswith(ack_id + "#")
            else value
            for key, value in entries.items()
        }

    return revoke


def refold(entries: Entries, change: Callable[[Entries], Entries]) -> Refolded:
    """Apply ``change`` to a set's entries and fold them again: revoked entries no longer
    count, and the same entries always give the same status (order and repeats do not)."""
    changed = change(dict(entries))
    live = [v for v in changed.values() if v.get("event") and not v.get("revoked")]
    times = [
        at
        for v in changed.values()
        if v.get("kind") == "999" and (at := v.get("at")) and not v.get("revoked")
    ]
    deciding = [at for v in live if (at := v.get("at"))]
    return Refolded(
        updates={key: value for key, value in changed.items() if entries.get(key) != value},
        status=fold(Event(event) for v in live if (event := v.get("event"))),
        first_999_at=min(times) if times else None,
        status_at=max(deciding) if deciding else None,
    )


class Applied(NamedTuple):
    """A set before an acknowledgment, and its status and first 999 time after."""

    before: Any  # the sent set as the store holds it
    status: str
    first_999_at: str | None
