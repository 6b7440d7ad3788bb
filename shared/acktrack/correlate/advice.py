"""Rejections after the 999: an insurer's 824 Application Advice (``x12.advice``).

A 999 says a set was readable; the insurer's business rules may still refuse it. Each OTI
loop that rejects (OTI01 TR, BR, IR, GR) names the original set by GS06 and ST02 (OTI08,
OTI09), or by GS06 and the set's BGN02 (OTI02 TN, OTI03) when it gives no ST02; a group
rejection, GR, by GS06 alone. The 824 is stored once per group it speaks
of, like a 999 (``ACK#GS#…``), and applied when that group's 834 is tracked, whichever
comes first: each rejected set gets an entry whose event moves it to
``rejected_after_accept`` (open, until an effectuation or a confirmed resend closes it).
A REF*0F or REF*17 in the loop pins the rejection to that member in the report's reason.
The TED errors are kept by code; their text (TED02) is not kept: it may quote the
member's name or address.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from acktrack.correlate.acknowledgments import apply_entries
from acktrack.domain.acks import AckEntry
from acktrack.domain.identifiers import ID, clip
from acktrack.domain.ports import AcknowledgmentStore, Outcome
from acktrack.domain.status import AckState, Event
from acktrack.domain.tracked import TrackedInterchange
from acktrack.x12 import ApplicationAdvice

ADVICE = "824"


def advice_details(advice: ApplicationAdvice) -> Iterator[tuple[str, dict[str, Any]]]:
    """(GS06, detail) for each group the 824 speaks of: its OTI loops that reject."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in advice.items:
        if not item.rejected or (item.set_type and item.set_type != "834"):
            continue  # accepted (with errors or not), or about another kind of set
        unnamed = not item.transaction_control and item.verdict != "GR"
        named_by_bgn02 = unnamed and by_reference(item)
        if unnamed and not named_by_bgn02:
            continue  # names no set we could find
        groups.setdefault(clip(item.group_control) or "-", []).append({
            "verdict": clip(item.verdict), "control": clip(item.transaction_control),
            "reference": clip(item.reference), "qualifier": clip(item.reference_qualifier),
            "by_reference": named_by_bgn02,
            "codes": [clip(error.code) for error in item.errors],
            "messages": [],  # TED02 may quote the member's name or address: never kept
            "more_errors": max(0, len(item.errors) - 5) + item.errors_dropped,
            "subscriber_id": clip(item.subscriber_id, ID), "member_id": clip(item.member_id, ID),
        })  # fmt: skip
    for group_control, items in groups.items():
        yield group_control, {"sets": items}


def apply_advice(store: AcknowledgmentStore, stored: Any, outcome: Outcome | None = None) -> str:
    """Apply a stored 824's rejections for one group; return its new state."""
    group_control = stored.target_control
    versions = store.group_versions(stored.our_id, stored.partner, group_control)
    if not versions:
        return store.set_ack_state(
            stored, AckState.UNMATCHED,
            f"824: no functional group GS06 {group_control} was sent to {stored.partner}",
        )  # fmt: skip
    if len(versions) > 1:
        return store.set_ack_state(
            stored, AckState.AMBIGUOUS,
            f"GS06 {group_control} to {stored.partner} was used by {len(versions)} interchanges; "
            "this 824 cannot tell them apart",
        )  # fmt: skip
    items: list[dict[str, Any]] = store.ack_detail(stored).get("sets", [])
    # A set named by its BGN02 alone: which ST02 carried it, from the group's keys and BGN02s.
    named = _by_bgn02(store, versions[0], items)
    whole_group = any(not item["control"] and not item.get("by_reference") for item in items)
    controls = sorted({item["control"] for item in items if item["control"]}
                      | {carried[0] for item in items
                         if len(carried := named.get(item["reference"], [])) == 1})  # fmt: skip
    sets = (store.sets_of_group_version(versions[0]) if whole_group
            else store.sets_of_group_version_with(versions[0], controls))  # fmt: skip
    by_control = {item.transaction_control: item for item in sets}
    at = datetime.fromisoformat(stored.acknowledged_at)
    entries: list[tuple[Any, str, AckEntry]] = []
    unknown: list[str] = []
    for index, item in enumerate(items):
        targets, problem = _targets(item, by_control, named)
        if problem:
            unknown.append(problem)
        for target in targets:
            entry_id = f"{stored.sk}#{index}"
            entries.append((target, entry_id, _entry(entry_id, item, at)))
    apply_entries(store, entries, outcome)
    note = (f"824 OTI for {', '.join(unknown[:20])} in GS06 {group_control}: not applied"
            if unknown else "")  # fmt: skip
    state = AckState.UNMATCHED if unknown and not entries else AckState.APPLIED
    return store.set_ack_state(stored, state, note)


def by_reference(item: Any) -> bool:
    """An OTI that names the original set by its BGN02 (OTI02 TN, OTI03)."""
    return bool(item.reference) and item.reference_qualifier == "TN"


def _by_bgn02(store: AcknowledgmentStore, version: Any,
              items: list[dict[str, Any]]) -> Mapping[str, Sequence[str]]:  # fmt: skip
    """BGN02 -> ST02s of the group, read only when an OTI names a set by its BGN02 alone."""
    if not any(item.get("by_reference") for item in items):
        return {}
    return store.set_references_of_group_version(version)


def _targets(item: dict[str, Any], by_control: dict[str, Any],
             named: Mapping[str, Sequence[str]]) -> tuple[list[Any], str]:  # fmt: skip
    """The sets an OTI loop rejects, and why none when it rejects none: by ST02; by BGN02
    when it gives none (the one set of the group that carried it; none when several did,
    each sender's BGN02 being meant to name one set); the whole group for ``GR``."""
    if item["control"]:
        if item["control"] in by_control:
            return [by_control[item["control"]]], ""
        return [], f"ST02 {item['control']} (never sent)"
    if item.get("by_reference"):
        carried = named.get(item["reference"], [])
        if len(carried) > 1:
            return (
                [],
                f"BGN02 {item['reference']} (carried by {len(carried)} sets: which is meant is unknown)",
            )
        if carried and carried[0] in by_control:
            return [by_control[carried[0]]], ""
        return [], (f"BGN02 {item['reference']} (no set of the group carried it; sets tracked "
                    "before BGN02 was kept cannot be found by it)")  # fmt: skip
    return list(by_control.values()), ""


def _entry(entry_id: str, item: dict[str, Any], at: datetime) -> AckEntry:
    pinned = {name: item[name] for name in ("subscriber_id", "member_id") if item.get(name)}
    return {
        "id": entry_id, "kind": ADVICE, "event": Event.SET_REJECTED_AFTER_ACCEPT.value,
        "status": item["verdict"], "codes": list(item["codes"]), "at": at.isoformat(),
        "note": "; ".join(item["messages"]), "omitted_errors": int(item["more_errors"]),
        "errors": [], **({"pinned": pinned} if pinned else {}),
    }  # fmt: skip


def apply_stored_advices(
    store: AcknowledgmentStore, interchange: TrackedInterchange, outcome: Outcome | None = None
) -> None:
    """824s that arrived before this interchange's groups were tracked: apply them now."""
    for group_control in interchange.group_controls:
        for stored in store.acks_for_group(interchange.our_id, interchange.partner, group_control):
            if stored.kind == ADVICE and stored.state in (AckState.PENDING, AckState.UNMATCHED):
                apply_advice(store, stored, outcome)
