"""In-memory fakes of the small ports the ingest use cases share (``domain.ports``): the
files (``ObjectSource``), what became of each (``FileLog``), the insurers (``Partners``), a
family judge over empty families that records which it read (``FamilyJudge``), a
large file's jobs (``PartJobs``) and a file workflow that only keeps the orders it was
given (``PartWorkflow``: the test runs them, in the order it chooses)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from acktrack.domain.judgment import FamilyRead
from acktrack.domain.ports import JobRecord, Outcome
from acktrack.domain.tracked import ObjectRef


class Files:
    """``ObjectSource`` over bytes in memory; a quarantined file keeps its reason."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.quarantined: dict[str, str] = {}

    def open(self, ref: ObjectRef, start: int = 0, end: int | None = None) -> Any:
        return contextlib.nullcontext(io.BytesIO(self.data[start:end]))

    def quarantine(self, ref: ObjectRef, reason: str) -> str:
        self.quarantined[ref.key] = reason
        return f"quarantine/{ref.key}"


class Ledger:
    """``FileLog``, ``Partners`` and a recording ``FamilyJudge``."""

    writer_threads = 1

    def __init__(self, partners: Sequence[tuple[str, str]] = ()) -> None:
        self.outcomes: list[tuple[str, Outcome]] = []
        self.judged: list[tuple[str, str, str]] = []
        self.known = [SimpleNamespace(our_id=our, partner=partner) for our, partner in partners]

    def record_object(self, ref: ObjectRef, outcome: Outcome) -> None:
        self.outcomes.append((ref.key, outcome))

    def notice(self, kind: str, detail: str, source_keys: list[str], *identity: str,
               at: datetime | None = None) -> None:  # fmt: skip
        pass

    def partners(self) -> Sequence[Any]:
        return list(self.known)

    def register_partner(self, our: str, partner: str, payer_name: str) -> None:
        pass

    # ``FamilyJudge`` over families with nothing in them: each read is recorded.
    def family(self, our: str, partner: str, subscriber_id: str) -> Any:
        self.judged.append((our, partner, subscriber_id))
        return SimpleNamespace(members=[], records=[])

    def family_read(self, family: Any) -> FamilyRead:
        return FamilyRead((), (), {}, frozenset())

    def set_answer(self, key: tuple[str, str]) -> Any:
        return None

    def settle_records(self, family: Any) -> None:
        pass

    def write_watches(self, key: Any, family: Any, wanted: frozenset[tuple[str, str]]) -> bool:
        return False

    def write_findings(self, key: Any, added: Sequence[Any], dropped: Sequence[str]) -> None:
        raise AssertionError("an empty family has no finding")

    def write_moves(self, families: Sequence[Any], *, packed: bool = True) -> None:
        raise AssertionError("an empty family has no move")


class Jobs:
    """``PartJobs``: each part's first result kept."""

    def __init__(self) -> None:
        self.jobs: dict[str, JobRecord] = {}
        self.results: dict[str, dict[int, bytes]] = {}
        self.finished: list[str] = []

    def begin_job(self, job: str, parts: int, source: ObjectRef, plan: bytes | None = None) -> None:
        self.jobs.setdefault(job, JobRecord(source, plan))

    def job_record(self, job: str) -> JobRecord | None:
        return self.jobs.get(job)

    def record_part(self, job: str, index: int, result: bytes) -> None:
        self.results.setdefault(job, {}).setdefault(index, result)

    def part_results(self, job: str) -> list[bytes]:
        return [result for _, result in sorted(self.results.get(job, {}).items())]

    def finish_job(self, job: str) -> None:
        self.finished.append(job)

    def put_part_keys(self, job: str, index: int, name: str, values: list[str]) -> None:
        raise AssertionError("not used here")

    def part_keys(self, job: str, name: str) -> Iterator[str]:
        raise AssertionError("not used here")


class Workflow:
    """``PartWorkflow``: keeps the orders it is started with (the test runs them)."""

    def __init__(self) -> None:
        self.started: dict[str, tuple[str, list[str]]] = {}

    def start(self, job: str, kind: str, orders: list[str]) -> None:
        self.started.setdefault(job, (kind, orders))
