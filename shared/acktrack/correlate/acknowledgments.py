"""A stored TA1 or 999 meets the sets that were sent, and each set's status moves.

Matching:
- TA1 -> the interchange (our id, partner, ISA13), sender and receiver swapped; when
  an ISA13 was reused, the TA1's date and time pick the interchange, if they can.
- 999 -> the group (our id, partner, AK102), then each set by AK202; without AK2
  loops, AK9 speaks for every set of the group. A GS06 used by two interchanges
  makes its 999s ambiguous: they are kept, reported, and not applied.

Applying is idempotent: a set keeps one entry per acknowledgment and its status is the
fold of those entries' events (``domain.status``), so late, repeated or reordered
acknowledgments give the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from acktrack.correlate.responses import (
    GroupReading,
    StoredGroupAck,
    ack_from_detail,
    group_summary,
    read_group_acknowledgment,
    segment_error_detail,
    ta1_summary,
)
from acktrack.domain.acks import AckEntry
from acktrack.domain.ports import AcknowledgmentStore, Outcome
from acktrack.domain.status import (
    REJECTIONS,
    AckState,
    Applied,
    InterchangeStatus,
    event_for_ta1,
)
from acktrack.domain.tracked import TrackedInterchange

if TYPE_CHECKING:
    from acktrack.domain.stored import StoredAck, StoredSet


def _observe(outcome: Outcome | None, applied: Applied) -> None:
    """Per-insurer figures for metrics: members moved, and seconds from sending to the first 999."""
    if outcome is None:
        return
    before = applied.before
    if applied.status != before.status and applied.status in (
        "accepted",
        "accepted_with_errors",
        "rejected",
        "rejected_after_accept",
    ):
        name = "rejected" if applied.status in REJECTIONS else "accepted"
        outcome.count(before.partner, name, int(before.members))
    if before.first_999_at is None and applied.first_999_at:
        sent = datetime.fromisoformat(before.sent_at.replace("Z", "+00:00"))
        acknowledged = datetime.fromisoformat(applied.first_999_at)
        outcome.ack_seconds.append((before.partner, round((acknowledged - sent).total_seconds())))


def apply_entries(
    store: AcknowledgmentStore,
    entries: Iterable[tuple[StoredSet, str, AckEntry]],
    outcome: Outcome | None,
) -> None:
    """Write the entries; the families waiting on a moved set's answer (a duplicate question,
    ``domain.family``) are judged again by the caller (``Outcome.rejudge``)."""
    moved: list[StoredSet] = []
    for applied in store.apply_to_sets(entries):
        _observe(outcome, applied)
        if applied.status != applied.before.status:
            moved.append(applied.before)
    if moved:  # the store also puts back in the report's index the sets these answers closed
        waiting = store.watchers(moved)
        if outcome is not None:
            outcome.rejudge |= waiting


@dataclass(frozen=True, slots=True)
class GroupAckRead:
    """A stored 999 for one group, read against the group version it answers."""

    ack: StoredGroupAck
    version: Any
    reading: GroupReading
    omitted: dict[str, int]
    at: datetime
    sets: Sequence[StoredSet] | None  # every set of the version, when read whole


def _read_group_ack(
    store: AcknowledgmentStore, stored: StoredAck, *, whole: bool = True
) -> GroupAckRead | str:
    """The 999 read against its group version's sets (``whole``: the sets themselves, else
    their ST02s only), or the state it was given when it cannot be applied."""
    detail = store.ack_detail(stored)
    ack = ack_from_detail(detail)
    group_control = stored.target_control
    if ack.functional_id and ack.functional_id != "BE":
        return store.set_ack_state(
            stored,
            AckState.UNMATCHED,
            f"acknowledges a {ack.functional_id} group, not an 834 (BE) group",
        )
    versions = store.group_versions(stored.our_id, stored.partner, group_control)
    if not versions:
        return store.set_ack_state(
            stored,
            AckState.UNMATCHED,
            f"no functional group GS06 {group_control} was sent to {stored.partner}",
        )
    if len(versions) > 1:
        return store.set_ack_state(
            stored, AckState.AMBIGUOUS,
            f"GS06 {group_control} to {stored.partner} was used by {len(versions)} interchanges; "
            "this 999 cannot tell them apart",
        )  # fmt: skip
    sets = list(store.sets_of_group_version(versions[0])) if whole else None
    controls = (
        [item.transaction_control for item in sets]
        if sets is not None
        else list(store.set_controls_of_group_version(versions[0]))
    )
    reading = read_group_acknowledgment(ack, controls)
    at = datetime.fromisoformat(stored.acknowledged_at)
    return GroupAckRead(ack, versions[0], reading, _omitted_errors(detail), at, sets)


def _entries(
    store: AcknowledgmentStore, stored: StoredAck, read: GroupAckRead, start: int, end: int,
    sets: Iterable[StoredSet],
) -> Iterator[tuple[StoredSet, str, AckEntry]]:  # fmt: skip
    """The entries of the set outcomes [start, end), on ``sets``."""
    by_control = {item.transaction_control: item for item in sets}
    for index, set_outcome in enumerate(read.reading.outcomes[start:end], start=start):
        item = by_control.get(set_outcome.transaction_control)
        if item is None:
            continue  # gone since it was listed (expired): nothing to answer
        errors = set_outcome.segment_errors  # one read of the set's members for all of them
        members = store.members_at(item, [error.position for error in errors]) if errors else {}
        attributed = [
            segment_error_detail(error, members.get(error.position or 0)) for error in errors
        ]
        entry_id = f"{stored.sk}#{index}"  # one 999 may answer a set twice (duplicate ST02)
        summary = group_summary(entry_id, read.ack, set_outcome, read.at, attributed,
                                read.omitted.get(set_outcome.transaction_control, 0))  # fmt: skip
        yield item, entry_id, summary


def apply_group_ack(
    store: AcknowledgmentStore, stored: StoredAck, outcome: Outcome | None = None
) -> str:
    """Apply a stored 999 response for one group; return the ack's new state."""
    read = _read_group_ack(store, stored)
    if isinstance(read, str):
        return read
    # Sets share transactions with the counters they move (a 999 may answer 100,000 sets).
    entries = _entries(store, stored, read, 0, len(read.reading.outcomes), read.sets or [])
    apply_entries(store, entries, outcome)
    return _settle_group_ack(store, stored, read)


def group_ack_slices(
    store: AcknowledgmentStore, stored: StoredAck, detail: dict[str, Any], size: int
) -> int:
    """How many slices of ``size`` set outcomes a stored 999 (``detail``: what it was stored
    from) is applied in: one per ``size`` set responses; for a 999 without AK2 loops, whose
    AK9 speaks for every set of its group, one per ``size`` sets of the group."""
    outcomes = len(detail.get("sets", []))
    if not outcomes:
        versions = store.group_versions(stored.our_id, stored.partner, stored.target_control)
        if len(versions) == 1:
            outcomes = len(store.set_controls_of_group_version(versions[0]))
    return max(1, -(-outcomes // size))


def apply_group_ack_slice(
    store: AcknowledgmentStore, stored: StoredAck, index: int, size: int,
    outcome: Outcome | None = None,
) -> None:  # fmt: skip
    """Apply one slice of a large 999: the set responses ``index * size`` on, at most
    ``size`` of them, reading only their sets. Each slice writes the entries one
    application in one go would (the same ids), so slices in any order, run again, give
    its result; ``finish_group_ack`` then gives the ack its state."""
    read = _read_group_ack(store, stored, whole=False)
    if isinstance(read, str):
        return  # its state is set: nothing of it applies
    start = index * size
    chosen = read.reading.outcomes[start : start + size]
    if not chosen:
        return
    controls = [set_outcome.transaction_control for set_outcome in chosen]
    sets = store.sets_of_group_version_with(read.version, controls)
    apply_entries(store, _entries(store, stored, read, start, start + size, sets), outcome)


def finish_group_ack(store: AcknowledgmentStore, stored: StoredAck) -> str:
    """Every slice of a large 999 is applied: its state and notes, as in one go."""
    read = _read_group_ack(store, stored, whole=False)
    if read == AckState.AMBIGUOUS:  # its GS06 was sent again while its slices ran
        for item in store.sets_of_group(stored.our_id, stored.partner, stored.target_control):
            store.revoke_from_set(item, stored.sk)  # none of it counts, as in one go
    if isinstance(read, str):
        return read
    return _settle_group_ack(store, stored, read)


def _settle_group_ack(store: AcknowledgmentStore, stored: StoredAck, read: GroupAckRead) -> str:
    reading, group_control = read.reading, stored.target_control
    notes = []
    if reading.unmatched_controls:
        notes.append(
            f"AK2 for ST02 {_listed(reading.unmatched_controls)} never sent in GS06 {group_control}"
        )
    if reading.silent_controls:
        notes.append(f"no AK2 for ST02 {_listed(reading.silent_controls)}")
    if reading.note:
        notes.append(reading.note)
    state = (
        AckState.UNMATCHED
        if reading.unmatched_controls and not reading.outcomes
        else AckState.APPLIED
    )
    return store.set_ack_state(stored, state, "; ".join(notes))


_LISTED = 20  # control numbers named in a reason; the rest are counted


def _listed(controls: list[str]) -> str:
    named = ", ".join(controls[:_LISTED])
    return named if len(controls) <= _LISTED else f"{named} and {len(controls) - _LISTED:,} more"


def _omitted_errors(detail: dict[str, Any]) -> dict[str, int]:
    """Per ST02, the segment errors a stored 999 counted but did not keep (``ack_detail``)."""
    omitted: dict[str, int] = {}
    for response in detail.get("sets", []):
        if response.get("omitted_errors"):
            control = response.get("control", "")
            omitted[control] = omitted.get(control, 0) + int(response["omitted_errors"])
    return omitted


def apply_ta1(store: AcknowledgmentStore, stored: StoredAck, outcome: Outcome | None = None) -> str:
    """Apply a stored TA1 to every set of the interchange it names."""
    detail = stored.detail
    versions = [
        version
        for version in store.interchange_versions(
            stored.our_id, stored.partner, stored.target_control
        )
        if version.status == InterchangeStatus.COMPLETE
    ]
    if len(versions) > 1:
        dated = [
            v
            for v in versions
            if (v.interchange_date, v.interchange_time) == (detail["date"], detail["time"])
        ]
        if len(dated) == 1:
            versions = dated
    if not versions:
        return store.set_ack_state(
            stored,
            AckState.UNMATCHED,
            f"no interchange ISA13 {stored.target_control} was sent to {stored.partner}",
        )
    if len(versions) > 1:
        return store.set_ack_state(
            stored, AckState.AMBIGUOUS,
            f"ISA13 {stored.target_control} to {stored.partner} was used by {len(versions)} interchanges "
            "with the same date and time; this TA1 cannot tell them apart",
        )  # fmt: skip
    version = versions[0]
    at = datetime.fromisoformat(stored.acknowledged_at)
    summary = ta1_summary(stored.sk, detail["status"], detail["note"], at)
    entries = ((item, stored.sk, summary) for item in store.sets_of_interchange(version))
    apply_entries(store, entries, outcome)
    reason = (
        "" if event_for_ta1(detail["status"]) else f"TA104 {detail['status']!r} is not A, E or R"
    )
    return store.set_ack_state(stored, AckState.APPLIED, reason)


def apply_stored_acks(
    store: AcknowledgmentStore, interchange: TrackedInterchange, outcome: Outcome | None = None
) -> None:
    """Acknowledgments that arrived before this interchange: apply them now."""
    for group_control in interchange.group_controls:
        for stored in store.acks_for_group(interchange.our_id, interchange.partner, group_control):
            if stored.kind == "999" and stored.state in (AckState.PENDING, AckState.UNMATCHED):
                apply_group_ack(store, stored, outcome)  # an 824 too: ``correlate.advice``
    for stored in store.acks_for_interchange(
        interchange.our_id, interchange.partner, interchange.interchange_control
    ):
        if stored.state in (AckState.PENDING, AckState.UNMATCHED):
            apply_ta1(store, stored, outcome)


def revoke_group_acks(
    store: AcknowledgmentStore, our: str, partner: str, group_control: str
) -> None:
    """A GS06 now names two interchanges: its 999s no longer count for either."""
    for stored in store.acks_for_group(our, partner, group_control):
        # A pending one may be applied in slices already under way (``ingest.ack_parts``).
        if stored.state in (AckState.APPLIED, AckState.PENDING):
            for item in store.sets_of_group(our, partner, group_control):
                store.revoke_from_set(item, stored.sk)
        if stored.state != AckState.AMBIGUOUS:
            store.set_ack_state(
                stored, AckState.AMBIGUOUS,
                f"GS06 {group_control} to {partner} was used by several interchanges; "
                "this 999 cannot tell them apart",
            )  # fmt: skip


def revoke_ambiguous_ta1s(
    store: AcknowledgmentStore, our: str, partner: str, interchange_control: str
) -> None:
    """An ISA13 now names several interchanges: keep only TA1s their date and time place."""
    versions = [
        v
        for v in store.interchange_versions(our, partner, interchange_control)
        if v.status == InterchangeStatus.COMPLETE
    ]
    for stored in store.acks_for_interchange(our, partner, interchange_control):
        detail = stored.detail
        placed = [
            v
            for v in versions
            if (v.interchange_date, v.interchange_time) == (detail["date"], detail["time"])
        ]
        if len(placed) == 1:
            for other in versions:
                if other.sk != placed[0].sk:
                    for item in store.sets_of_interchange(other):
                        store.revoke_from_set(item, stored.sk)
            apply_ta1(store, stored)
            continue
        if stored.state == AckState.APPLIED:
            for version in versions:
                for item in store.sets_of_interchange(version):
                    store.revoke_from_set(item, stored.sk)
        store.set_ack_state(
            stored, AckState.AMBIGUOUS,
            f"ISA13 {interchange_control} to {partner} was used by {len(versions)} interchanges; "
            "this TA1 cannot tell them apart",
        )  # fmt: skip
