"""The report's work, cut in batches (the first step of its workflow).

The report's index holds only what is open. Its sets are listed in the report's order
(insurer, sent, ISA13, ST02) without holding them: each is one short line in a temporary
file, sorted in runs and merged (``sorted_lines``). Batches are cut by the work they hold:
at most ``batch_sets`` sets and about ``batch_rows`` member transactions to read; a set
larger than that is read in chunks of its lookup partitions over several batches. Then the
additions that wait for an effectuation past its SLA, in their order, ``batch_rows`` a batch.
A batch names keys only: the batch reads the items themselves, 100 a request.
"""

from __future__ import annotations

import heapq
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from acktrack.domain.ports import ReportSource
from acktrack.domain.status import REJECTIONS
from acktrack.report.people import FIRST_PASS_PEOPLE

MEMBER_CHUNK = 20_000  # segment positions in one lookup partition of a set's members (store)
RUN_LINES = 100_000  # lines sorted in memory at a time (about 20 MB)


@dataclass(frozen=True, slots=True)
class ReportRun:
    """What one daily report is: its moment and the deployment's settings that shape it."""

    as_of: datetime
    sla_hours: float
    window_days: int = 7
    effectuation_days: int = 0
    keep_rows: int = 500  # the most urgent rows the email shows
    first_pass_people: int = FIRST_PASS_PEOPLE
    batch_sets: int = 500  # ReportBatchSets
    batch_rows: int = 5_000  # member transactions one batch reads, about
    sequence_history: int = 20  # SequenceHistory: a run this long, then a number missing: a gap

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.astimezone(UTC).isoformat(), "sla_hours": self.sla_hours,
                "window_days": self.window_days, "effectuation_days": self.effectuation_days,
                "keep_rows": self.keep_rows, "first_pass_people": self.first_pass_people,
                "batch_sets": self.batch_sets, "batch_rows": self.batch_rows,
                "sequence_history": self.sequence_history}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportRun:
        values = dict(data)
        values["as_of"] = datetime.fromisoformat(values["as_of"]).astimezone(UTC)
        return cls(**values)

    @property
    def stamp(self) -> str:
        return self.as_of.strftime("%Y-%m-%dT%H%M%SZ")


@dataclass(slots=True)
class Plan:
    """What the listing found (besides the batches themselves)."""

    sets: int = 0
    rows: int = 0  # member transactions the batches will read
    awaiting: int = 0
    batches: int = 0
    reads: int = 0
    chunked: list[str] = field(default_factory=list)  # sets read over several batches


def sorted_lines(lines: Iterable[str], run_lines: int = RUN_LINES) -> Iterator[str]:
    """``lines`` in order, holding at most ``run_lines`` at a time: sorted runs spill to
    temporary files, merged back as they are read."""
    runs: list[IO[str]] = []
    chunk: list[str] = []
    try:
        for line in lines:
            chunk.append(line)
            if len(chunk) >= run_lines:
                runs.append(_spill(chunk))
                chunk = []
        if not runs:
            yield from sorted(chunk)
            return
        if chunk:
            runs.append(_spill(chunk))
        for line in heapq.merge(*((text.rstrip("\n") for text in run) for run in runs)):
            yield line
    finally:
        for run in runs:
            run.close()


def _spill(chunk: list[str]) -> IO[str]:
    run = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    run.writelines(line + "\n" for line in sorted(chunk))
    run.seek(0)
    return run


def _line(order: Iterable[str], payload: list[Any]) -> str:
    """A sortable line: the order's fields (NUL-separated, so a field that is a prefix of
    another sorts first, as in a tuple), then the payload as JSON."""
    fields = [str(value).replace("\x00", " ").replace("\n", " ") for value in order]
    return "\x00".join([*fields, json.dumps(payload)])


def _payload(line: str) -> list[Any]:
    return list(json.loads(line.rsplit("\x00", 1)[1]))


def _needs_members(status: str, sent_at: str, as_of: datetime, sla_hours: float) -> bool:
    sent = datetime.fromisoformat(sent_at.replace("Z", "+00:00"))
    return status in REJECTIONS or round((as_of - sent).total_seconds() / 3600, 1) > sla_hours


def plan_batches(
    store: ReportSource, run: ReportRun, plan: Plan | None = None
) -> Iterator[dict[str, Any]]:
    """The report's batches, in its order (see the module docstring)."""
    plan = plan if plan is not None else Plan()
    number = 0

    def open_sets() -> Iterator[str]:
        for item in store.open_sets():
            plan.reads += 1
            plan.sets += 1
            order = [item.partner, item.sent_at, item.interchange_control, item.transaction_control]
            needs = _needs_members(item.status, item.sent_at, run.as_of, run.sla_hours)
            last_chunk = int(item.last_position) // MEMBER_CHUNK
            yield _line(order, [item.pk, item.sk, int(item.members) if needs else 0, last_chunk])

    batch: list[list[Any]] = []
    rows = 0
    for line in sorted_lines(open_sets()):
        pk, sk, members, last_chunk = _payload(line)
        plan.rows += members
        pieces = _chunks(members, last_chunk, run.batch_rows)
        if len(pieces) > 1:
            plan.chunked.append(sk)
        for first, last, weight in pieces:
            if batch and (len(batch) >= run.batch_sets or rows + weight > run.batch_rows):
                yield {"index": number, "sets": batch}
                number, batch, rows = number + 1, [], 0
            batch.append([pk, sk, first, last] if len(pieces) > 1 else [pk, sk])
            rows += weight
    if batch:
        yield {"index": number, "sets": batch}
        number += 1
    if run.effectuation_days > 0:
        cutoff = (run.as_of - timedelta(days=run.effectuation_days)).strftime("%Y-%m-%dT%H:%M:%SZ")

        def awaiting() -> Iterator[str]:
            for member in store.awaiting_effectuation(cutoff):
                plan.reads += 1
                plan.awaiting += 1
                control = member.set_sk.rsplit("#", 1)[-1]
                order = [member.partner, member.sent_at, control, f"{int(member.ordinal):09d}"]
                yield _line(order, [member.pk, member.sk])

        waiting: list[list[str]] = []
        for line in sorted_lines(awaiting()):
            waiting.append(_payload(line))
            if len(waiting) >= run.batch_rows:
                yield {"index": number, "awaiting": waiting}
                number, waiting = number + 1, []
        if waiting:
            yield {"index": number, "awaiting": waiting}
            number += 1
    plan.batches = number


def _chunks(members: int, last_chunk: int, batch_rows: int) -> list[tuple[int, int, int]]:
    """(first, last lookup partition, members about) of each piece of one set."""
    if members <= batch_rows or last_chunk == 0:
        return [(0, last_chunk, members)]
    per_chunk = max(1, members // (last_chunk + 1))
    step = max(1, batch_rows // per_chunk)
    return [(first, min(first + step - 1, last_chunk),
             per_chunk * (min(first + step - 1, last_chunk) - first + 1))
            for first in range(0, last_chunk + 1, step)]  # fmt: skip
