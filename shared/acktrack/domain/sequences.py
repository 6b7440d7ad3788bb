"""Control-number sequences and arrival rhythms: what was never copied to acktrack, and
which insurer went quiet.

Per insurer, our outbound ISA13 and GS06 numbers and the insurer's own ISA13 on what it
sends us are kept as they are seen (``store``). A number missing from a run that had been
consecutive for at least ``SequenceHistory`` numbers is a **gap**: a file generated and
never copied to acktrack, or an acknowledgment lost in transit. A number that comes late
closes its gap (it is then in the run). A jump of more than ``MAX_JUMP`` is a restart of
the numbering, not a gap.

An insurer's **usual interval** between inbound files is the 95th percentile of the
intervals between its files of the last ``RHYTHM_DAYS`` days (each at its envelope's time,
ISA09/ISA10, or its arrival when that is earlier or unreadable: a file replayed or delayed
in transit keeps its rhythm); intervals under a minute are one delivery, not a rhythm; it is **silent** when
nothing has come for longer than that while 834s to it still await an answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

OUTBOUND, INBOUND = "outbound", "inbound"
INTERCHANGE, GROUP = "interchange", "group"
MAX_JUMP = 1_000  # a larger step is the sender starting its numbering again
LISTED_MISSING = 50  # numbers named in one gap; the rest are counted
RHYTHM_DAYS = 30
MIN_INTERVALS = 5  # fewer intervals than this teach no rhythm


@dataclass(frozen=True, slots=True)
class Gap:
    partner: str
    direction: str  # outbound | inbound
    level: str  # interchange | group
    missing: list[int]
    more: int  # missing numbers beyond those listed
    since: str  # when the last number before the gap was seen (ISO 8601)

    def to_dict(self) -> dict[str, object]:
        return {"partner": self.partner, "direction": self.direction, "level": self.level,
                "missing": self.missing, "more_missing": self.more, "since": self.since}  # fmt: skip


def gaps(
    partner: str, direction: str, level: str, seen: Iterable[tuple[str, str]], history: int
) -> list[Gap]:
    """The gaps in ``seen`` ((control number, when seen) pairs, any order; numbers that are
    not numeric are ignored) after runs of at least ``history`` consecutive numbers."""
    numbers: dict[int, str] = {}
    for control, at in seen:
        if control.isascii() and control.isdigit():
            number = int(control)
            numbers[number] = min(at, numbers.get(number, at))
    found: list[Gap] = []
    run, previous = 0, None
    for number in sorted(numbers):
        if previous is not None and number == previous + 1:
            run += 1
        elif previous is not None and number - previous <= MAX_JUMP and run >= history:
            missing = range(previous + 1, number)
            found.append(Gap(partner, direction, level, list(missing[:LISTED_MISSING]),
                             max(0, len(missing) - LISTED_MISSING), numbers[previous]))  # fmt: skip
            run = 1
        else:
            run = 1
        previous = number
    return found


def usual_interval(arrivals: Iterable[str], as_of: datetime) -> timedelta | None:
    """The 95th percentile of the intervals between arrivals of the last ``RHYTHM_DAYS``
    days (None: too few to learn from)."""
    start = as_of - timedelta(days=RHYTHM_DAYS)
    times = sorted({moment for text in arrivals if start <= (moment := _at(text)) <= as_of})
    intervals = [(later - earlier).total_seconds() for earlier, later in pairwise(times)]
    intervals = [seconds for seconds in intervals if seconds >= 60]
    if len(intervals) < MIN_INTERVALS:
        return None
    return timedelta(seconds=_percentile(sorted(intervals), 0.95))


def _percentile(ordered: Sequence[float], share: float) -> float:
    rank = max(0, math.ceil(share * len(ordered)) - 1)  # nearest rank
    return ordered[rank]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
