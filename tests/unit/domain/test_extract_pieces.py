"""A large extract split in pieces (pure parts): a member's row round trip, the streamed read
that yields as it goes yet refuses at the end, the piece a family goes to, and the count of
pieces from the file's first bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acktrack.domain.hashing import Keyring
from acktrack.domain.population import (
    ExtractRefused,
    extract_members,
    from_piece_row,
    piece_row,
    read_extract,
)
from acktrack.ingest.extract_parts import (
    MAX_PIECES,
    family_hash,
    piece_of,
    pieces_for,
    pieces_per_spool,
)

NEW = Keyring.of(b"n" * 32)
ROTATING = Keyring.of(b"n" * 32, b"o" * 32)  # a rotation under way: two versions' hashes
FULL = ("subscriber_id,member_id,insurer_member_id,insurer_policy_id,relationship,"
        "subscriber_indicator,plan_id,benefit_begin,benefit_end,total_premium,aptc,last_name,"
        "first_name,birth_date,gender,ssn")  # fmt: skip
SHORT = "subscriber_id,member_id,relationship,subscriber_indicator,plan_id,benefit_begin"


def _full(number: int) -> str:
    return (f"S{number},E{number},INS{number},POL{number},18,Y,12345VA0010001-01,2024-02-01,"
            f",450,300,DOE{number},JANE,1980-01-01,F,000-00-{number:04d}")  # fmt: skip


@given(st.lists(st.integers(min_value=1, max_value=9999), min_size=1, max_size=20),
       st.booleans())  # fmt: skip
def test_a_member_read_back_from_its_piece_is_the_member_written(
    numbers: list[int], short: bool
) -> None:
    lines = (
        [SHORT, *(f"S{n},,18,Y,PLAN{n},20240201" for n in numbers)]
        if short
        else [FULL, *(_full(n) for n in numbers)]
    )
    for member in read_extract(lines, ROTATING):
        again = from_piece_row(json.loads(json.dumps(piece_row(member))))
        assert again == member
        assert (again.hashes, again.absent, again.line) == (
            member.hashes,
            member.absent,
            member.line,
        )
        if short:
            assert again.absent and again.name is None
        else:
            assert "JANE" not in json.dumps(piece_row(member))  # only keyed hashes


def test_a_row_that_is_not_a_member_row_is_refused() -> None:
    with pytest.raises(ValueError, match="not a member row"):
        from_piece_row(["S1", "E1", {}, []])


def test_the_streamed_read_yields_good_members_and_refuses_the_file_only_at_its_end() -> None:
    lines = [FULL, _full(1), _full(2).replace("2024-02-01", "2024-13-45"), _full(3)]
    read = extract_members(lines, NEW)
    seen = []
    with pytest.raises(ExtractRefused) as refused:
        for member in read:
            seen.append(member.subscriber_id)
    assert seen == ["S1", "S3"]  # the caller had them, but is told the file is refused
    assert [line for line, _ in refused.value.errors] == [3]
    with pytest.raises(ExtractRefused, match="no member after the header"):
        list(extract_members([FULL, ""], NEW))


def test_a_family_goes_to_one_piece_in_every_run_and_families_spread() -> None:
    hashed = family_hash("S1")
    assert {family_hash("S1") for _ in range(3)} == {hashed}
    assert piece_of(hashed, 4, 3) == piece_of(family_hash("S1"), 4, 3) < 12
    spread = [piece_of(family_hash(f"{300000000 + n}"), 4, 4) for n in range(16_000)]
    counts = [spread.count(n) for n in range(16)]
    assert min(counts) > 850 and max(counts) < 1150  # within 15% of 1,000 each


def test_the_pieces_are_counted_from_the_members_read_not_from_the_estimate() -> None:
    assert pieces_per_spool(45, 8, 6) == 1  # the estimate was right: 8 pieces
    assert pieces_per_spool(1_000_000, 2, 5000) == 100  # first lines misled: still 5,000 each
    assert pieces_per_spool(10**9, 32, 1) * 32 <= MAX_PIECES


def test_the_count_of_pieces_follows_the_lines_read_first() -> None:
    body = "\n".join([FULL, *(_full(n) for n in range(1, 1001))]).encode() + b"\n"
    whole = pieces_for(body, len(body), 100)
    assert whole == 10  # the whole file was read: its lines counted
    head = body[:20_000]  # about a fifth: estimated from the average line
    assert 9 <= pieces_for(head, len(body), 100) <= 11
    assert pieces_for(body, len(body), 5000) == 1  # held in one go
    assert pieces_for(body, len(body), 0) == 0  # PartMembers 0: never split
    assert pieces_for(FULL.encode(), 10**9, 100) == 0  # a first line with no end: refused whole
    assert pieces_for(body[:20_000], 10**12, 1) == MAX_PIECES


def test_past_the_split_limit_the_reason_says_the_extract_is_split_and_what_to_send() -> None:
    from acktrack.domain.population import MAX_ROWS, too_many_rows
    from acktrack.ingest.extract_parts import MAX_SPLIT_ROWS

    split, whole = too_many_rows(MAX_SPLIT_ROWS), too_many_rows(MAX_ROWS)
    assert "4,000,000" in split and "split in parts" in split and "audit 834" in split
    assert "not split (PartMembers 0)" in whole and "set PartMembers" in whole
