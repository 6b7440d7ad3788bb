"""What a file holds, counted by acktrack and by pyx12 (the independent peer), alike."""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from acktrack.x12 import (
    InterchangeAcknowledgment,
    InterchangeHeader,
    MemberTransaction,
    TransactionHeader,
    read_x12,
)
from acktrack.x12.records import GroupHeader

_SEGMENT_ID = re.compile("[A-Z][A-Z0-9]{1,2}")


@dataclass
class Counts:
    interchanges: int = 0
    groups: int = 0
    sets: Counter[str] = field(default_factory=Counter)
    members: int = 0
    ta1s: int = 0

    def as_expected(self) -> dict[str, Any]:
        """The shape of a manifest entry's ``expect``."""
        return {
            "interchanges": self.interchanges,
            "groups": self.groups,
            "sets": dict(sorted(self.sets.items())),
            "members": self.members,
            "ta1s": self.ta1s,
        }


def acktrack_counts(data: bytes) -> Counts:
    counts = Counts()
    for record in read_x12(io.BytesIO(data)):
        kind = type(record)
        if kind is MemberTransaction:
            counts.members += 1
        elif kind is InterchangeHeader:
            counts.interchanges += 1
        elif kind is GroupHeader:
            counts.groups += 1
        elif isinstance(record, TransactionHeader):
            counts.sets[record.set_id] += 1
        elif kind is InterchangeAcknowledgment:
            counts.ta1s += 1
    return counts


def pyx12_counts(data: bytes) -> Counts | None:
    """pyx12's raw segment reader over ``data``; None when pyx12 cannot read it."""
    import pyx12.errors
    import pyx12.x12file

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    counts = Counts()
    set_id = ""
    try:
        text = data.decode("latin-1").lstrip("\ufeff\xef\xbb\xbf")
        with pyx12.x12file.X12Reader(io.StringIO(text)) as reader:
            for segment in reader:
                tag = segment.get_seg_id()
                if not _SEGMENT_ID.fullmatch(tag):
                    return None  # pyx12 read a segment id it should not have (e.g. "\tGS")
                if tag == "ISA":
                    counts.interchanges += 1
                elif tag == "GS":
                    counts.groups += 1
                elif tag == "ST":
                    set_id = segment.get_value("ST01") or ""
                    counts.sets[set_id] += 1
                elif tag == "SE":
                    set_id = ""
                elif tag == "INS" and set_id == "834":
                    counts.members += 1
                elif tag == "TA1":
                    counts.ta1s += 1
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, ValueError, IndexError, KeyError):
        return None
    return counts
