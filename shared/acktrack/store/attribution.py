"""A 999's segment errors (IK3) attributed to the members whose INS loops hold them.

A set's members are in the lookup index by the segment position their loop starts at
(``keys.member_lookup``: a partition per 20,000 positions). All the errors of one set
are placed with one descending query per partition they fall in (one for any set under
20,000 segments), read from the highest error down until the lowest is placed; the
page size is what the set's density (members over segments) says that span holds, so
one error reads one member, as it always did, and a hundred errors one page. A set of up
to 16 members keeps where each loop starts (``member_starts`` on the set item): no read.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from acktrack.store import keys
from acktrack.store.models import MemberItem

_PAGE_MAX = 500  # members a page asks for; DynamoDB stops a page at 1 MB anyway


def members_at(
    set_id: str,
    members: int,
    last_position: int,
    positions: Iterable[int | None],
    *,
    member_starts: Sequence[int] = (),
) -> dict[int, dict[str, Any] | None]:
    """For each segment position, the member whose loop holds it (None: a header or trailer
    segment, or no member there). Positions below 1 or None are left out. A small set that
    keeps where each of its loops starts (``member_starts``) needs no read at all."""
    wanted = sorted({p for p in positions if p and p >= 1}, reverse=True)
    if member_starts and len(member_starts) == members:
        return {p: _from_starts(sorted(member_starts), last_position, p) for p in wanted}
    found: dict[int, dict[str, Any] | None] = {}
    by_chunk: dict[int, list[int]] = {}
    for position in wanted:
        by_chunk.setdefault(position // keys.MEMBER_CHUNK, []).append(position)
    # A position before the first loop starting in its partition belongs to the last loop
    # of the partition below (one partition back, never further: a loop is far shorter).
    carried: dict[int, list[int]] = {}
    for chunk in sorted(set(by_chunk) | {c - 1 for c in by_chunk if c > 0}, reverse=True):
        native, spilled = by_chunk.get(chunk, []), carried.pop(chunk, [])
        here = sorted(native + spilled, reverse=True)
        if not here:
            continue
        page = _page(here[0] - here[-1], members / max(last_position, 1)) if len(here) > 1 else 1
        loops = _descending(set_id, chunk, here[0], page)
        current = next(loops, None)
        for position in here:
            while current is not None and int(current.first_position) > position:
                current = next(loops, None)
            if current is None:
                if position not in spilled and chunk > 0:
                    carried.setdefault(chunk - 1, []).append(position)
                else:
                    found[position] = None
                continue
            found[position] = _member(current) if position <= current.last_position else None
    return found


def _from_starts(starts: list[int], last_position: int, position: int) -> dict[str, Any] | None:
    """The loop holding ``position``: loops follow each other, each ending where the next
    starts and the last at the set's last member position (the SE after it is no member's)."""
    index = bisect_right(starts, position) - 1
    if index < 0 or position > last_position:
        return None
    last = starts[index + 1] - 1 if index + 1 < len(starts) else last_position
    return {"ordinal": index + 1, "first_position": starts[index], "last_position": last}


def _page(span: int, density: float) -> int:
    """Members a page asks for: those the span between the errors holds, with a margin."""
    return min(_PAGE_MAX, round(span * density * 1.25) + 2)


def _descending(set_id: str, chunk: int, highest: int, page: int) -> Iterator[MemberItem]:
    """The loops of one lookup partition starting at or before ``highest``, highest first,
    ``page`` a request (read lazily: the caller stops when its lowest position is placed)."""
    yield from MemberItem.lookup.query(
        f"MB#{set_id}#{chunk}",
        MemberItem.us <= keys.position_key(highest),
        scan_index_forward=False,
        page_size=page,
    )


def _member(item: MemberItem) -> dict[str, Any]:
    return {
        "ordinal": int(item.ordinal),
        "first_position": int(item.first_position),
        "last_position": int(item.last_position),
    }
