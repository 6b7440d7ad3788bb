"""Helpers shared by the tests: sample files, generated files, the pyx12 peer."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from acktrack.synthetic.enrollment import EnrollmentSpec, GeneratedFile, write_834
from acktrack.x12 import Finding, MemberTransaction, Record, read_x12

SAMPLES = Path(__file__).parent / "fixtures" / "samples"
T = TypeVar("T")


def records(data: bytes | Path, **options: Any) -> list[Record]:
    raw = data.read_bytes() if isinstance(data, Path) else data
    return list(read_x12(io.BytesIO(raw), **options))


def of_type(items: Iterable[Any], kind: type[T]) -> list[T]:
    return [item for item in items if isinstance(item, kind)]


def members(data: bytes | Path, **options: Any) -> list[MemberTransaction]:
    return of_type(records(data, **options), MemberTransaction)


def findings(data: bytes | Path) -> list[Finding]:
    return of_type(records(data), Finding)


def codes(found: Sequence[Finding]) -> list[tuple[str, str]]:
    return sorted((finding.scheme, finding.code) for finding in found)


def generate(**spec: Any) -> tuple[bytes, GeneratedFile]:
    buffer = io.BytesIO()
    generated = write_834(EnrollmentSpec(**spec), buffer)
    return buffer.getvalue(), generated


def pyx12_validate(data: bytes) -> tuple[bool, bytes]:
    """Run pyx12 (an independent implementation) on ``data``: (valid, its 999 + TA1)."""
    import pyx12.params
    import pyx12.x12n_document

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    acknowledgment = io.StringIO()
    valid = pyx12.x12n_document.x12n_document(
        pyx12.params.params(), io.StringIO(data.decode("utf-8")), acknowledgment, None
    )
    return bool(valid), acknowledgment.getvalue().encode()
