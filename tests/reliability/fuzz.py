"""Fuzzing: mutated 834, 999 and TA1 files and random bytes, read and ingested.

Every input goes through the streaming reader, which must yield records or raise the
one typed error. Every ``--through-handlers``-th input also goes through the Lambda
handlers on an in-process moto stack, alternating buckets: the invocation must succeed
(no unhandled exception), and the file must end processed or quarantined with a reason.

    python -m tests.reliability.fuzz --inputs 100000     # what `make fuzz` runs
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from acktrack.x12 import UnreadableX12, read_x12
from tests.support import SAMPLES

SENT = datetime(2024, 1, 15, 12, 0)


def seeds() -> list[bytes]:
    """Valid and broken files of every kind acktrack reads."""
    found = [
        path.read_bytes() for path in sorted(SAMPLES.iterdir()) if path.suffix in (".834", ".999")
    ]
    for number, spec in enumerate([
        {"members": 6, "sets_per_group": 2},
        {"members": 4, "line_ending": "\r\n", "errors": ["bad_se_count"]},
        {"members": 5, "errors": ["duplicate_st02"], "sets_per_group": 2},
    ]):  # fmt: skip
        buffer = io.BytesIO()
        write_834(EnrollmentSpec(seed=900 + number, sent_at=SENT, **spec), buffer)
        found.append(buffer.getvalue())
        found.append(
            respond(
                buffer.getvalue(), insurer_control=9000 + number, sent_at=SENT + timedelta(hours=2)
            )
        )
    insurer = io.BytesIO()
    write_effectuation(found[-2], insurer, EffectuationSpec(sent_at=SENT + timedelta(days=3)))
    found.append(insurer.getvalue())
    return found


def _segments(data: bytes) -> tuple[list[bytes], bytes]:
    terminator = data[105:106] if len(data) > 106 and data.startswith(b"ISA") else b"~"
    return data.split(terminator), terminator


def _flip(data: bytes, rng: random.Random) -> bytes:
    raw = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if raw:
            raw[rng.randrange(len(raw))] = rng.randrange(256)
    return bytes(raw)


def _truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _drop(data: bytes, rng: random.Random) -> bytes:
    parts, terminator = _segments(data)
    del parts[rng.randrange(len(parts))]
    return terminator.join(parts)


def _duplicate(data: bytes, rng: random.Random) -> bytes:
    parts, terminator = _segments(data)
    at = rng.randrange(len(parts))
    parts[at:at] = parts[at : at + rng.randint(1, 5)]
    return terminator.join(parts)


def _reorder(data: bytes, rng: random.Random) -> bytes:
    parts, terminator = _segments(data)
    first, second = rng.randrange(len(parts)), rng.randrange(len(parts))
    parts[first], parts[second] = parts[second], parts[first]
    return terminator.join(parts)


def _delimiters(data: bytes, rng: random.Random) -> bytes:
    """Another delimiter in the ISA only (the body disagrees), or swapped everywhere."""
    if len(data) < 106:
        return data
    old = bytes([data[rng.choice((3, 104, 105))]])
    new = bytes([rng.choice(b"*~:^|!>\n\r{}#")])
    return data.replace(old, new) if rng.random() < 0.5 else data[:3] + new + data[4:]


def _huge(data: bytes, rng: random.Random) -> bytes:
    parts, terminator = _segments(data)
    at = rng.randrange(len(parts))
    parts[at] = parts[at] + b"*" + b"Z" * rng.choice((10_000, 200_000, 1_000_000))
    return terminator.join(parts)


def _random(data: bytes, rng: random.Random) -> bytes:
    return (
        rng.randbytes(rng.randint(0, 4096)) if rng.random() < 0.7 else b"ISA" + rng.randbytes(200)
    )


def _splice(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.randbytes(rng.randint(1, 64)) + data[at:]


MUTATIONS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "flip": _flip, "truncate": _truncate, "drop_segment": _drop, "duplicate_segments": _duplicate,
    "reorder_segments": _reorder, "wrong_delimiters": _delimiters, "huge_element": _huge,
    "random_bytes": _random, "splice": _splice,
}  # fmt: skip


def inputs(count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    rng = random.Random(seed)
    corpus = seeds()
    names = list(MUTATIONS)
    for _ in range(count):
        data = rng.choice(corpus)
        applied = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            name = rng.choice(names)
            applied.append(name)
            data = MUTATIONS[name](data, rng) if data else data
        yield "+".join(applied), data


def read_one(data: bytes) -> str:
    """records | unreadable; anything else raised is a bug and propagates."""
    try:
        for _ in read_x12(io.BytesIO(data), chunk_size=4096):
            pass
    except UnreadableX12 as error:
        assert error.reason, "an UnreadableX12 without a reason"
        return "unreadable"
    return "records"


def run(
    count: int, seed: int = 2013, through_handlers: int = 10, progress: bool = False
) -> Counter[str]:
    """Fuzz ``count`` inputs; every ``through_handlers``-th also through the Lambda handlers."""
    from tests.reliability.support import File, deliver, fresh_stack

    figures: Counter[str] = Counter()
    started = time.monotonic()
    stack_context = fresh_stack()
    stack = stack_context.__enter__()
    delivered = 0
    try:
        for number, (mutation, data) in enumerate(inputs(count, seed)):
            figures[f"reader_{read_one(data)}"] += 1
            for name in mutation.split("+"):
                figures[f"mutation_{name}"] += 1
            if through_handlers and number % through_handlers == 0:
                if delivered and delivered % 250 == 0:  # moto keeps every object: start afresh
                    stack_context.__exit__(None, None, None)
                    stack_context = fresh_stack()
                    stack = stack_context.__enter__()
                delivered += 1
                folder = "outbound" if (number // through_handlers) % 2 == 0 else "inbound"
                file = File(folder, f"fuzz/{number:07d}.x12", data)
                results = deliver(stack, file)
                failed = [result for result in results if not result.ok or result.attempts > 1]
                if failed:
                    raise AssertionError(f"input {number} ({mutation}): {failed[0].error}")
                figures[f"handler_{_outcome(stack, file)}"] += 1
            if progress and number and number % 5000 == 0:
                rate = number / (time.monotonic() - started)
                print(
                    f"  {number:,} inputs ({rate:,.0f}/s) {dict(figures)}",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        stack_context.__exit__(None, None, None)
    figures["inputs"] = count
    return figures


def _outcome(stack: Any, file: Any) -> str:
    from acktrack.handlers import wiring

    (item,) = [i for i in wiring.repository().objects_for(stack.bucket(_role(file)), file.key)]
    if item.outcome == "quarantined":
        assert item.reason and len(item.reason) > 10, (
            f"quarantined without a reason: {item.reason!r}"
        )
    return str(item.outcome)


def _role(file: Any) -> str:
    return "Outbound" if file.folder == "outbound" else "Inbound"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--inputs", type=int, default=100_000, help="how many inputs (default 100,000)"
    )
    parser.add_argument("--seed", type=int, default=2013)
    parser.add_argument("--through-handlers", type=int, default=20, metavar="N",
                        help="every N-th input also goes through the handlers on moto (0: none)")  # fmt: skip
    args = parser.parse_args()
    started = time.monotonic()
    figures = run(args.inputs, args.seed, args.through_handlers, progress=True)
    seconds = time.monotonic() - started
    print(f"fuzz: {figures['inputs']:,} inputs in {seconds:.0f} s, no unhandled exception")
    for name, value in sorted(figures.items()):
        print(f"  {name}: {value:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
