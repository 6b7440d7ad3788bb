"""A file too large for one invocation: its parts' results and progress."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import timedelta

from pynamodb.exceptions import PutError, UpdateError

from acktrack.domain.ports import JobProgress
from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure
from acktrack.store.members import iso_now
from acktrack.store.models import (
    JobItem,
    PartItem,
)

JOB_DAYS = 14  # a fan-out job's bookkeeping expires (TTL) after this many days
KEYS_PER_ITEM = 10_000  # keys per compressed chunk (well under 400 KB, however random)


class JobStore(TableStore):
    """Fan-out jobs: a large file's parts, each counted once."""

    def begin_job(self, job: str, parts: int) -> None:
        """Create the job unless it exists (a redelivered event finds it)."""
        item = JobItem(keys.job_pk(job), "JOB", parts=parts, created_at=iso_now(),
                       expires=timedelta(days=JOB_DAYS))  # fmt: skip
        try:
            item.save(condition=JobItem.pk.does_not_exist())
        except PutError as error:
            if not conditional_failure(error):
                raise

    def record_part(self, job: str, index: int, result: bytes) -> JobProgress:
        """Keep a part's result and count the part once. Exactly one delivery of the last
        part to be counted sees done == parts with ``counted`` true."""
        PartItem(keys.job_pk(job), keys.part_sk(index), result=result,
                 expires=timedelta(days=JOB_DAYS)).save()  # fmt: skip
        item = JobItem(keys.job_pk(job), "JOB")
        try:
            item.update(
                actions=[JobItem.done.add(1), JobItem.done_parts.add({index})],
                condition=JobItem.pk.exists() & ~JobItem.done_parts.contains(index),
            )
        except UpdateError as error:
            if not conditional_failure(error):
                raise
            item = JobItem.get(keys.job_pk(job), "JOB", consistent_read=True)
            return JobProgress(False, int(item.done), int(item.parts), bool(item.finished))
        return JobProgress(True, int(item.done), int(item.parts), bool(item.finished))

    def part_results(self, job: str) -> list[bytes]:
        """Every part's result, in part order (read consistently)."""
        found = PartItem.query(
            keys.job_pk(job), PartItem.sk.startswith("PART#"), consistent_read=True
        )
        return [item.result for item in found]

    def put_part_keys(self, job: str, index: int, name: str, values: list[str]) -> None:
        """A part's named keys (subscriber ids, member keys), in compressed chunks."""
        with PartItem.batch_write() as batch:
            for number in range(0, len(values), KEYS_PER_ITEM):
                chunk = "\n".join(values[number : number + KEYS_PER_ITEM]).encode()
                batch.save(PartItem(keys.job_pk(job), f"KEYS#{name}#{index:05d}#{number:09d}",
                                    result=zlib.compress(chunk, 6),
                                    expires=timedelta(days=JOB_DAYS)))  # fmt: skip

    def part_keys(self, job: str, name: str) -> Iterator[str]:
        """Every part's keys of ``name`` (read consistently)."""
        for item in PartItem.query(keys.job_pk(job), PartItem.sk.startswith(f"KEYS#{name}#"),
                                   consistent_read=True):  # fmt: skip
            yield from zlib.decompress(item.result).decode().split("\n")

    def finish_job(self, job: str) -> None:
        JobItem(keys.job_pk(job), "JOB").update(actions=[JobItem.finished.set(True)])
