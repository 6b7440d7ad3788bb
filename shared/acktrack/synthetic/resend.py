"""Send some sets of an invented 834 again, corrected, in a new interchange: what an
operations team does after a 999 rejects a family's set."""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from datetime import datetime

from acktrack.synthetic.writer import SegmentWriter, isa_elements
from acktrack.x12.delimiters import DEFAULT_DELIMITERS


def resend_sets(
    data: bytes,
    transaction_controls: Collection[str],
    *,
    interchange_control: int,
    group_control: int,
    sent_at: datetime,
    corrections: Mapping[tuple[str, int, str], str] | None = None,
) -> bytes:
    """The sets of ``data`` whose ST02 is in ``transaction_controls``, in a new interchange
    and group dated ``sent_at``. ``corrections`` maps (segment id, element number, old
    value) to the corrected value, e.g. ``{("INS", 3, "099"): "021"}``. The generator's
    default delimiters are assumed (what ``write_834`` writes)."""
    delimiters = DEFAULT_DELIMITERS
    text = data.decode("utf-8")
    segments = [s.strip() for s in text.split(delimiters.segment) if s.strip()]
    isa = segments[0].split(delimiters.element)
    gs = next(s for s in segments if s.startswith("GS" + delimiters.element)).split(
        delimiters.element
    )
    out = io.BytesIO()
    writer = SegmentWriter(out, delimiters)
    control = str(interchange_control).rjust(9, "0")
    writer.isa(isa_elements(sender_id=isa[6].strip(), receiver_id=isa[8].strip(), control=control,
                            when=sent_at, delimiters=delimiters))  # fmt: skip
    writer.segment("GS", gs[1], gs[2], gs[3], sent_at.strftime("%Y%m%d"), sent_at.strftime("%H%M"),
                   str(group_control), gs[7], gs[8])  # fmt: skip
    wanted = set(transaction_controls)
    keeping, sets = False, 0
    for segment in segments:
        elements = segment.split(delimiters.element)
        if elements[0] == "ST":
            keeping = elements[2] in wanted
            sets += keeping
            writer.set_segments = 0
        if not keeping:
            continue
        for number in range(1, len(elements)):
            fixed = (corrections or {}).get((elements[0], number, elements[number]))
            if fixed is not None:
                elements[number] = fixed
        writer.segment(*elements)
        if elements[0] == "SE":
            keeping = False
    if not sets:
        raise ValueError(f"no set with ST02 in {sorted(wanted)}")
    writer.segment("GE", str(sets), str(group_control))
    writer.segment("IEA", "1", control)
    writer.flush()
    return out.getvalue()
