"""Write X12 segments with any delimiters: the fixed-width ISA and counted trailers."""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

from acktrack.x12.delimiters import DEFAULT_DELIMITERS, Delimiters


def isa_elements(
    *,
    sender_id: str,
    receiver_id: str,
    control: str,
    when: datetime,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    acknowledgment_requested: bool = False,
    usage: str = "P",
    sender_qualifier: str = "ZZ",
    receiver_qualifier: str = "ZZ",
) -> list[str]:
    """ISA01..ISA15 padded to their fixed widths (ISA16 is the component separator)."""
    return [
        "00",
        " " * 10,
        "00",
        " " * 10,
        sender_qualifier,
        sender_id.ljust(15)[:15],
        receiver_qualifier,
        receiver_id.ljust(15)[:15],
        when.strftime("%y%m%d"),
        when.strftime("%H%M"),
        delimiters.repetition or "U",
        "00501",
        control.rjust(9, "0")[:9],
        "1" if acknowledgment_requested else "0",
        usage,
    ]


class SegmentWriter:
    """Writes segments to a binary stream, counting them for SE01."""

    def __init__(
        self,
        out: BinaryIO,
        delimiters: Delimiters = DEFAULT_DELIMITERS,
        line_ending: str = "\n",
    ) -> None:
        self.out = out
        self.delimiters = delimiters
        self.line_ending = line_ending
        self.set_segments = 0  # segments since the last ST, inclusive
        self._pending: list[str] = []
        self._pending_size = 0

    def segment(self, *elements: str) -> None:
        # Trailing empty elements are dropped, as X12 requires.
        values = list(elements)
        while len(values) > 1 and values[-1] == "":
            values.pop()
        self.raw(self.delimiters.element.join(values))
        self.set_segments += 1

    def isa(self, elements: list[str]) -> None:
        text = self.delimiters.element.join(["ISA", *elements, self.delimiters.component])
        self.raw(text)

    def raw(self, text: str) -> None:
        """Write one segment's text exactly as given, plus terminator and line ending."""
        piece = text + self.delimiters.segment + self.line_ending
        self._pending.append(piece)
        self._pending_size += len(piece)
        if self._pending_size > 1 << 16:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.out.write("".join(self._pending).encode("utf-8"))
            self._pending = []
            self._pending_size = 0
