"""Partition keys: what a large file writes is spread, so no key gets hot."""

from __future__ import annotations

from collections import Counter

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
