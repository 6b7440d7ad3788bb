"""Read one large 834 on several cores: byte ranges cut on members, one process each.

Records never cross a process boundary (pickling them would cost more than reading
them); each process hands its reader (an iterable of records) to ``consume`` and sends
back only its result.
Worker processes plan their own cut while this process is already reading the
first range, which needs no plan: a cut is never before its target offset, so the
first range reads freely up to the target and only then waits for the cut.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from acktrack.x12.limits import current
from acktrack.x12.ranges import ByteRange, plan_cuts, targets_for
from acktrack.x12.reader import Record, X12Reader, interchange_digests
from acktrack.x12.records import InterchangeEnd, MemberTransaction

T = TypeVar("T")


class RangeStream:
    """A binary stream over bytes [start, end) of another seekable stream.

    ``end`` may be found late: give ``soft_end`` (a lower bound) and ``find_end``,
    called once when reading reaches ``soft_end``.
    """

    def __init__(
        self,
        stream: BinaryIO,
        start: int,
        end: int | None,
        *,
        soft_end: int | None = None,
        find_end: Callable[[], int | None] | None = None,
    ) -> None:
        stream.seek(start)
        self._stream = stream
        self._position = start
        self._end = end
        self._soft_end = soft_end
        self._find_end = find_end

    def read(self, size: int = -1) -> bytes:
        limit = self._end
        if self._find_end is not None and self._soft_end is not None:
            if self._position >= self._soft_end:
                limit = self._end = self._find_end()
                self._find_end = None
            else:
                limit = self._soft_end
        if limit is not None:
            left = limit - self._position
            if left <= 0:
                return b""
            size = left if size < 0 else min(size, left)
        data = self._stream.read(size)
        self._position += len(data)
        return data

    @property
    def stopped_early(self) -> bool:
        """True when the range ended at another range's start, not at the stream's end."""
        return self._end is not None

    def close(self) -> None:
        self._stream.close()


def range_reader(
    stream: BinaryIO, byte_range: ByteRange, *, members: bool = True, digest: bool = False
) -> X12Reader:
    """A reader of one range (members of a set cut across ranges appear once)."""
    window = RangeStream(stream, byte_range.start, byte_range.end)
    return X12Reader(
        window,  # type: ignore[arg-type]
        members=members,
        digest=digest,
        resume=byte_range.resume,
        partial=byte_range.end is not None,
    )


def read_range(
    stream: BinaryIO, byte_range: ByteRange, *, members: bool = True, digest: bool = False
) -> Iterator[Record]:
    """The records of one range (members of a set cut across ranges appear once)."""
    return range_reader(stream, byte_range, members=members, digest=digest).records()


def _worker(
    path: str,
    targets: list[int],
    index: int,
    consume: Callable[[Iterable[Record]], Any],
    pipe: Connection,
) -> None:
    """Plan cut ``index`` (and the next, its end), report the start, read, report the result."""
    try:
        with open(path, "rb") as stream:
            cuts = plan_cuts(stream, targets[index - 1 : index + 1])
        start = cuts[0] if cuts and cuts[0].offset >= targets[index - 1] else None
        pipe.send(("start", start.offset if start else None))
        if start is None:
            pipe.send(("result", None))
            return
        end = cuts[1].offset if len(cuts) > 1 else None
        with open(path, "rb") as stream:
            result = consume(range_reader(stream, ByteRange(start.offset, end, start)))
        pipe.send(("result", result))
    except Exception as error:  # reported to the parent, which raises it
        # Where, never the message: it can quote a value of the file or the file's path.
        frames = traceback.extract_tb(error.__traceback__)[-3:]
        where = "; ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames)
        pipe.send(("error", f"{type(error).__name__} at {where}"))
    finally:
        pipe.close()


def _receive(pipe: Connection, kind: str) -> Any:
    message, value = pipe.recv()
    if message == "error":
        raise RuntimeError(f"a range worker failed: {value}")
    assert message == kind
    return value


def map_ranges(
    path: Path,
    consume: Callable[[Iterable[Record]], T],
    *,
    workers: int = 2,
    first_share: float = 0.56,
) -> list[T]:
    """Run ``consume`` over the reader (the records) of each range, one process per range.

    ``consume`` must be a module-level function. This process reads the first range;
    results come back in file order. A worker whose cut does not exist (small or
    unusual files) returns nothing and its bytes belong to the previous range.
    """
    size = path.stat().st_size
    targets = targets_for(size, workers, first_share)
    context = multiprocessing.get_context("fork")
    pipes: list[Connection] = []
    processes = []
    for index in range(1, workers):
        parent_end, child_end = context.Pipe(duplex=False)
        process = context.Process(
            target=_worker, args=(str(path), targets, index, consume, child_end), daemon=True
        )
        process.start()
        child_end.close()
        pipes.append(parent_end)
        processes.append(process)
    received: list[bool] = [False] * len(pipes)
    starts: list[int | None] = [None] * len(pipes)  # None: that worker found no cut

    def cut_after(index: int) -> int | None:
        """Where range ``index`` ends: the next worker's start (waits for its plan)."""
        for later in range(index, len(pipes)):
            if not received[later]:
                starts[later] = _receive(pipes[later], "start")
                received[later] = True
            if starts[later] is not None:
                return starts[later]
        return None

    try:
        with path.open("rb") as stream:
            window = RangeStream(
                stream,
                0,
                None,
                soft_end=targets[0] if targets else None,
                find_end=lambda: cut_after(0),
            )
            reader = X12Reader(window, partial=lambda: window.stopped_early)  # type: ignore[arg-type]
            first = consume(reader)
        for index in range(len(pipes)):
            cut_after(index)
        results = [first]
        for index, pipe in enumerate(pipes):
            result = _receive(pipe, "result")
            if starts[index] is not None:
                results.append(result)
        return results
    finally:
        for process in processes:
            process.join(timeout=30)


def _count_members(records: Iterable[Record]) -> int:
    count = 0
    for record in records:
        if type(record) is MemberTransaction:
            count += 1
    return count


def count_members_parallel(path: Path, *, workers: int = 2) -> int:
    """Members in ``path``, read with full member records on ``workers`` processes."""
    return sum(map_ranges(path, _count_members, workers=workers))


class _Spool:
    """A range's records but members, pickled one by one to a temporary file, so memory
    does not follow what the range holds (a member's findings are kept, the member is
    not); a worker process also digests the whole file after its range (the first range,
    read here, is the larger share). Returns (the file's name, its interchange ends, what
    its reader counted against ``Limits.structures``, the digests)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parent = os.getpid()

    def __call__(self, records: Iterable[Record]) -> tuple[str, int, int, list[tuple[str, int]]]:
        handle, name = tempfile.mkstemp(prefix="acktrack-range-")
        ends = 0
        with os.fdopen(handle, "wb") as spool:
            for record in records:
                kind = type(record)
                if kind is MemberTransaction:
                    continue
                ends += kind is InterchangeEnd
                pickle.dump(record, spool, pickle.HIGHEST_PROTOCOL)
        counted = records.structures if isinstance(records, X12Reader) else 0
        if os.getpid() == self.parent:
            return name, ends, counted, []
        with self.path.open("rb") as stream:
            return name, ends, counted, interchange_digests(stream)


def _replay(name: str) -> Iterator[Record]:
    with open(name, "rb") as spool:
        while True:
            try:
                record: Record = pickle.load(spool)  # noqa: S301 - written by _Spool (0600)
            except EOFError:
                return
            yield record


def read_envelopes_parallel(path: Path, *, workers: int = 2) -> Iterator[Record]:
    """Every record of ``path`` but members, as ``read_x12(digest=True)`` reads them, in
    order, on ``workers`` processes (a member's findings are kept; the member is not).

    Interchanges get their digests and sizes from a tokenizer pass in the last worker;
    when that pass cannot match them one to one (no cut, or an interchange without its
    IEA), or the ranges together hold more than one reader keeps (``Limits.structures``:
    one reader stops there), the file is read in one process, so the result is always
    the sequential one. Each range's records wait in a temporary file, not in memory.
    """
    spools = map_ranges(path, _Spool(path), workers=workers, first_share=0.65)
    try:
        digests = spools[-1][3]
        ends = sum(spool[1] for spool in spools)
        counted = sum(spool[2] for spool in spools)
        if len(spools) == 1 or ends != len(digests) or counted > current().structures:
            with path.open("rb") as stream:
                for record in X12Reader(stream, digest=True).records():
                    if type(record) is not MemberTransaction:
                        yield record
            return
        pending = iter(digests)
        for name, *_ in spools:
            for record in _replay(name):
                if type(record) is InterchangeEnd:
                    assert isinstance(record, InterchangeEnd)
                    digest, size = next(pending)
                    yield replace(record, digest=digest, byte_length=size)
                else:
                    yield record
    finally:
        for name, *_ in spools:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
