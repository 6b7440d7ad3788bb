"""A simulated insurer's 824 Application Advice (005010X186A1): its business verdict on
834 sets its 999 had accepted, one OTI loop per set (or member), with TED errors and the
member's REF*0F / REF*17 where a companion guide asks for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from acktrack.synthetic.writer import SegmentWriter, isa_elements
from acktrack.x12.delimiters import DEFAULT_DELIMITERS, Delimiters

ADVICE_VERSION = "005010X186A1"


@dataclass(frozen=True, slots=True)
class AdviceItemSpec:
    """One OTI loop: the verdict on one 834 set (or one member of it)."""

    verdict: str  # OTI01: TA, TE, TR, IR, ...
    group_control: str  # OTI08 = GS06 of the 834 ("" writes none)
    transaction_control: str  # OTI09 = ST02 of the 834 ("" writes none)
    reference: str  # OTI03 = BGN02 of the 834 (OTI02 TN)
    errors: tuple[tuple[str, str], ...] = ()  # TED01, TED02
    subscriber_id: str | None = None  # REF*0F
    member_id: str | None = None  # REF*17
    set_type: str = "834"  # OTI10


def write_824(
    out: BinaryIO,
    *,
    sender_id: str,
    receiver_id: str,
    interchange_control: int,
    sent_at: datetime,
    items: list[AdviceItemSpec],
    reference: str | None = None,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    line_ending: str = "\n",
    version: str = ADVICE_VERSION,
) -> None:
    """One interchange holding one 824 set, from the insurer (``sender_id``) to the one that
    sent the 834s (``receiver_id``): ISA, GS*AG, ST*824, BGN (BGN02 ``reference``, by
    default the interchange control), N1*41 and N1*40, per item OTI, REF*0F, REF*17 and its
    TEDs, then SE, GE and IEA with their counts. Values are written as given: none may hold
    a delimiter."""
    writer = SegmentWriter(out, delimiters, line_ending)
    control = str(interchange_control).rjust(9, "0")
    day, clock = sent_at.strftime("%Y%m%d"), sent_at.strftime("%H%M")
    writer.isa(isa_elements(sender_id=sender_id, receiver_id=receiver_id, control=control, when=sent_at,
                            delimiters=delimiters))  # fmt: skip
    gs06 = str(interchange_control % 1_000_000_000 or 1)
    writer.segment("GS", "AG", sender_id, receiver_id, day, clock, gs06, "X", version)
    writer.set_segments = 0
    st02 = "0001"
    writer.segment("ST", "824", st02, version)
    writer.segment("BGN", "00", reference or control, day, clock)
    writer.segment("N1", "41", "INSURER", "46", sender_id)
    writer.segment("N1", "40", "SUBMITTER", "46", receiver_id)
    for item in items:
        writer.segment(
            "OTI", item.verdict, "TN", item.reference, receiver_id, sender_id, day, clock,
            item.group_control, item.transaction_control, item.set_type,
        )  # fmt: skip
        if item.subscriber_id is not None:
            writer.segment("REF", "0F", item.subscriber_id)
        if item.member_id is not None:
            writer.segment("REF", "17", item.member_id)
        for code, message in item.errors:
            writer.segment("TED", code, message)
    writer.segment("SE", str(writer.set_segments + 1), st02)
    writer.segment("GE", "1", gs06)
    writer.segment("IEA", "1", control)
    writer.flush()
