"""Events for the tools operations teams already watch (pure): what changed, as PHI-free
facts for an EventBridge bus.

An event names the insurer, control numbers, counts and codes, and an opaque reference (a
keyed hash of what it is about), never a name, a birth date or an id of a person. Its
``event_id`` is a hash of its type and of the state it announces, so the same change gives
the same id however often it is seen: a consumer that keeps the ids it handled acts once.

Events are written to the table in the same transaction as the change they announce (the
outbox, ``store.outbox``) and published from there (``ingest.publish``): a change is never
published without having happened, nor lost when an invocation stops between the two.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from acktrack.domain.acks import Entries
from acktrack.domain.hashing import Keyring
from acktrack.domain.status import (
    CONFIRMED,
    REJECTING_EVENTS,
    REJECTIONS,
    Event,
    Status,
    rejected_people,
)

SOURCE = "acktrack"  # the events' ``source`` on the bus
MAX_LISTED = 100  # control numbers named in one event; the count says how many more
# A code as published: short, letters, digits and a few marks (an insurer's free-text
# error code could hold an id); anything else is published as "<kind>:other".
_SAFE_CODE = re.compile(r"[A-Za-z0-9_]{1,12}:[A-Za-z0-9_.=-]{1,16}")
MAX_CODES = 20  # codes named in one event: a 999 transaction holds up to 98 sets
CONFIRMING_EVENTS = frozenset({Event.SET_ACCEPTED, Event.SET_ACCEPTED_WITH_ERRORS})


class EventType(StrEnum):
    """The event's ``detail-type``."""

    ENROLLMENT_REJECTED = "EnrollmentRejected"  # a set rejected (TA1, 999, 824, error report)
    PERSON_CONFIRMED = "PersonConfirmed"  # a set accepted by a 999: its people confirmed
    ACKNOWLEDGMENT_OVERDUE = "AcknowledgmentOverdue"  # people with no 999 past the SLA
    NEVER_SENT = "NeverSent"  # expected actions with no member transaction sent in time
    CONTROL_GAP = "ControlGap"  # a control number missing from a consecutive run
    INSURER_SILENT = "InsurerSilent"  # quiet past its usual interval, 834s awaiting it
    FILE_QUARANTINED = "FileQuarantined"
    RECONCILIATION_DISCREPANCIES = "ReconciliationDiscrepancies"


# The only fields an event's detail may carry: control numbers, counts, codes, times and
# hashes. Anything else is refused when the event is made (``published``).
FIELDS = frozenset(
    {
        "event_id", "at", "insurer", "sender", "interchange_control", "group_control",
        "transaction_control", "status", "previous_status", "codes", "people",
        "enrollment_ref", "people_overdue", "people_overdue_before", "never_sent",
        "never_sent_before", "direction", "level", "missing", "more_missing", "since",
        "silent_since", "usual_interval_hours", "awaiting_answer", "file_ref", "folder",
        "reason_code", "outcome", "size", "as_of", "discrepancies", "missing_at_insurer",
        "insurer_only", "fields_differing", "matched", "report_date",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Notice:
    """One event before it is published. ``subject``: what it is about and the state that
    state reached (its id comes from it); ``reference``: what ``enrollment_ref`` or
    ``file_ref`` is the keyed hash of (kept in the table, never published)."""

    type: EventType
    subject: str
    at: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    reference: str = ""

    @property
    def event_id(self) -> str:
        return hashlib.sha256(f"{self.type}\x1f{self.subject}".encode()).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type.value, "subject": self.subject, "at": self.at,
                "detail": dict(self.detail), "reference": self.reference}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notice:
        return cls(EventType(data["type"]), str(data["subject"]), str(data["at"]),
                   dict(data.get("detail") or {}), str(data.get("reference") or ""))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Published:
    """An event as the bus takes it."""

    event_id: str
    detail_type: str
    at: str
    detail: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(self.detail, sort_keys=True, separators=(",", ":"))


def reference_of(notice: Notice, keyring: Keyring) -> str | None:
    """The opaque reference: a keyed hash of ``notice.reference`` under the stack's current
    key (None without a key: no reference rather than one anyone could recompute)."""
    if not notice.reference or not keyring:
        return None
    secret = keyring.keys[0].secret
    text = f"reference\x1f{notice.reference}".encode()
    return hmac.new(secret, text, hashlib.sha256).hexdigest()[:24]


def published(notice: Notice, keyring: Keyring) -> Published:
    """The event for ``notice``; a detail field outside ``FIELDS`` is refused (a bug)."""
    detail: dict[str, Any] = {**notice.detail, "event_id": notice.event_id, "at": notice.at}
    ref = reference_of(notice, keyring)
    if ref is not None:
        name = "file_ref" if notice.type == EventType.FILE_QUARANTINED else "enrollment_ref"
        detail[name] = ref
    unknown = sorted(set(detail) - FIELDS)
    if unknown:
        raise ValueError(f"an event may not carry {', '.join(unknown)}")
    return Published(notice.event_id, notice.type.value, notice.at, detail)


# -- a set's status moved ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetIdentity:
    """What an event says about a set: who sent it to whom, and its control numbers."""

    our_id: str
    partner: str
    interchange_control: str
    group_control: str
    transaction_control: str
    key: str  # the set's key in the table: what its reference is a hash of
    people: int


def set_moved(
    identity: SetIdentity, before: Status, after: Status, entries: Entries, at: str | None
) -> Notice | None:
    """A set that became rejected (from anything not a rejection) is ``EnrollmentRejected``;
    one that became confirmed (from anything not confirmed) is ``PersonConfirmed``; other
    moves are not events. ``entries``: the set's after the move. The event's identity is the
    set, the status and the acknowledgments that reject (or confirm) it, so the same answers
    give the same event whatever order they came in. (What changed may depend on the order:
    a 999 that accepts before an 824 rejects gives ``PersonConfirmed`` then
    ``EnrollmentRejected``; the 824 first, ``EnrollmentRejected`` only.)"""
    if after in REJECTIONS and before not in REJECTIONS:
        kind = EventType.ENROLLMENT_REJECTED
    elif after in CONFIRMED and before not in CONFIRMED:
        kind = EventType.PERSON_CONFIRMED
    else:
        return None
    detail: dict[str, Any] = {
        "insurer": identity.partner,
        "sender": identity.our_id,
        "interchange_control": identity.interchange_control,
        "group_control": identity.group_control,
        "transaction_control": identity.transaction_control,
        "status": after.value,
        "previous_status": before.value,
        "people": identity.people,
    }
    if kind == EventType.ENROLLMENT_REJECTED:
        detail["codes"] = rejection_codes(entries)
        detail["people"] = rejected_people(after, entries, identity.people)
    wanted = REJECTING_EVENTS if kind == EventType.ENROLLMENT_REJECTED else CONFIRMING_EVENTS
    deciding = sorted(key for key, entry in entries.items()
                      if entry.get("event") in wanted and not entry.get("revoked"))  # fmt: skip
    # A set confirmed, rejected by an 824, then confirmed again when that 824 no longer
    # counts is confirmed anew: the revoked rejection is part of its id. (Only rejections:
    # a confirmation revoked before another comes changes no id, in any order.)
    revoked = [] if kind == EventType.ENROLLMENT_REJECTED else sorted(
        f"{key}~" for key, entry in entries.items()
        if entry.get("revoked") and entry.get("event") in REJECTING_EVENTS)  # fmt: skip
    subject = "\x1f".join([identity.key, after.value, *deciding, *revoked])
    return Notice(kind, subject, at or "", detail, identity.key)


def named_again(
    identity: SetIdentity, status: Status, entries: Entries, named: list[str], at: str | None
) -> Notice | None:
    """A set rejected after its 999 already, whose new rows name more members (None: they
    name only members named already)."""
    people = _newly_named(entries, named, identity.people)
    if not people:
        return None
    detail: dict[str, Any] = {
        "insurer": identity.partner, "sender": identity.our_id,
        "interchange_control": identity.interchange_control,
        "group_control": identity.group_control,
        "transaction_control": identity.transaction_control, "status": status.value,
        "previous_status": status.value,
        "people": people,
        "codes": rejection_codes({key: entries[key] for key in named if key in entries}),
    }  # fmt: skip
    subject = "\x1f".join([identity.key, status.value, "named", *named])
    return Notice(EventType.ENROLLMENT_REJECTED, subject, at or "", detail, identity.key)


def _newly_named(entries: Entries, named: list[str], people: int) -> int:
    """Member transactions rejected now that were not before ``named`` came (none when the
    set was rejected whole already)."""
    before = {key: entry for key, entry in entries.items() if key not in named}
    late = Status.REJECTED_AFTER_ACCEPT
    was = late if any(e.get("event") == Event.SET_REJECTED_AFTER_ACCEPT.value and not e.get("revoked")
                      for e in before.values()) else Status.ACCEPTED  # fmt: skip
    return max(0, rejected_people(late, entries, people) - rejected_people(was, before, people))


def rejection_codes(entries: Entries) -> list[str]:
    """The rejecting acknowledgments' codes, as ``<kind>:<code>`` (``999:IK5=R``,
    ``999:IK3=8``, ``TA1:022``, ``824:TED=...``): codes only, never a value."""
    found: set[str] = set()
    for entry in entries.values():
        if entry.get("revoked") or entry.get("event") not in REJECTING_EVENTS:
            continue
        kind = str(entry.get("kind") or "")
        found.add(f"{kind}:status={entry.get('status', '')}")
        found.update(f"{kind}:{code}" for code in entry.get("codes") or [])
        found.update(f"{kind}:IK3={error['code']}" for error in entry.get("errors") or []
                     if error.get("code"))  # fmt: skip
        if kind == "TA1" and entry.get("note"):
            found.add(f"TA1:{entry['note']}")
    return sorted(code if _SAFE_CODE.fullmatch(code) else code.split(":", 1)[0] + ":other"
                  for code in found)[:MAX_CODES]  # fmt: skip


# -- a file quarantined, a reconciliation held ---------------------------------------------


def file_quarantined(
    bucket: str, key: str, version: str, folder: str, reason: str, size: int, at: str
) -> Notice:
    """The file is named by a keyed hash only (a file name can carry anything)."""
    detail = {"folder": folder, "reason_code": reason_code(reason), "size": size}
    return Notice(EventType.FILE_QUARANTINED, f"{bucket}\x1f{key}\x1f{version}", at, detail,
                  f"{bucket}/{key}#{version}")  # fmt: skip


def reason_code(reason: str) -> str:
    """A quarantine reason as a code: the words before its first colon, up to the first
    number or punctuated value (reasons may quote a count or a control number), lower case,
    joined by ``_``."""
    words: list[str] = []
    for word in reason.split(":", maxsplit=1)[0].replace(",", " ").split():
        digits = sum(c.isdigit() for c in word)
        if not (word.isascii() and word.isalnum()) or digits > 2 or digits == len(word):
            break
        if len(words) == 8:
            break
        words.append(word.lower())
    return "_".join(words) or "unreadable"


def reconciliation_held(
    our_id: str, partner: str, as_of: str, digest: str, counts: Mapping[str, int], at: str
) -> Notice | None:
    """A reconciliation with discrepancies (None when everything matched)."""
    if not counts.get("discrepancies"):
        return None
    detail = {"insurer": partner, "sender": our_id, "as_of": as_of, **counts}
    return Notice(EventType.RECONCILIATION_DISCREPANCIES,
                  f"{our_id}\x1f{partner}\x1f{as_of}\x1f{digest}", at, detail)  # fmt: skip


# -- what the report finds: announced when it changes --------------------------------------


@dataclass(frozen=True, slots=True)
class Announcement:
    """A state the report finds for one insurer (``key``: which state), as a fingerprint to
    compare with the one announced last, and the notice to publish when it differs."""

    key: str
    fingerprint: str
    notice: Notice | None  # None: the state cleared (remembered, nothing published)


def announcements(report: Mapping[str, Any]) -> list[Announcement]:
    """Per insurer: people overdue, actions never sent, each sequence's gaps, silence."""
    at = str(report.get("as_of") or "")
    found: list[Announcement] = []
    for line in report.get("by_partner") or []:
        partner, overdue = str(line["partner"]), int(line.get("pending_overdue") or 0)
        found.append(_counted(EventType.ACKNOWLEDGMENT_OVERDUE, partner, overdue, at,
                              "people_overdue"))  # fmt: skip
    for line in report.get("never_sent_by_partner") or []:
        found.append(_counted(EventType.NEVER_SENT, str(line["partner"]),
                              int(line.get("never_sent") or 0), at, "never_sent"))  # fmt: skip
    merged: dict[str, dict[str, Any]] = {}  # a sequence's gaps, one state
    for gap in report.get("control_gaps") or []:
        key = f"{EventType.CONTROL_GAP}#{gap['partner']}#{gap['direction']}#{gap['level']}"
        into = merged.setdefault(key, {**gap, "missing": [], "more_missing": 0})
        into["missing"] = into["missing"] + list(gap.get("missing") or [])
        into["more_missing"] += int(gap.get("more_missing") or 0)
        into["since"] = min(str(into.get("since") or ""), str(gap.get("since") or "")) or None
    for key, gap in merged.items():
        missing = sorted(int(n) for n in gap.get("missing") or [])
        detail = {"insurer": gap["partner"], "direction": gap["direction"], "level": gap["level"],
                  "missing": missing[:MAX_LISTED], "since": gap.get("since"),
                  "more_missing": int(gap.get("more_missing") or 0) + max(len(missing) - MAX_LISTED, 0)}  # fmt: skip
        fingerprint = ",".join(map(str, missing))
        found.append(Announcement(key, fingerprint, Notice(EventType.CONTROL_GAP,
                                  f"{key}\x1f{fingerprint}", at, detail)))  # fmt: skip
    for line in report.get("silent_insurers") or []:
        key = f"{EventType.INSURER_SILENT}#{line['partner']}"
        since = str(line["silent_since"])
        detail = {"insurer": line["partner"], "silent_since": since,
                  "usual_interval_hours": line.get("usual_interval_hours"),
                  "awaiting_answer": int(line.get("awaiting_answer") or 0)}  # fmt: skip
        found.append(Announcement(key, since, Notice(EventType.INSURER_SILENT,
                                  f"{key}\x1f{since}", at, detail)))  # fmt: skip
    return found


def _counted(kind: EventType, partner: str, count: int, at: str, name: str) -> Announcement:
    key = f"{kind}#{partner}"
    if not count:
        return Announcement(key, "", None)
    detail = {"insurer": partner, name: count}
    return Announcement(key, str(count), Notice(kind, f"{key}\x1f{count}\x1f{at}", at, detail))


def to_announce(
    found: Iterable[Announcement], announced: Mapping[str, str], cleared: Iterable[str] = ()
) -> list[tuple[Announcement, str | None]]:
    """The announcements whose state differs from what was announced last (with that
    fingerprint, None when never announced), and the states no longer found (``cleared``:
    keys announced before), to be remembered as cleared."""
    changes: list[tuple[Announcement, str | None]] = []
    seen: set[str] = set()
    for one in found:
        seen.add(one.key)
        before = announced.get(one.key)
        if (before or "") != one.fingerprint:
            changes.append((one, before))
    for key in cleared:
        if key not in seen and announced.get(key):
            changes.append((Announcement(key, "", None), announced[key]))
    return changes


def with_previous(one: Announcement, before: str | None) -> Notice | None:
    """What to publish for a changed state: nothing when it cleared or only got better (a
    count that fell, gaps that closed); else its notice, naming what is new: the count
    announced before, the numbers missing since."""
    if one.notice is None:
        return None
    detail = dict(one.notice.detail)
    for name in ("people_overdue", "never_sent"):
        if name in detail:
            earlier = int(before) if before and before.isdigit() else 0
            if detail[name] <= earlier:
                return None
            detail[f"{name}_before"] = earlier
    if one.notice.type == EventType.CONTROL_GAP:
        known = {int(n) for n in (before or "").split(",") if n.isdigit()}
        missing = sorted(set(map(int, one.fingerprint.split(","))) - known)
        if not missing:
            return None
        detail["missing"] = missing[:MAX_LISTED]
        detail["more_missing"] = max(len(missing) - MAX_LISTED, 0)
    return Notice(one.notice.type, one.notice.subject, one.notice.at, detail, one.notice.reference)
