"""Byte ranges cut on members read exactly what one sequential read does."""

from __future__ import annotations

import io
import json
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acktrack.x12 import Finding, MemberTransaction, TransactionEnd
from acktrack.x12.parallel import count_members_parallel, map_ranges, read_range
from acktrack.x12.ranges import ByteRange, ResumePoint, plan_parts, plan_ranges
from tests.support import generate, of_type, records


def by_range(data: bytes, parts: int) -> tuple[list[object], int]:
    ranges = plan_ranges(io.BytesIO(data), len(data), parts)
    found: list[object] = []
    for byte_range in ranges:
        found += list(read_range(io.BytesIO(data), byte_range))
    return found, len(ranges)


def summary(found: list[object]) -> tuple[object, ...]:
    members = [m.to_dict(show_phi=True) for m in of_type(found, MemberTransaction)]
    ends = [(e.header.control, e.segments, e.members) for e in of_type(found, TransactionEnd)]
    problems = sorted((f.scheme, f.code, f.segment_position or 0) for f in of_type(found, Finding))
    return members, ends, problems


@pytest.mark.parametrize("parts", [2, 3, 5])
def test_one_big_set_cut_in_parts(parts: int) -> None:
    data, _ = generate(members=400, seed=3)
    found, count = by_range(data, parts)
    assert count == parts
    assert summary(found) == summary(records(data))


@given(
    members=st.integers(2, 120),
    sets=st.integers(1, 4),
    groups=st.integers(1, 2),
    parts=st.integers(2, 6),
    line_ending=st.sampled_from(["", "\n", "\r\n"]),
    errors=st.sampled_from([[], ["bad_ins03:2"], ["bad_se_count"], ["bad_hd03:7", "bad_ge_count"]]),
)
def test_any_cut_reads_the_same_as_one_pass(
    members: int, sets: int, groups: int, parts: int, line_ending: str, errors: list[str]
) -> None:
    data, _ = generate(
        members=members,
        sets_per_group=sets,
        groups=groups,
        seed=members,
        line_ending=line_ending,
        errors=errors,
    )
    found, _ = by_range(data, parts)
    sequential = summary(records(data))
    ranged = summary(found)
    assert ranged[0] == sequential[0]  # every member, every field, ordinal and position
    assert ranged[1] == sequential[1]  # every set closes once, with its full counts
    # Group and interchange counts are checked by the range that holds the trailer, which
    # sees only its own groups; member and set findings must all be there.
    member_level = [p for p in sequential[2] if p[0] in ("IK3", "IK4", "IK5")]
    assert [p for p in ranged[2] if p[0] in ("IK3", "IK4", "IK5")] == member_level


def test_files_that_cannot_be_cut_are_one_range() -> None:
    data, _ = generate(members=1, seed=1)
    assert len(plan_ranges(io.BytesIO(data), len(data), 4)) == 1
    assert len(plan_ranges(io.BytesIO(b"not x12"), 7, 4)) == 1
    newline, _ = generate(
        members=50,
        seed=1,
        delimiters=__import__("acktrack.x12").x12.Delimiters("*", "^", ":", "\n"),
        line_ending="",
    )
    assert len(plan_ranges(io.BytesIO(newline), len(newline), 2)) == 1


def test_parallel_processes_count_every_member(tmp_path: Path) -> None:
    data, generated = generate(members=3000, sets_per_group=2, seed=9)
    path = tmp_path / "big.834"
    path.write_bytes(data)
    assert count_members_parallel(path, workers=2) == generated.members == 3000
    assert sum(map_ranges(path, _members_seen, workers=3)) == 3000


def _members_seen(found: object) -> int:
    return sum(1 for record in found if isinstance(record, MemberTransaction))  # type: ignore[attr-defined]


@given(
    members=st.integers(2, 150),
    sets=st.integers(1, 3),
    part_bytes=st.integers(300, 6000),
    line_ending=st.sampled_from(["", "\r\n"]),
)
def test_parts_start_on_subscribers_and_read_like_one_pass(
    members: int, sets: int, part_bytes: int, line_ending: str
) -> None:
    data, _ = generate(members=members, sets_per_group=sets, seed=members, line_ending=line_ending)
    parts = plan_parts(io.BytesIO(data), len(data), part_bytes)
    assert parts[0].start == 0 and parts[-1].end is None
    for before, after in pairwise(parts):
        assert before.end == after.start  # no gap, no overlap
        assert data[after.start :].startswith(b"INS*Y*")  # a family is never split
    found: list[object] = []
    for part in parts:
        # Each part travels as JSON to another invocation.
        resume = part.resume and ResumePoint.from_dict(
            json.loads(json.dumps(part.resume.to_dict()))
        )
        found += list(read_range(io.BytesIO(data), ByteRange(part.start, part.end, resume)))
    assert summary(found)[:2] == summary(records(data))[:2]


def test_parts_follow_the_part_size() -> None:
    data, _ = generate(members=600, seed=4)
    parts = plan_parts(io.BytesIO(data), len(data), len(data) // 6)
    assert 5 <= len(parts) <= 7
    assert plan_parts(io.BytesIO(data), len(data), len(data) * 2) == [ByteRange(0, None, None)]


def _parse_json(path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int) -> dict[str, object]:
    from acktrack.x12 import describe as describe_module

    monkeypatch.setattr(describe_module, "PARALLEL_BYTES", threshold)
    out = io.StringIO()
    with path.open("rb") as stream:
        describe_module.describe(stream, out, name=path.name, as_json=True, path=path)
    return dict(json.loads(out.getvalue()))


@pytest.mark.parametrize(
    "shape", ["clean", "bad_ins03", "several_sets", "two_interchanges", "spaced", "truncate"]
)
def test_parse_json_on_two_processes_equals_one(
    shape: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec: dict[str, object] = {"members": 300, "seed": 11}
    if shape in ("bad_ins03", "truncate"):
        spec["errors"] = [shape]
    if shape == "several_sets":
        spec["sets_per_group"] = 3
    data, _ = generate(**spec)
    if shape == "two_interchanges":
        data += data.replace(b"*000001001*", b"*000001002*").replace(b"000001001~", b"000001002~")
    if shape == "spaced":
        data = data.replace(b"~", b"~ \r\n  ")
    path = tmp_path / "file.834"
    path.write_bytes(data)
    one = _parse_json(path, monkeypatch, threshold=len(data) + 1)
    two = _parse_json(path, monkeypatch, threshold=0)
    assert two == one
    assert one["summary"]["members"] >= 299  # type: ignore[index]


@pytest.mark.parametrize("layout", [b"~ \n", b"~\t\r\n", b"~\n    ", b"~" + b" " * 40 + b"\r\n"])
def test_ranges_cut_files_laid_out_with_whitespace(layout: bytes) -> None:
    data, _ = generate(members=300, seed=9)
    spaced = data.replace(b"~\n", b"~").replace(b"~", layout)
    found, count = by_range(spaced, 3)
    assert count == 3  # whitespace between segments does not stop the cuts
    assert summary(found) == summary(records(spaced))
    assert len(of_type(found, MemberTransaction)) == 300


@pytest.mark.parametrize("layout", [b"", b"\r\n"], ids=["one-line", "line-breaks"])
def test_member_targets_cut_parts_of_about_that_many_members_on_subscribers(layout: bytes) -> None:
    """3,000 members in one set, targets every 1,000 members: three parts of about 1,000
    (interpolated within a 1 MiB read), each starting on a subscriber, read together as one
    sequential read; a member count of 0 asks for no target."""
    from acktrack.x12.ranges import member_targets

    data, _ = generate(members=3000, seed=37)
    if layout:
        data = data.replace(b"~\n", b"~").replace(b"~", b"~" + layout)
    targets = member_targets(io.BytesIO(data), 1000)
    assert member_targets(io.BytesIO(data), 0) == []
    ranges = plan_parts(io.BytesIO(data), len(data), 0, more_targets=targets)
    assert len(ranges) == 3, [(r.start, r.end) for r in ranges]
    found: list[object] = []
    sizes = []
    for byte_range in ranges:
        part = list(read_range(io.BytesIO(data), byte_range))
        sizes.append(len(of_type(part, MemberTransaction)))
        first = next(m for m in of_type(part, MemberTransaction))
        assert first.subscriber_indicator == "Y"
        found += part
    assert all(800 <= size <= 1200 for size in sizes), sizes
    assert summary(found) == summary(records(data))


@pytest.mark.parametrize("chunk", [777, 1000, 4096])
@pytest.mark.parametrize("layout", [b"", b"\n"], ids=["one-line", "line-breaks"])
def test_member_targets_count_each_member_once_whatever_the_reads(
    chunk: int, layout: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A target per member: exactly one per INS, however the reads cut the needles (a
    needle across two reads was once counted in neither)."""
    from acktrack.x12 import ranges

    monkeypatch.setattr(ranges, "_CHUNK", chunk)
    data, _ = generate(members=500, seed=38)
    data = data.replace(b"~\n", b"~").replace(b"~", b"~" + layout)
    targets = ranges.member_targets(io.BytesIO(data), 1)
    assert len(targets) == 500
    assert targets == sorted(targets) and targets[0] > 0 and targets[-1] <= len(data)
