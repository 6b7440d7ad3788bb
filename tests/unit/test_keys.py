"""Partition keys: what a large file writes is spread, so no key gets hot."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from acktrack.store import keys


def test_additions_of_one_large_set_spread_over_every_effectuation_shard() -> None:
    set_id = keys.set_id("US", "PLAN", "1", "000001001", "ab" * 16, "0001")
    shards = Counter(keys.effect_shard(set_id, ordinal) for ordinal in range(1, 100_001))
    assert len(shards) == keys.EFFECT_SHARDS
    assert max(shards.values()) - min(shards.values()) <= 1  # within one of even


def test_family_partitions_hash_the_subscriber_id() -> None:
    first = keys.family_pk("US", "PLAN", "100000001")
    assert first == keys.family_pk("US", "PLAN", "100000001")
    assert first != keys.family_pk("US", "PLAN", "100000002")
    assert "100000001" not in first  # an identifier never sits in a key


@given(
    our=st.text(min_size=1, max_size=15),
    partner=st.text(min_size=1, max_size=15),
    isa13=st.from_regex(r"[0-9]{9}", fullmatch=True),
    gs06=st.from_regex(r"[0-9]{1,9}", fullmatch=True),
    st02=st.text(min_size=4, max_size=9),
    digest=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)
def test_set_controls_read_back_from_the_set_keys(
    our: str, partner: str, isa13: str, gs06: str, st02: str, digest: str
) -> None:
    group_key, set_key = keys.group_pk(our, partner, gs06), keys.set_sk(isa13, digest, st02)
    assert keys.set_controls(group_key, set_key) == (isa13, gs06, st02)
