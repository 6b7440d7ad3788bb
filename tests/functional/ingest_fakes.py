"""In-memory fakes of the small ports the ingest use cases share (``domain.ports``): the
files (``ObjectSource``), what became of each (``FileLog``), the insurers (``Partners``), a
family judge that records which families it was asked to reconcile (``FamilyJudge``), a
large file's jobs (``PartJobs``) and a file workflow that only keeps the orders it was
given (``PartWorkflow``: the test runs them, in the order it chooses)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

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

    def judge_family(self, our: str, partner: str, subscriber_id: str, *,
                     sla_hours: float = 48.0) -> Any:  # fmt: skip
        self.judged.append((our, partner, subscriber_id))
        unchanged = SimpleNamespace(new_findings={}, effectuated=0, uneffectuated=0)
        return SimpleNamespace(current=True, wrote=False, change=unchanged)

    def write_judged(self, judged: list[Any]) -> None:
        pass

    def judge_again(
        self, judged: Any, family: Any, *, sla_hours: float = 48.0
    ) -> tuple[bool, bool]:
        return False, False

    def same_evidence(self, one: Any, other: Any) -> bool:
        return True

    def family(self, our: str, partner: str, subscriber_id: str) -> Any:
        raise AssertionError("a family judged current is not read again")


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
