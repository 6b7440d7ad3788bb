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

SEVERITY = {"rejected": 0, "overdue": 1, "not_effectuated": 2}


@dataclass(frozen=True, slots=True)
class Urgency:
    """The most severe first, then the longest waiting, then the order rows were made."""

    severity: int
    waited: float
    sequence: int

    def __lt__(self, other: Urgency) -> bool:
        return (self.severity, -self.waited, self.sequence) < (
            other.severity, -other.waited, other.sequence,
        )  # fmt: skip


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


@dataclass(frozen=True, slots=True)
class _Reversed:
    """A max-heap entry: the least urgent kept row is on top, replaced first."""

    urgency: Urgency

    def __lt__(self, other: _Reversed) -> bool:
        return other.urgency < self.urgency
