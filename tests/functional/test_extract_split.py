"""A large reconciliation extract split in pieces (``ingest.extract_parts``), on in-memory
fakes of its ports: every member in exactly one piece, a family in one piece, pieces of
about ``part_members`` members however the first lines misled the estimate, and the same
pieces whether a spool is cut in one read or read once per piece."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from acktrack.domain.hashing import Keyring
from acktrack.domain.ports import PipelineConfig
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest import extract_parts
from acktrack.ingest.extract_parts import piece_members, split_extract
from acktrack.ingest.reconciliation import PopulationMeta

HEADER = "subscriber_id,member_id,relationship,subscriber_indicator,plan_id,benefit_begin,last_name"
META = PopulationMeta("ACKTRACKEXCH", "HEALTHPLAN01", "20240301", "extract")


def _extract(families: int, long_first: int = 0) -> bytes:
    """Families of a subscriber and a child; the first ``long_first`` rows have a very long
    last name (a head that makes the lines look few)."""
    lines = [HEADER]
    for n in range(1, families + 1):
        name = "X" * 3000 if n <= long_first else "DOE"
        lines.append(f"S{n},E{n}A,18,Y,PLAN,20240101,{name}")
        lines.append(f"S{n},E{n}B,19,N,PLAN,20240101,{name}")
    return ("\n".join(lines) + "\n").encode()


class Source:
    def __init__(self, data: bytes) -> None:
        self.data = data

    @contextlib.contextmanager
    def open(self, ref: Any, start: int = 0, end: int | None = None) -> Iterator[io.BytesIO]:
        yield io.BytesIO(self.data[start:end])


class Pieces:
    def __init__(self) -> None:
        self.written: dict[int, bytes] = {}

    def put_piece(self, job: str, index: int, body: bytes) -> None:
        assert self.written.setdefault(index, body) == body  # written once, the same bytes

    def read_piece(self, job: str, index: int) -> bytes:
        return self.written[index]


class Jobs:
    def __init__(self) -> None:
        self.begun: list[tuple[str, int]] = []
        self.started: list[tuple[str, str, int]] = []

    def begin_job(self, job: str, parts: int, source: Any, plan: bytes | None = None) -> None:
        self.begun.append((job, parts))

    def start(self, job: str, kind: str, orders: list[str]) -> None:
        self.started.append((job, kind, len(orders)))


def _split(data: bytes, per_part: int, estimate: int) -> tuple[Pieces, Jobs, Any]:
    ref = ObjectRef("inbound", "inbound/HEALTHPLAN01/pop-2024-03-01.csv", len(data), "v1",
                    datetime(2024, 3, 1, 7, tzinfo=UTC))  # fmt: skip
    config = PipelineConfig(keyring=Keyring.of(b"k" * 32), part_members=per_part)
    pieces, jobs = Pieces(), Jobs()
    outcome = split_extract(ref, Source(data), jobs, config, META, estimate, pieces, jobs, [])  # type: ignore[arg-type]
    return pieces, jobs, outcome


def _families(pieces: Pieces) -> dict[int, set[str]]:
    return {n: {m.subscriber_id for m in piece_members(body)} for n, body in pieces.written.items()}


def test_every_member_is_in_one_piece_with_its_family_and_pieces_hold_about_part_members() -> None:
    data = _extract(600)
    pieces, jobs, outcome = _split(data, per_part=100, estimate=12)
    assert outcome.population == 1200 and outcome.parts == len(pieces.written) == 12
    assert jobs.begun == [(outcome.job, 12)] and jobs.started == [(outcome.job, "population", 12)]
    members = [m for body in pieces.written.values() for m in piece_members(body)]
    assert sorted(m.member_id or "" for m in members) == sorted(
        f"E{n}{x}" for n in range(1, 601) for x in "AB"
    )
    families = _families(pieces)
    seen = [s for found in families.values() for s in found]
    assert len(seen) == len(set(seen)) == 600  # no family in two pieces
    assert max(len(piece_members(b)) for b in pieces.written.values()) < 2 * 100


def test_a_head_that_misleads_the_estimate_still_gives_pieces_of_about_part_members() -> None:
    data = _extract(1500, long_first=80)  # the first lines are long: the estimate is ~2
    head = data[: extract_parts.HEAD_BYTES]
    estimate = extract_parts.pieces_for(head, len(data), 100)
    assert estimate <= 4
    pieces, _, outcome = _split(data, per_part=100, estimate=estimate)
    sizes = [len(piece_members(body)) for body in pieces.written.values()]
    assert outcome.population == 3000 and len(sizes) >= 30
    assert max(sizes) < 2 * 100  # not 3,000 / 2


def test_a_spool_read_once_per_piece_gives_the_same_pieces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _extract(400)
    held, _, _ = _split(data, per_part=50, estimate=4)
    monkeypatch.setattr(extract_parts, "HELD_ROWS", 10)  # every spool read once per piece
    passes, _, _ = _split(data, per_part=50, estimate=4)
    assert passes.written == held.written
    assert all(json.loads(line) for b in held.written.values()
               for line in gzip.decompress(b).splitlines())  # fmt: skip
