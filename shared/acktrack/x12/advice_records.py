"""Records of an 824 Application Advice (005010X186A1): an insurer's business verdict on
sets it was sent, after their 999 said they were syntactically acceptable.

One ``ApplicationAdvice`` per 824 transaction set, one ``AdviceItem`` per OTI loop in it,
one ``AdviceError`` per TED. ``advice.AdviceReader`` builds them; ``records.Record``
names ``ApplicationAdvice`` among what the reader yields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from acktrack.x12.text import PHI_MASK

if TYPE_CHECKING:  # records imports this module for ``Record``
    from acktrack.x12.records import TransactionHeader


def verdict_rejects(verdict: str) -> bool:
    """OTI01 says the group, batch, set or item was rejected (GR, BR, TR, IR)."""
    return len(verdict) == 2 and verdict.endswith("R")


def verdict_notes_errors(verdict: str) -> bool:
    """OTI01 says it was accepted with errors (GE, BE, TE, IE)."""
    return len(verdict) == 2 and verdict.endswith("E")


class AdviceError(NamedTuple):
    """TED: one application error the insurer found."""

    code: str  # TED01 application error condition code
    message: str  # TED02, clipped and neutralised (``text.neutral_text``): may quote data


@dataclass(slots=True)
class AdviceItem:
    """One OTI loop: the verdict on one set (or batch, or item) the insurer was sent."""

    verdict: str  # OTI01: TA, TE, TR, BR, IR, ...
    reference_qualifier: str  # OTI02: TN when OTI03 is the original BGN02
    reference: str  # OTI03
    application_sender: str = ""  # OTI04
    application_receiver: str = ""  # OTI05
    date: str = ""  # OTI06 CCYYMMDD
    time: str = ""  # OTI07
    group_control: str = ""  # OTI08 = GS06 of the original group, may be empty
    transaction_control: str = ""  # OTI09 = ST02 of the original set, may be empty
    set_type: str = ""  # OTI10: 834
    position: int = 0  # the OTI's segment position in the 824 (ST = 1)
    errors: list[AdviceError] = field(default_factory=list)  # at most Limits.advice_errors
    errors_dropped: int = 0  # TEDs beyond Limits.advice_errors: counted, not kept
    subscriber_id: str | None = None  # REF*0F in the loop
    member_id: str | None = None  # REF*17 in the loop

    @property
    def rejected(self) -> bool:
        return verdict_rejects(self.verdict)

    @property
    def accepted_with_errors(self) -> bool:
        return verdict_notes_errors(self.verdict)

    def to_dict(self, *, show_phi: bool = False) -> dict[str, Any]:
        """TED02 messages may quote personal data: masked unless ``show_phi``."""
        return {
            "verdict": self.verdict,
            "rejected": self.rejected,
            "accepted_with_errors": self.accepted_with_errors,
            "reference_qualifier": self.reference_qualifier,
            "reference": self.reference,
            "application_sender": self.application_sender,
            "application_receiver": self.application_receiver,
            "date": self.date,
            "time": self.time,
            "group_control": self.group_control,
            "transaction_control": self.transaction_control,
            "set_type": self.set_type,
            "subscriber_id": self.subscriber_id,
            "member_id": self.member_id,
            "errors": [
                {"code": error.code, "message": error.message if show_phi else PHI_MASK}
                for error in self.errors
            ],
            "errors_dropped": self.errors_dropped,
        }


@dataclass(slots=True)
class ApplicationAdvice:
    """One 824 transaction set: BGN, the submitter and receiver (N1*41, N1*40), OTI loops."""

    header: TransactionHeader  # of the 824 itself
    purpose: str = ""  # BGN01
    reference: str = ""  # BGN02: the advice's own reference
    date: str = ""  # BGN03 CCYYMMDD: the advice date
    time: str = ""  # BGN04
    submitter_name: str = ""  # N1*41 N102
    submitter_id: str = ""  # N1*41 N104
    recipient_name: str = ""  # N1*40 (the guide's "receiver") N102
    recipient_id: str = ""  # N1*40 N104
    items: list[AdviceItem] = field(default_factory=list)  # at most Limits.advice_items
    items_dropped: int = 0  # OTI loops beyond Limits.advice_items: counted, not kept

    @property
    def sender_id(self) -> str:
        return self.header.interchange.sender_id

    @property
    def receiver_id(self) -> str:
        return self.header.interchange.receiver_id

    @property
    def rejected_items(self) -> list[AdviceItem]:
        return [item for item in self.items if item.rejected]

    def to_dict(self, *, show_phi: bool = False) -> dict[str, Any]:
        return {
            "sender_id": self.sender_id,
            "receiver_id": self.receiver_id,
            "interchange_control": self.header.interchange.control,
            "advice_group_control": self.header.group_control,
            "advice_transaction_control": self.header.control,
            "purpose": self.purpose,
            "reference": self.reference,
            "date": self.date,
            "time": self.time,
            "submitter": {"name": self.submitter_name, "id": self.submitter_id},
            "recipient": {"name": self.recipient_name, "id": self.recipient_id},
            "items": [item.to_dict(show_phi=show_phi) for item in self.items],
            "items_dropped": self.items_dropped,
        }
