"""Monthly reconciliation: an insurer's whole population (an audit 834, BGN08 4 or RX, or a
reconciliation extract) held against the enrollments we hold in force with it, field by
field (``domain.reconciliation``), with no personal value kept.

What it writes: the summary and its discrepancy rows (the report reads them), an RCNO-style
file of codes in the reports bucket, and a resolution confirming each waiting enrollment
the insurer holds with the same plan and dates (``confirmed_by_reconciliation``).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from acktrack.correlate.enrollments import SetStatuses, family_ledger
from acktrack.correlate.population import OurMember, ours_in_force
from acktrack.domain.folders import insurer_folder
from acktrack.domain.hashing import Keyring
from acktrack.domain.identifiers import short_hash
from acktrack.domain.ledger import ClosedBy, Resolution
from acktrack.domain.population import decoded_lines, population_member, read_extract
from acktrack.domain.ports import (
    Archive,
    Outcome,
    PipelineConfig,
    PopulationStore,
)
from acktrack.domain.reconciliation import (
    Comparison,
    PopulationMember,
    ReconciliationSummary,
    Side,
    compare,
    discrepancy_rows,
    held_once,
    rcno_lines,
    tally,
)
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef, iso
from acktrack.x12 import MemberTransaction


@dataclass(frozen=True, slots=True)
class PopulationMeta:
    """Whose population, as of when, from what kind of file."""

    our_id: str
    partner: str
    as_of: str  # YYYYMMDD
    source: str  # audit_834 | extract

    def summary(self, digest: str, received_at: datetime, *, theirs: int, ours: int,
                confirmed: int) -> ReconciliationSummary:  # fmt: skip
        return ReconciliationSummary(
            our_id=self.our_id, partner=self.partner, as_of=self.as_of, digest=digest,
            source=self.source, received_at=iso(received_at), theirs=theirs, ours=ours,
            confirmed=confirmed,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Population:
    """An insurer's population file, read: whose, as of when, and its members."""

    our_id: str
    partner: str
    as_of: str  # YYYYMMDD
    source: str  # audit_834 | extract
    members: list[PopulationMember]

    @property
    def meta(self) -> PopulationMeta:
        return PopulationMeta(self.our_id, self.partner, self.as_of, self.source)


def same_coverage(ours: PopulationMember, theirs: PopulationMember) -> bool:
    """Plan and benefit dates agree: enough for the insurer's record to confirm ours."""
    return (ours.plan, ours.benefit_begin, ours.benefit_end or "") == (
        theirs.plan, theirs.benefit_begin, theirs.benefit_end or "",
    )  # fmt: skip


@dataclass(slots=True)
class Found:
    """What one pass over families found: each member's comparison, and counts."""

    comparisons: list[Comparison] = field(default_factory=list)
    ours: int = 0
    confirmed: int = 0
    named: set[str] = field(default_factory=set)  # the families the insurer's file names
    matched: set[str] = field(default_factory=set)  # ours it holds: member_key(family, key)
    deferred: set[str] = field(default_factory=set)  # families with one of ours not found here


def member_key(subscriber_id: str, key: tuple[str, str]) -> str:
    return f"{subscriber_id}\x1f{key[1]}"


def by_family(members: Iterable[PopulationMember]) -> dict[str, list[PopulationMember]]:
    families: dict[str, list[PopulationMember]] = {}
    for member in members:
        families.setdefault(member.subscriber_id, []).append(member)
    return families


def held_families(
    theirs: dict[str, list[PopulationMember]],
    meta: PopulationMeta,
    digest: str,
    received_at: datetime,
    store: PopulationStore,
    statuses: SetStatuses,
    config: PipelineConfig,
) -> Found:
    """The insurer's families (all of a file, or a part's), each held against ours (one
    family query each); a waiting enrollment the insurer holds with the same plan and dates
    is confirmed. Ours the insurer's members here do not include are left to
    ``missing_families`` (a family may continue in another part)."""
    found = Found(named=set(theirs))
    for subscriber_id in sorted(theirs):
        held, _ = held_once(theirs[subscriber_id])  # the rule ``compare`` follows
        ours, before, members = _ours(meta, subscriber_id, digest, received_at, store, statuses,
                                      config, held)  # fmt: skip
        found.confirmed += before
        for waiting in ours:
            match = held.get(waiting.member.key)
            if not waiting.confirmed and match is not None and same_coverage(waiting.member, match):
                found.confirmed += _confirm(waiting, meta, digest, received_at, store, members)
        for comparison in compare([o.member for o in ours], theirs[subscriber_id]):
            if comparison.side == Side.MISSING_AT_INSURER:
                found.deferred.add(subscriber_id)
                continue
            if comparison.ours_key is not None:
                found.matched.add(member_key(subscriber_id, comparison.ours_key))
                found.ours += 1
            found.comparisons.append(comparison)
    return found


def missing_families(
    meta: PopulationMeta,
    held: Found,
    received_at: datetime,
    store: PopulationStore,
    statuses: SetStatuses,
    config: PipelineConfig,
) -> Found:
    """Ours in force that the insurer's file does not hold: missing at the insurer. Read are
    the families the file does not name (the insurer's roster, in pages: never a scan) and
    those where one of ours was not found."""
    families = set(store.roster(meta.our_id, meta.partner))
    # Sets that code before the roster wrote, sent before it began (a table older than it, or
    # a container of that code still running through the deploy): their members, as before.
    since = store.roster_since(meta.our_id, meta.partner)
    for item in store.sets_before_roster(meta.our_id, meta.partner, since):
        statuses.remember(item)
        families.update(m.subscriber_id for m in store.members_of_set(item) if m.subscriber_id)
    found = Found()
    for subscriber_id in sorted((families - held.named) | held.deferred):
        ours, _, _ = _ours(meta, subscriber_id, "", received_at, store, statuses, config, {})
        missing = [o.member for o in ours
                   if member_key(subscriber_id, o.member.key) not in held.matched]  # fmt: skip
        found.ours += len(missing)
        found.comparisons += compare(missing, [])
    return found


def _ours(
    meta: PopulationMeta,
    subscriber_id: str,
    digest: str,
    received_at: datetime,
    store: PopulationStore,
    statuses: SetStatuses,
    config: PipelineConfig,
    held: dict[tuple[str, str], PopulationMember],
) -> tuple[list[OurMember], int, list[Any]]:
    """One family's enrollments in force (a waiting one only when the insurer holds it, else
    what is confirmed meanwhile), how many this population confirmed before (a redelivery
    counts them again), and the family's member items as read."""
    if not subscriber_id:
        return [], 0, []  # no REF*0F: nobody of ours to hold it against
    partition = store.family(meta.our_id, meta.partner, subscriber_id)
    if not partition.members:
        return [], 0, []
    ledger = family_ledger(store, statuses, meta.our_id, meta.partner, subscriber_id,
                           received_at, config.ack_sla_hours, partition=partition)  # fmt: skip
    items = {(m.pk, m.sk): m for m in partition.members}
    ours = []
    for held_or_not in ours_in_force(ledger, items, meta.as_of):
        if held_or_not.confirmed or held_or_not.member.key in held:
            ours.append(held_or_not)
        elif held_or_not.in_force is not None:
            ours.append(OurMember(held_or_not.in_force, True))
    mine = f"RCN-{digest}-" if digest else None
    before = sum(1 for r in ledger.resolutions if mine and r.resolution_id.startswith(mine))
    return ours, before, list(partition.members)


def _confirm(waiting: OurMember, meta: PopulationMeta, digest: str, received_at: datetime,
             store: PopulationStore, members: list[Any]) -> int:  # fmt: skip
    member = waiting.member
    resolution = Resolution(
        resolution_id=f"RCN-{digest}-{short_hash(*member.key, size=8)}",
        at=iso(received_at),
        by=f"reconciliation with {meta.partner} as of {meta.as_of}",
        reason="the insurer's population holds it with the same plan and benefit dates",
        member_id=member.member_id,
        refs=waiting.open_refs,
        kind=ClosedBy.RECONCILIATION,
    )
    added = store.add_resolution(meta.our_id, meta.partner, member.subscriber_id, resolution,
                                 len(waiting.open_refs), members=members)  # fmt: skip
    return int(added)  # 0: recorded by an earlier delivery, and counted in ``before``


def rcno_key(meta: PopulationMeta, digest: str, part: str = "") -> str:
    """Where a population's codes file is archived (a large file: one per part)."""
    return f"reports/reconciliation/{meta.partner}/{meta.as_of}/{digest}.rcno{part}.txt"


def reconcile_population(
    population: Population,
    digest: str,
    received_at: datetime,
    store: PopulationStore,
    archive: Archive | None,
    config: PipelineConfig,
) -> Outcome:
    """Hold ``population`` against ours and record the result (the same file twice records
    the same result: its summary, rows and confirmations are keyed by ``digest``)."""
    meta = population.meta
    statuses = SetStatuses(store)
    held = held_families(by_family(population.members), meta, digest, received_at, store,
                         statuses, config)  # fmt: skip
    missing = missing_families(meta, held, received_at, store, statuses, config)
    comparisons = held.comparisons + missing.comparisons
    comparisons.sort(key=lambda c: (c.subscriber_id, c.member_id or ""))
    summary = meta.summary(digest, received_at, theirs=len(population.members),
                           ours=held.ours + missing.ours, confirmed=held.confirmed)  # fmt: skip
    tally(summary, comparisons)
    rows = discrepancy_rows(meta.partner, comparisons)
    key = None
    if archive is not None:
        key = archive.put_lines(rcno_key(meta, digest), rcno_lines(comparisons),
                                "text/plain; charset=utf-8")  # fmt: skip
    store.put_reconciliation(summary, rows, key)
    return reconciled(summary, len(rows))


def reconciled(summary: ReconciliationSummary, discrepancies: int) -> Outcome:
    """The outcome of a population held against ours (counts and codes only)."""
    outcome = Outcome(FileOutcome.RECONCILIATION, members=summary.theirs)
    outcome.population = summary.theirs
    outcome.reconciled_discrepancies = discrepancies
    outcome.confirmed_by_reconciliation = summary.confirmed
    outcome.count(summary.partner, "ReconciliationDiscrepancies", discrepancies)
    outcome.count(summary.partner, "ConfirmedByReconciliation", summary.confirmed)
    outcome.reason = (
        f"{summary.partner} population as of {summary.as_of}: {summary.theirs} members theirs, "
        f"{summary.ours} ours, {summary.matched} matched, {summary.missing_at_insurer} missing "
        f"at the insurer, {summary.insurer_only} only at the insurer, {discrepancies} "
        f"discrepancies, {summary.confirmed} confirmed"
    )
    return outcome


# -- reading the insurer's file ---------------------------------------------------------------

_DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2})-?(\d{2})-?(\d{2})(?!\d)")


class Digesting(io.RawIOBase):
    """A stream that hashes what is read from it: a population file's identity is its
    content, so the same file delivered again (or uploaded again) is the same result."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self._hash = hashlib.blake2b(digest_size=8)

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._hash.update(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()


def _real_day(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y%m%d")
    except ValueError:
        return False
    return True


def looks_like_extract(head: bytes) -> bool:
    """A text file whose first line names columns, one about the subscriber (not X12): an
    extract, perhaps with a misnamed column, which then gets the extract's own refusal."""
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].lower()
    return b"subscriber" in first and (b"," in first or b"|" in first)


def audit_population(records: Iterable[object], key: Keyring, meta: PopulationMeta) -> Population:
    """The members of an audit 834 (every set BGN08 4 or RX), as compared."""
    members = [population_member(record, key) for record in records
               if type(record) is MemberTransaction]  # fmt: skip
    return Population(meta.our_id, meta.partner, meta.as_of, meta.source, members)


def extract_meta(ref: ObjectRef, our_ids: list[str]) -> PopulationMeta:
    """Whose population a reconciliation extract under ``inbound/<insurer id>/`` is, and as
    of when (the date its name carries, else its arrival); raises ValueError (whose file it
    is, unknown)."""
    partner = insurer_folder(ref.key)
    if partner is None:
        raise ValueError("a reconciliation extract must be under inbound/<insurer id>/")
    if len(our_ids) != 1:
        raise ValueError(  # the folder is not repeated: logs carry no part of a key
            "nothing was ever sent to the insurer this folder names: no population to hold its "
            "extract against"
            if not our_ids
            else f"the insurer this folder names receives from {len(our_ids)} of our sender ids; "
            "an extract names none, so it cannot be reconciled"
        )
    found = _DATE_IN_NAME.search(ref.key.rsplit("/", 1)[-1])
    named = "".join(found.groups()) if found else ""
    as_of = named if _real_day(named) else ref.received_at.strftime("%Y%m%d")
    return PopulationMeta(our_ids[0], partner, as_of, "extract")


def extract_population(
    stream: BinaryIO, ref: ObjectRef, key: Keyring, our_ids: list[str]
) -> Population:
    """The members of a reconciliation extract, held; raises ExtractRefused (line-numbered
    reasons) or ValueError (whose file it is, unknown)."""
    meta = extract_meta(ref, our_ids)
    return Population(meta.our_id, meta.partner, meta.as_of, meta.source,
                      read_extract(decoded_lines(stream), key))  # fmt: skip
