"""What an acknowledgment says about each transaction set, in codes.

Pure: the pipeline supplies the sets that were sent, this module says which event each
one gets and keeps the IK3/IK4 detail as the set's entry (``domain.acks.AckEntry``); the
report puts it in plain words (``report.reasons``). Bad values from IK404 are kept only
for code elements, never for data that may be personal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from acktrack.domain import identifiers
from acktrack.domain.acks import AckEntry, SegmentErrorEntry
from acktrack.domain.identifiers import clip
from acktrack.domain.status import Event, event_for_ik5, event_for_ta1
from acktrack.x12.records import ElementError, GroupAcknowledgment, SegmentError, SetAcknowledgment

# Data element reference numbers whose values are codes (safe to keep and show).
CODE_ELEMENTS = frozenset(
    {"875", "1069", "1073", "1203", "1216", "1205", "1207", "353", "306", "128", "374", "1250", "66", "98",
     "1065", "1068", "1165", "1166", "143", "479", "480"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SetOutcome:
    """What one acknowledgment says about one sent transaction set."""

    transaction_control: str
    event: Event | None  # None: the acknowledgment mentions the set but decides nothing
    status: str  # IK501, or AK901 when there are no AK2 loops
    codes: tuple[str, ...]  # IK502-IK506 (or AK905-AK909)
    segment_errors: tuple[SegmentError, ...] = ()


@dataclass(slots=True)
class GroupReading:
    outcomes: list[SetOutcome] = field(default_factory=list)
    unmatched_controls: list[str] = field(default_factory=list)  # AK202s never sent
    silent_controls: list[str] = field(default_factory=list)  # sent sets the 999 skips
    note: str = ""


@dataclass(slots=True)
class StoredGroupAck:
    """A 999's response for one group as kept in the store (codes only)."""

    functional_id: str
    group_control: str
    version: str
    status: str
    error_codes: list[str]
    sets: list[SetAcknowledgment]


# A stored acknowledgment is one DynamoDB item (400 KB at most); a larger detail (a 999 for
# thousands of sets) keeps its set responses in compressed chunk items beside it
# (``Repository.put_ack``). Element values are clipped to X12's longest (99), and a set
# keeps its first segment errors with a count of the rest.
MAX_SEGMENT_ERRORS = 100
MAX_STORED_BYTES = 64 * 1024 * 1024  # about 500,000 sets with errors; then codes only
_SHORT, _LONG = identifiers.SHORT, identifiers.LONG


class AcknowledgmentTooLarge(ValueError):
    """Even without error detail, a group response does not fit in one item."""


def ack_detail(ack: GroupAcknowledgment) -> dict[str, Any]:
    """A 999 group response as stored: every code, bad values only for code elements."""
    detail = _detail(ack, MAX_SEGMENT_ERRORS)
    if len(json.dumps(detail)) > MAX_STORED_BYTES:
        detail = _detail(ack, 0)  # statuses and codes still apply; the error detail is counted
        if len(json.dumps(detail)) > MAX_STORED_BYTES:
            raise AcknowledgmentTooLarge(
                f"the 999 for GS06 {clip(ack.group_control)} answers {len(ack.sets):,} transaction sets, "
                "more than acktrack stores for one acknowledgment"
            )
    return detail


def _detail(ack: GroupAcknowledgment, errors_per_set: int) -> dict[str, Any]:
    return {
        "functional_id": clip(ack.functional_id),
        "group_control": clip(ack.group_control),
        "version": clip(ack.version),
        "status": clip(ack.status),
        "error_codes": [clip(code) for code in ack.error_codes[:10]],
        "included": ack.included,
        "received": ack.received,
        "accepted": ack.accepted,
        "sets": [
            {
                "control": clip(response.control),
                "set_id": clip(response.set_id),
                "status": clip(response.status),
                "error_codes": [clip(code) for code in response.error_codes[:10]],
                "segment_errors": [
                    {
                        "segment_id": clip(error.segment_id),
                        "position": error.position,
                        "loop_id": clip(error.loop_id),
                        "code": clip(error.code),
                        "elements": [
                            [
                                element.position,
                                element.component,
                                element.repetition,
                                clip(element.reference),
                                clip(element.code),
                                clip(element.bad_value, _LONG)
                                if element.reference in CODE_ELEMENTS
                                else None,
                            ]
                            for element in error.element_errors[:10]
                        ],
                    }
                    for error in response.segment_errors[:errors_per_set]
                ],
                **(
                    {"omitted_errors": len(response.segment_errors) - errors_per_set}
                    if len(response.segment_errors) > errors_per_set
                    else {}
                ),
            }
            for response in ack.sets
        ],
    }


def ack_from_detail(detail: dict[str, Any]) -> StoredGroupAck:
    sets = []
    for response in detail.get("sets", []):
        errors = [
            SegmentError(
                segment_id=error["segment_id"],
                position=error["position"],
                loop_id=error["loop_id"],
                code=error["code"],
                element_errors=[ElementError(*element) for element in error["elements"]],
            )
            for error in response.get("segment_errors", [])
        ]
        sets.append(
            SetAcknowledgment(
                set_id=response.get("set_id", "834"),
                control=response["control"],
                implementation="",
                status=response["status"],
                error_codes=list(response.get("error_codes", [])),
                segment_errors=errors,
            )
        )
    return StoredGroupAck(
        functional_id=detail.get("functional_id", ""),
        group_control=detail.get("group_control", ""),
        version=detail.get("version", ""),
        status=detail.get("status", ""),
        error_codes=list(detail.get("error_codes", [])),
        sets=sets,
    )


def read_group_acknowledgment(
    ack: GroupAcknowledgment | StoredGroupAck, sent_controls: list[str]
) -> GroupReading:
    """Map a 999's set responses (or its AK9 alone) onto the sets that were sent."""
    reading = GroupReading()
    sent = list(dict.fromkeys(sent_controls))
    sent_set = set(sent)  # 100,000 sets: membership must not be a list scan
    if ack.sets:
        mentioned: set[str] = set()
        for response in ack.sets:
            if response.control not in sent_set:
                reading.unmatched_controls.append(response.control)
                continue
            mentioned.add(response.control)
            reading.outcomes.append(
                SetOutcome(
                    response.control,
                    event_for_ik5(response.status),
                    response.status,
                    tuple(response.error_codes),
                    tuple(response.segment_errors),
                )
            )
        reading.silent_controls = [control for control in sent if control not in mentioned]
        return reading
    event = event_for_ik5(ack.status)
    if event is None:
        reading.note = (
            f"999 AK9 {ack.status or '(blank)'} without set detail (no AK2 loops): "
            "no set can be confirmed or rejected from it"
        )
        return reading
    reading.outcomes = [
        SetOutcome(control, event, ack.status, tuple(ack.error_codes)) for control in sent
    ]
    return reading


def group_summary(
    ack_id: str, ack: GroupAcknowledgment | StoredGroupAck, outcome: SetOutcome, acknowledged_at: datetime | None,
    attributed: list[SegmentErrorEntry], omitted_errors: int = 0,
) -> AckEntry:  # fmt: skip
    """What a set keeps of a 999: codes, positions, the member each error belongs to."""
    entry: AckEntry = {
        **({"omitted_errors": omitted_errors} if omitted_errors else {}),
        "id": ack_id,
        "kind": "999",
        "event": outcome.event.value if outcome.event else None,
        "status": outcome.status,
        "codes": list(outcome.codes),
        "ak9": ack.status,
        "ak9_codes": list(ack.error_codes),
        "per_set": bool(ack.sets),
        "at": acknowledged_at.isoformat() if acknowledged_at else None,
        "errors": attributed,
    }
    return entry


def ta1_summary(ack_id: str, status: str, note: str, acknowledged_at: datetime | None) -> AckEntry:
    event = event_for_ta1(status)
    return {
        "id": ack_id,
        "kind": "TA1",
        "event": event.value if event else None,
        "status": status,
        "note": note,
        "at": acknowledged_at.isoformat() if acknowledged_at else None,
    }


def segment_error_detail(error: SegmentError, member: dict[str, Any] | None) -> SegmentErrorEntry:
    """An IK3 with its IK4s, attributed to the member whose loop holds its position."""
    return {
        "segment": error.segment_id,
        "position": error.position,
        "loop": error.loop_id,
        "code": error.code,
        "elements": [
            {
                "position": element.position,
                "component": element.component,
                "reference": element.reference,
                "code": element.code,
                "value": element.bad_value if element.reference in CODE_ELEMENTS else None,
            }
            for element in error.element_errors
        ],
        "member": member,
    }
