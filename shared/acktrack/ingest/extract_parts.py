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
holds one spool's pieces (a ``SPOOLS``-th of the members; a larger spool is read once per
piece). The spool is on the function's ephemeral storage (template.yaml sizes it for
``MAX_SPLIT_ROWS``). How many pieces is decided once the members are counted, so a piece
holds about ``part_members`` whatever the first lines suggested.
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

from acktrack.domain.population import (
    decoded_lines,
    extract_members,
    from_piece_row,
    piece_row,
)
from acktrack.domain.ports import (
    ObjectSource,
    Outcome,
    PartPieces,
    PartWorkflow,
    PipelineConfig,
    PopulationPartsStore,
)
from acktrack.domain.reconciliation import PopulationMember
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.parts import POPULATION, PartOrder, object_job, pack_plan
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


def family_hash(subscriber_id: str) -> int:
    """A family's place in the split: the same for every member of it, in any run."""
    return int.from_bytes(hashlib.blake2b(subscriber_id.encode(), digest_size=8).digest(), "big")


def piece_of(hashed: int, spools: int, per_spool: int) -> int:
    """The piece of a family hash: its spool's residue, then one of that spool's pieces."""
    return hashed % spools + spools * ((hashed // spools) % per_spool)


def pieces_per_spool(rows: int, spools: int, per_part: int) -> int:
    """Pieces a spool is cut in, now that the members are counted: about ``per_part``
    members a piece, at most ``MAX_PIECES`` in all."""
    return max(1, min(MAX_PIECES // spools, math.ceil(rows / (spools * max(1, per_part)))))


def split_extract(
    ref: ObjectRef, source: ObjectSource, store: PopulationPartsStore, config: PipelineConfig,
    meta: PopulationMeta, estimate: int, pieces: PartPieces, workflow: PartWorkflow,
    notices: list[str],
) -> Outcome:  # fmt: skip
    """Split the extract (``estimate``: its pieces as counted from its first lines) and start
    the file workflow over the pieces; raises ExtractRefused (nothing written) as an
    extract held in one go would. The pieces are counted once every member is: however far
    the estimate was off, a piece holds about ``part_members`` members."""
    job = object_job(POPULATION, ref)  # as an audit 834's: one job per object version
    spooled = min(SPOOLS, max(2, estimate))
    with tempfile.TemporaryDirectory(prefix="acktrack-extract-") as folder, ExitStack() as stack:
        spools = [stack.enter_context(Path(folder, f"{n:02d}").open("w+b")) for n in range(spooled)]
        held = [0] * spooled
        with source.open(ref) as raw:
            digesting = Digesting(raw)
            lines = decoded_lines(io.BufferedReader(digesting))
            for member in extract_members(lines, config.keyring, MAX_SPLIT_ROWS):
                hashed = family_hash(member.subscriber_id)
                row = json.dumps(piece_row(member), separators=(",", ":"))
                spools[hashed % spooled].write(f"{hashed}\t{row}\n".encode())
                held[hashed % spooled] += 1
            digest = digesting.digest
        per_spool = pieces_per_spool(sum(held), spooled, config.part_members)
        for residue, spool in enumerate(spools):
            _upload(spool, residue, spooled, per_spool, held[residue], job, pieces)
    count = spooled * per_spool
    population = {"our_id": meta.our_id, "partner": meta.partner, "as_of": meta.as_of,
                  "source": meta.source, "digest": digest, "pieces": str(count)}  # fmt: skip
    store.begin_job(job, count, ref, pack_plan([], sorted(set(notices)), population))
    orders = [
        PartOrder(job=job, index=index, parts=count, start=0, end=None, resume=None,
                  population=population).to_message()
        for index in range(count)
    ]  # fmt: skip
    workflow.start(job, POPULATION, orders)
    outcome = Outcome(FileOutcome.FANNED_OUT, parts=count, job=job)
    outcome.population = sum(held)
    return outcome


HELD_ROWS = 100_000  # a spool of at most this many members is cut in one read (about 40 MB)


def _upload(spool: BinaryIO, residue: int, spooled: int, per_spool: int, rows: int, job: str,
            pieces: PartPieces) -> None:  # fmt: skip
    """The pieces of one spool, each compressed and written once (a piece with no member is
    written empty: its part holds nobody). A spool of more than ``HELD_ROWS`` members is
    read once per piece, so that one piece is held at a time."""
    wanted = [residue + spooled * number for number in range(per_spool)]  # its pieces
    for batch in [wanted] if rows <= HELD_ROWS else [[piece] for piece in wanted]:
        spool.seek(0)
        found: dict[int, list[bytes]] = {piece: [] for piece in batch}
        for line in spool:
            hashed, _, row = line.partition(b"\t")
            piece = piece_of(int(hashed), spooled, per_spool)
            if piece in found:
                found[piece].append(row)
        for piece, kept in found.items():
            body = gzip.compress(b"".join(kept), compresslevel=6, mtime=0)
            pieces.put_piece(job, piece, body)


def piece_members(body: bytes) -> list[PopulationMember]:
    """The members of one piece, as they were read from the extract."""
    text = gzip.decompress(body)
    return [from_piece_row(json.loads(line)) for line in text.splitlines() if line.strip()]
