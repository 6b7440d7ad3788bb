"""A file too large for one invocation: its parts' results and progress."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PutError

from acktrack.domain.ports import JobRecord
from acktrack.domain.tracked import ObjectRef
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
    """Fan-out jobs: a large file's parts and their first results."""

    def begin_job(self, job: str, parts: int, source: ObjectRef, plan: bytes | None = None) -> None:
        """Create the job unless it exists (a redelivered event finds it), with the object it
        cuts and the file's plan: the part orders name the job, never the object's key."""
        item = JobItem(keys.job_pk(job), "JOB", parts=parts, created_at=iso_now(),
                       expires=timedelta(days=JOB_DAYS), source_bucket=source.bucket,
                       source_key=source.key, source_version=source.version_id,
                       source_size=source.size, received_at=source.received_at.isoformat(),
                       plan=plan)  # fmt: skip
        try:
            item.save(condition=JobItem.pk.does_not_exist())
        except PutError as error:
            if not conditional_failure(error):
                raise
            # Begun by an earlier delivery (perhaps by a version that did not keep the object).
            JobItem(keys.job_pk(job), "JOB").update(actions=[
                JobItem.source_bucket.set(source.bucket), JobItem.source_key.set(source.key),
                JobItem.received_at.set(source.received_at.isoformat()),
                *([JobItem.source_version.set(source.version_id)] if source.version_id else []),
                *([JobItem.source_size.set(source.size)] if source.size is not None else []),
                # The first plan stands: a running workflow's orders were cut from it.
                *([JobItem.plan.set(JobItem.plan | plan)] if plan is not None else []),
            ])  # fmt: skip

    def job_record(self, job: str) -> JobRecord | None:
        """The object a job cuts and the file's plan, in one read (consistent: its orders may
        come at once); None when there is no such job (expired, never begun)."""
        try:
            item = JobItem.get(keys.job_pk(job), "JOB", consistent_read=True)
        except DoesNotExist:
            return None
        if item.source_bucket is None or item.source_key is None or item.received_at is None:
            return JobRecord(None, item.plan)
        size = None if item.source_size is None else int(item.source_size)
        source = ObjectRef(bucket=item.source_bucket, key=item.source_key, size=size,
                           version_id=item.source_version,
                           received_at=datetime.fromisoformat(item.received_at))  # fmt: skip
        return JobRecord(source, item.plan)

    def record_part(self, job: str, index: int, result: bytes) -> None:
        """Keep a part's FIRST result. A part run again (the workflow retries a part whose
        invocation failed, perhaps after it wrote) finds its markers and findings written
        and reports no change: its result must not replace the one that counted them."""
        try:
            PartItem(keys.job_pk(job), keys.part_sk(index), result=result,
                     expires=timedelta(days=JOB_DAYS)).save(
                condition=PartItem.pk.does_not_exist())  # fmt: skip
        except PutError as error:
            if not conditional_failure(error):
                raise

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
