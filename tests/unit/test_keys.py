"""Partition keys: what a large file writes is spread, so no key gets hot."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from acktrack.domain.index import index_file
from acktrack.domain.tracked import (
    MAX_BUCKETS,
    ObjectRef,
    group_buckets,
    plan_interchange,
    track_member,
)
from acktrack.ingest.parts import job_id
from acktrack.ingest.steps import Plan
from acktrack.store import keys
from acktrack.x12 import MemberTransaction, read_x12

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


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
    buckets=st.integers(min_value=1, max_value=64),
)
def test_set_controls_read_back_from_the_set_keys(
    our: str, partner: str, isa13: str, gs06: str, st02: str, digest: str, buckets: int
) -> None:
    """Whether the set's group is spread over partitions or not."""
    group_key = keys.set_pk(our, partner, gs06, st02, buckets)
    set_key = keys.set_sk(isa13, digest, st02)
    assert keys.set_controls(group_key, set_key) == (isa13, gs06, st02)
    # Its group version's readers read every partition it may be in, and the same one again.
    assert group_key in keys.bucket_pks(our, partner, gs06, buckets)
    assert group_key == keys.set_pk(our, partner, gs06, st02, buckets)
    assert (group_key == keys.group_pk(our, partner, gs06)) == (buckets == 1)


def test_a_group_spreads_only_past_sets_per_partition_and_evenly() -> None:
    assert group_buckets(10_000, 10_000) == 1  # every group up to it: keys as ever
    assert group_buckets(10_001, 10_000) == 2
    assert group_buckets(500_000, 10_000) == 50
    assert group_buckets(5_000_000, 10_000) == MAX_BUCKETS
    assert group_buckets(500_000, 0) == 1  # SetsPerPartition 0: never spread
    spread = Counter(keys.set_pk("US", "PLAN", "1", f"{n:09d}", 50) for n in range(500_000))
    assert len(spread) == 50
    assert max(spread.values()) < 1.1 * 500_000 / 50  # within a tenth of even


def test_records_carry_no_keys_and_the_store_keys_them_as_before() -> None:
    """The tracked records are keyless; the keys the store makes of them are the ones already
    in tables and in flight (pinned from before the keys left the records)."""
    at = datetime(2024, 1, 15, 18, 0, tzinfo=UTC)
    sample = SAMPLES / "834_5members.834"
    with sample.open("rb") as stream:
        index = index_file(stream)
    zone = ZoneInfo("America/New_York")
    plans = [plan_interchange(i, "bucket", "outbound/x.834", at, zone) for i in index.interchanges]
    interchange, tracked = plans[0], plans[0].sets[0]
    with sample.open("rb") as stream:
        first = next(r for r in read_x12(stream) if isinstance(r, MemberTransaction))
    member = track_member(first, tracked, [])

    for record in (interchange, tracked, member):
        assert not {"pk", "sk", "set_pk", "set_sk", "interchange_pk"} & set(dir(record))
    digest = "4b0b8b7e929b5c7eccd1"
    assert keys.of_interchange(interchange) == (
        "IC#FAKESENDER#FAKERECEIVER#000001001",
        f"V#{digest}",
    )
    set_key = ("GS#FAKESENDER#FAKERECEIVER#1", f"SET#000001001#{digest}#0001")
    assert keys.of_set(tracked.version) == set_key
    assert keys.of_interchange(tracked.version) == keys.of_interchange(interchange)
    assert keys.of_set(member.set_version) == set_key
    assert keys.of_member(member) == (
        "FAM#bd96b536a1a043e9d7acce6558a8b28e",
        "M#2024-01-15T17:00:00Z#7131c60ca3653d3f1b7b#0000001",
    )
    ref = ObjectRef("bucket", "outbound/x.834", version_id="v1")
    assert job_id(ref, [Plan(plan) for plan in plans]) == "041f4adcaf8fd4189489e25a"
