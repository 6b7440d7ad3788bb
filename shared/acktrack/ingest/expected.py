"""The exchange's extract of expected enrollment actions (``expected/`` in the outbound
bucket; ``domain.expected`` says what a row is and when it is sent).

The whole file is read once first, line by line: one bad line, or a column that is not an
id, a code or a time, refuses the whole file (quarantined with the reason), and nothing
of it is kept. Then each action is created once in its family's partition, and each of
those families is reconciled, which closes the actions its 834s sent already (an 834 that
comes later closes them when it is reconciled). A file of more than ``PartMembers`` rows
is cut at line starts, about that many rows a part, and run by the file workflow: a part
makes about three requests a row (the write, its family's read, a closure).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from acktrack.domain.expected import (
    MAX_LINE_BYTES,
    ExpectedAction,
    ExpectedRefused,
    header_columns,
    parse_action,
)
from acktrack.domain.family import Family
from acktrack.domain.ports import (
    ExpectedStore,
    ObjectSource,
    Outcome,
    Partners,
    PartWorkflow,
    PipelineConfig,
)
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.families import reconcile_families
from acktrack.ingest.parts import (
    EXPECTED,
    PartOrder,
    object_job,
    pack_plan,
    part_results,
    record_part,
    unpack,
    with_job,
)
from acktrack.ingest.steps import quarantine

MAX_INSURERS = 10_000  # distinct insurers one extract may name
_CHUNK = 500  # actions written between two family reconciliations


@dataclass(slots=True)
class Scan:
    """What the first read found: the columns, the rows, where parts start, the insurers."""

    columns: dict[str, int]
    rows: int = 0
    body: int = 0  # where the first row starts (after the header)
    cuts: list[int] = field(default_factory=list)  # byte offsets where a part starts
    partners: set[str] = field(default_factory=set)


def ingest_expected(
    ref: ObjectRef,
    source: ObjectSource,
    store: ExpectedStore,
    config: PipelineConfig,
    parts: PartWorkflow | None = None,
) -> Outcome:
    """Keep every expected action of one extract, or quarantine the file with the reason."""
    problem = config.size_problem(ref)
    if problem:
        return quarantine(ref, source, store, problem)
    try:
        scan = _scan(ref, source, config)
    except ExpectedRefused as error:
        return quarantine(ref, source, store, f"not an extract of expected actions: {error}")
    ours = our_ids(scan.partners, store, config)
    if isinstance(ours, str):
        return quarantine(ref, source, store, ours)
    carried = {"columns": scan.columns, "ours": ours}
    if parts is not None and len(scan.cuts) > 1:
        job = object_job(EXPECTED, ref)
        store.begin_job(job, len(scan.cuts), ref, pack_plan([], [], carried=carried))
        ends = [*scan.cuts[1:], None]
        orders = [PartOrder(job=job, index=index, parts=len(scan.cuts), start=start,
                            end=ends[index], resume=None, kind=EXPECTED).to_message()
                  for index, start in enumerate(scan.cuts)]  # fmt: skip
        parts.start(job, EXPECTED, orders)
        outcome = Outcome(FileOutcome.FANNED_OUT, parts=len(scan.cuts), job=job)
        outcome.expected_actions = scan.rows
        return outcome
    outcome = Outcome(FileOutcome.EXPECTED)
    _keep(ref, source, store, config, carried, scan.body, None, outcome)
    store.record_object(ref, outcome)
    return outcome


def ingest_expected_part(
    order: PartOrder, source: ObjectSource, store: ExpectedStore, config: PipelineConfig
) -> Outcome:
    """Keep one part's actions, and its counts for Finish."""
    order, ref = with_job(order, store)
    found = Outcome(FileOutcome.PART)
    _keep(ref, source, store, config, order.carried, order.start, order.end, found)
    record_part(order, store, {"rows": found.expected_actions, "by_partner": found.by_partner},
                found)  # fmt: skip
    return found


def finish_expected(order: PartOrder, store: ExpectedStore) -> Outcome:
    """The workflow's Finish: every part kept; the file's outcome, once."""
    order, ref = with_job(order, store)
    outcome = Outcome(FileOutcome.EXPECTED, parts=order.parts)
    for packed in part_results(order, store):
        result = unpack(packed)
        outcome.expected_actions += int(result["rows"])
        for partner, values in result["by_partner"].items():
            for name, value in values.items():
                outcome.count(partner, name, value)
    store.record_object(ref, outcome)
    store.finish_job(order.job)
    return outcome


def _keep(
    ref: ObjectRef, source: ObjectSource, store: ExpectedStore, config: PipelineConfig,
    carried: dict[str, Any], start: int, end: int | None, outcome: Outcome,
) -> None:  # fmt: skip
    """Write the actions of bytes [start, end) (whole rows), then reconcile their families."""
    columns, ours = carried["columns"], carried["ours"]
    families: set[Family] = set()
    chunk: list[ExpectedAction] = []

    def flush() -> None:
        by_our: dict[str, list[ExpectedAction]] = {}
        for action in chunk:
            by_our.setdefault(ours[action.partner], []).append(action)
        for our, actions in sorted(by_our.items()):
            store.put_expected(our, actions)
        chunk.clear()

    with source.open(ref, start, end) as stream:
        for number, line in enumerate(_lines(stream), start=2):
            action = parse_action(line, number, columns, config.expected_send_hours,
                                  config.envelope_zone)  # fmt: skip
            if action is None:
                continue
            chunk.append(action)
            families.add((ours[action.partner], action.partner, action.subscriber_id))
            outcome.expected_actions += 1
            outcome.count(action.partner, "expected", 1)
            if len(chunk) >= _CHUNK:
                flush()
    flush()
    reconcile_families(store, families, outcome, config.ack_sla_hours)


def _scan(ref: ObjectRef, source: ObjectSource, config: PipelineConfig) -> Scan:
    """Read every line once: refused at the first that is not an action."""
    per_part = config.part_members or 0
    with source.open(ref) as stream:
        first = stream.readline(MAX_LINE_BYTES + 1)
        if not first.strip():
            raise ExpectedRefused("the file is empty: its first line must name the columns")
        scan = Scan(header_columns(_text(first, 1)), body=len(first))
        offset = len(first)
        for number, line in enumerate(_raw_lines(stream), start=2):
            action = parse_action(_text(line, number), number, scan.columns,
                                  config.expected_send_hours, config.envelope_zone)  # fmt: skip
            if action is not None:
                if per_part and scan.rows % per_part == 0:
                    scan.cuts.append(offset)
                scan.rows += 1
                scan.partners.add(action.partner)
                if len(scan.partners) > MAX_INSURERS:
                    raise ExpectedRefused(f"more than {MAX_INSURERS:,} insurers in one extract")
            offset += len(line)
    if not scan.rows:
        raise ExpectedRefused("the file has a header and no rows")
    if not per_part:
        scan.cuts = [scan.body]
    return scan


def _raw_lines(stream: Any) -> Iterator[bytes]:
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        yield line


def _lines(stream: Any) -> Iterator[str]:
    for line in _raw_lines(stream):
        yield _text(line, 0)


def _text(line: bytes, number: int) -> str:
    if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
        raise ExpectedRefused(f"line {number}: longer than {MAX_LINE_BYTES:,} bytes")
    try:
        return line.decode("utf-8").lstrip("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ExpectedRefused(f"line {number}: not UTF-8 text") from None


def our_ids(partners: set[str], store: Partners, config: PipelineConfig
            ) -> dict[str, str] | str:  # fmt: skip
    """Insurer -> the sender id (ISA06) its rows belong to (``our_id_for``), or why one of
    them cannot be placed (the file is then quarantined with it)."""
    known = [(p.our_id, p.partner) for p in store.partners()]
    ours: dict[str, str] = {}
    for partner in sorted(partners):
        our = our_id_for(partner, known, config)
        if our is None:
            return (f"insurer {partner}: which of our sender ids (ISA06) its rows belong to is not "
                    "known (no 834 to it yet, and OurSenderIds does not name exactly one); set "
                    "OurSenderIds, or deliver it again once an 834 to it is tracked")  # fmt: skip
        ours[partner] = our
    return ours


def our_id_for(partner: str, known: list[tuple[str, str]], config: PipelineConfig) -> str | None:
    """Which of our sender ids the insurer's actions go out as: the one OurSenderIds names,
    or the one 834s to it were sent as."""
    if len(config.our_sender_ids) == 1:
        return config.our_sender_ids[0]
    seen = {our for our, to in known if to == partner}
    if config.our_sender_ids:
        seen &= set(config.our_sender_ids)
    return seen.pop() if len(seen) == 1 else None
