"""A reconciliation extract too large for one invocation: split by subscriber in one
streamed pass, then held part by part like an audit 834 (``population_parts``).

The function that receives the extract reads it once, line by line. Each member is checked
and turned into what is compared (identifiers, codes, dates, amounts and keyed hashes:
``domain.population.piece_row``; the personal values are gone here) and spooled to local
disk by a hash of its subscriber id, so that a family is always in one piece. Nothing is
written until every line has been read well: one bad line refuses the whole file, as for an
extract held in one go. Then each piece goes to the work area, and the file workflow holds
one piece a part; its Finish finds what the insurer does not hold and writes the summary
(``population_parts.finish_population``).

Memory stays flat in the file's size: the pass holds one line at a time, and the upload
holds one spool's pieces (a ``SPOOLS``-th of the members). The spool is on the function's
ephemeral storage (template.yaml sizes it for ``MAX_SPLIT_ROWS``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO

from acktrack.domain.identifiers import short_hash
from acktrack.domain.population import (
    decoded_lines,
    extract_members,
    from_piece_row,
    piece_row,
)
from acktrack.domain.ports import (
    EnrollmentStore,
    ObjectSource,
    Outcome,
    PartPieces,
    PartWorkflow,
    PipelineConfig,
)
from acktrack.domain.reconciliation import PopulationMember
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.parts import POPULATION, PartOrder, pack_plan
from acktrack.ingest.reconciliation import Digesting, PopulationMeta

# The most members a split extract may hold: 4,000,000 is twice the largest insurer's
# population the design is sized for; its spool is about 1.3 GB (330 bytes a member).
MAX_SPLIT_ROWS = 4_000_000
MAX_PIECES = 1000  # a part holds more than PartMembers beyond 1,000 pieces' worth
SPOOLS = 32  # spool files on local disk, each holding the pieces of one residue
HEAD_BYTES = 256 * 1024  # what is read first to learn the lines' average length


def pieces_for(head: bytes, size: int, per_part: int) -> int:
    """How many pieces an extract of ``size`` bytes is split into, ``head`` being its first
    bytes: its lines counted from their average length, about ``per_part`` a piece (1 or
    less: it is held in one go)."""
    if per_part < 1 or size <= 0:
        return 0
    lines = head.split(b"\n")
    complete = len(head) >= size  # else the last line read may be cut
    body = [line for line in (lines[1:] if complete else lines[1:-1]) if line.strip()]
    if not body:
        return 0  # a header alone, or a first line too long: the read in one go refuses it
    average = sum(len(line) + 1 for line in body) / len(body)
    rows = len(body) if complete else (size - len(lines[0]) - 1) / average
    return min(MAX_PIECES, math.ceil(rows / per_part))


def piece_of(subscriber_id: str, pieces: int) -> int:
    """The piece a family goes to: the same for every member of it, in any run."""
    digest = hashlib.blake2b(subscriber_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % pieces


def extract_job(ref: ObjectRef) -> str:
    """An insurer's population is one job per object version (a redelivery finds it again)."""
    return short_hash("population", ref.bucket, ref.key, ref.version_id or "-", size=24)


def split_extract(
    ref: ObjectRef, source: ObjectSource, store: EnrollmentStore, config: PipelineConfig,
    meta: PopulationMeta, count: int, pieces: PartPieces, workflow: PartWorkflow,
) -> Outcome:  # fmt: skip
    """Split the extract into ``count`` pieces and start the file workflow over them; raises
    ExtractRefused (nothing written) as an extract held in one go would."""
    job = extract_job(ref)
    with tempfile.TemporaryDirectory(prefix="acktrack-extract-") as folder, ExitStack() as stack:
        spools = [stack.enter_context(Path(folder, f"{n:02d}").open("w+b")) for n in range(SPOOLS)]
        with source.open(ref) as raw:
            digesting = Digesting(raw)
            lines = decoded_lines(io.BufferedReader(digesting))
            rows = 0
            for member in extract_members(lines, config.keyring, MAX_SPLIT_ROWS):
                piece = piece_of(member.subscriber_id, count)
                row = json.dumps(piece_row(member), separators=(",", ":"))
                spools[piece % SPOOLS].write(f"{piece}\t{row}\n".encode())
                rows += 1
            digest = digesting.digest
        for residue, spool in enumerate(spools):
            _upload(spool, residue, count, job, pieces)
    population = {"our_id": meta.our_id, "partner": meta.partner, "as_of": meta.as_of,
                  "source": meta.source, "digest": digest, "pieces": str(count)}  # fmt: skip
    store.begin_job(job, count, ref, pack_plan([], [], population))
    orders = [
        PartOrder(job=job, index=index, parts=count, start=0, end=None, resume=None,
                  population=population).to_message()
        for index in range(count)
    ]  # fmt: skip
    workflow.start(job, POPULATION, orders)
    outcome = Outcome(FileOutcome.FANNED_OUT, parts=count, job=job)
    outcome.population = rows
    return outcome


def _upload(spool: BinaryIO, residue: int, count: int, job: str, pieces: PartPieces) -> None:
    """The pieces of one spool (those whose number leaves ``residue``), each compressed and
    written once; a piece with no member is written empty (its part holds nobody)."""
    spool.seek(0)
    held: dict[int, list[bytes]] = {n: [] for n in range(residue, count, SPOOLS)}
    for line in spool:
        piece, _, row = line.partition(b"\t")
        held[int(piece)].append(row)
    for number, rows in held.items():
        pieces.put_piece(job, number, gzip.compress(b"".join(rows), compresslevel=6, mtime=0))


def piece_members(body: bytes) -> list[PopulationMember]:
    """The members of one piece, as they were read from the extract."""
    text = gzip.decompress(body)
    return [from_piece_row(json.loads(line)) for line in text.splitlines() if line.strip()]
