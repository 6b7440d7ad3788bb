"""The report's detail rows, kept out of memory: written to a temporary file as they are
made, with only the most urgent few (what the email shows) and the counts in memory."""

from __future__ import annotations

import hashlib
import heapq
import json
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import IO, Any

SEVERITY = {"rejected": 0, "rejected_after_accept": 0, "overdue": 1, "not_effectuated": 2}


@dataclass(frozen=True, slots=True)
class Urgency:
    """The most severe first, then the longest waiting, then the order rows were made."""

    severity: int
    waited: float
    sequence: tuple[int, int] | int  # (batch, row in it): a batch's rows come after the last's

    def _key(self) -> tuple[int, float, tuple[int, int]]:
        sequence = self.sequence if isinstance(self.sequence, tuple) else (0, self.sequence)
        return (self.severity, -self.waited, sequence)

    def __lt__(self, other: Urgency) -> bool:
        return self._key() < other._key()


class RowSpool:
    """Rows (dicts of plain values) in order, spooled to disk; ``urgent`` keeps the ``keep``
    most urgent; ``people`` counts distinct (insurer, subscriber, person) keys by a 64-bit
    hash, so a million rows cost a few tens of megabytes, not gigabytes."""

    def __init__(self, keep: int = 500) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._keep = keep
        self._heap: list[tuple[_Reversed, dict[str, Any]]] = []
        self._people: set[int] = set()
        self.count = 0

    def add(self, row: Any, person: tuple[str, ...]) -> None:
        document = asdict(row)
        document.pop("person", None)
        self._file.seek(0, 2)  # after a read that stopped early, still at the end
        self._file.write(json.dumps(document, separators=(",", ":")).encode() + b"\n")
        self._people.add(
            int.from_bytes(hashlib.blake2b("\x1f".join(person).encode(), digest_size=8).digest())
        )
        urgency = Urgency(SEVERITY.get(document["status"], 3), document["age_hours"], self.count)
        self.count += 1
        if self._keep <= 0:
            return
        entry = (_Reversed(urgency), document)
        if len(self._heap) < self._keep:
            heapq.heappush(self._heap, entry)
        elif urgency < self._heap[0][0].urgency:
            heapq.heapreplace(self._heap, entry)

    @property
    def people(self) -> int:
        return len(self._people)

    def people_hashes(self) -> bytes:
        """The people's 64-bit hashes, sorted (a batch's, for the report to count once)."""
        return b"".join(number.to_bytes(8, "big") for number in sorted(self._people))

    def urgent_entries(self) -> list[list[Any]]:
        """The kept rows with their urgency, JSON-ready (a batch's, merged by the report)."""
        return [[entry.urgency.severity, entry.urgency.waited, entry.urgency.sequence, document]
                for entry, document in self._heap]  # fmt: skip

    def urgent(self) -> list[dict[str, Any]]:
        """The ``keep`` most urgent rows, most urgent first."""
        return [document for _, document in sorted(self._heap, key=lambda e: e[0].urgency)]

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Every row, in the order it was added."""
        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            yield json.loads(line)
        self._file.seek(0, 2)

    def close(self) -> None:
        self._file.close()


class MergedRows:
    """The rows of many batches, in batch order, as the report reads them: the most urgent
    over all, people counted once, and (in one process) every row, read batch by batch."""

    def __init__(self, keep: int = 500) -> None:
        self._keep = keep
        self._urgent: list[tuple[Urgency, dict[str, Any]]] = []
        self._people: set[int] = set()
        self._sources: list[Any] = []  # each an iterable of row dicts (a batch's spool)
        self.count = 0

    def add_batch(self, index: int, urgent: list[list[Any]], count: int, people: bytes,
                  rows: Any = None) -> None:  # fmt: skip
        """One batch's kept rows, row count, people hashes and (optionally) its rows."""
        for severity, waited, sequence, document in urgent:
            local = sequence[1] if isinstance(sequence, list | tuple) else sequence
            entry = (Urgency(severity, waited, (index, int(local))), document)
            self._urgent.append(entry)
        if len(self._urgent) > 4 * max(self._keep, 1):
            self._urgent = heapq.nsmallest(self._keep, self._urgent, key=lambda e: e[0]._key())
        self._people.update(int.from_bytes(people[at : at + 8], "big")
                            for at in range(0, len(people), 8))  # fmt: skip
        self.count += count
        if rows is not None:
            self._sources.append(rows)

    @property
    def people(self) -> int:
        return len(self._people)

    def urgent(self) -> list[dict[str, Any]]:
        if self._keep <= 0:
            return []
        kept = heapq.nsmallest(self._keep, self._urgent, key=lambda e: e[0]._key())
        return [document for _, document in kept]

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for source in self._sources:
            yield from source

    def close(self) -> None:
        for source in self._sources:
            closing = getattr(source, "close", None)
            if closing is not None:
                closing()


@dataclass(frozen=True, slots=True)
class _Reversed:
    """A max-heap entry: the least urgent kept row is on top, replaced first."""

    urgency: Urgency

    def __lt__(self, other: _Reversed) -> bool:
        return other.urgency < self.urgency
