"""What the X12 readers hold at once, whatever a file holds.

A reader's memory must not follow a hostile file's size (an object can be
``MaxObjectBytes``, 2 GiB by default, and a function has 1,024 MB). So each thing a
reader holds has a bound: one segment, one member (INS loop), each value kept for the
whole file, and how many envelopes, acknowledgment loops and findings are kept for the
whole file. What goes over a bound is skipped or counted, never held, and the file is
refused with a fatal finding (the pipeline quarantines it with that finding as its
reason; no content of the file is in it).

The bounds are generous: X12 segments are short (the longest 834 or 999 segment a
partner sends is a few hundred bytes), so a legitimate file never meets them. Tests
scale them down by replacing ``LIMITS``; the readers read it when they start.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    # One segment. 1 MiB, not 64 KiB: a file with a 500 KB member id is still read (its
    # value clipped, ``value_too_long``), and the tokenizer holds at most about two of its
    # 1 MiB reads.
    segment_bytes: int = 1 << 20
    # One member (an INS loop with its 2100, 2300 and 2700 loops), held until the next INS,
    # in decoded characters (bytes, for ASCII). A real member is a few hundred bytes to a
    # few KB.
    loop_chars: int = 1 << 20
    # Interchanges, groups, transaction sets, TA1s, 999 segments (AK2, IK3, IK4, CTX, ...;
    # not IK5) and findings (not a member's own) kept for the whole file, and segments
    # outside any set (counted only: each costs Python work). A 999 answering 100,000 sets,
    # the largest file the benchmarks read, counts about 100,000. Each costs a few hundred
    # bytes at most, and the reader stops a file that holds more.
    structures: int = 150_000
    # Characters of a value kept for the whole file (envelope, set header and 999 values);
    # a longer one keeps a prefix and a hash of the whole value. X12's longest such value
    # is IK404's 99.
    value_chars: int = 99
    # An 834 set's header (ST to its first INS): the reader reads it segment by segment and
    # the range planner copies it into each cut (and a part order carries it); a real one
    # is a few hundred bytes. Over it, the reader refuses the file and the planner does
    # not cut that set. Also the longest envelope segment the planner copies.
    header_bytes: int = 16 * 1024
    # An 824 (application advice) set: OTI loops kept per set, TED errors kept per OTI loop,
    # and the characters of a TED02 message kept (``text.neutral_text``). What goes over the
    # first two is counted on the record (``items_dropped``, ``errors_dropped``) with a
    # warning, not kept; every segment of the set also counts against ``structures``. An
    # insurer's 824 speaks of a few sets, or of a file's members one OTI loop each.
    advice_items: int = 5_000
    advice_errors: int = 100
    message_chars: int = 200


LIMITS = Limits()


def current() -> Limits:
    """The limits in force (``LIMITS``, read at call time so that tests can scale them)."""
    return LIMITS


def kept_value(value: str, size: int) -> str:
    """``value`` as a reader keeps it for the whole file: a longer one keeps a prefix and a
    hash of the whole value, so two long values stay apart (as ``domain.identifiers.clip``
    does; a value clipped here clips there to the same form at 99 characters)."""
    if len(value) <= size:
        return value
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    return value[: size - 13] + "#" + digest


class Budget:
    """Structures kept for the whole file, against ``Limits.structures``. Shared by the
    envelope reader and the body readers of one stream."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, count: int = 1) -> bool:
        """Count ``count`` more; False once the file holds more than the limit."""
        self.used += count
        return self.used <= self.limit

    @property
    def spent(self) -> bool:
        return self.used > self.limit
