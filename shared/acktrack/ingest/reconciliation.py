"""Monthly reconciliation: an insurer's whole population (an audit 834, BGN08 4 or RX, or a
reconciliation extract) held against the enrollments we hold in force with it, field by
field (``domain.reconciliation``), with no personal value kept.

What it writes: the summary and its discrepancy rows (the report reads them), an RCNO-style
file of codes in the reports bucket, and a resolution confirming each waiting enrollment
the insurer holds with the same plan and dates (``confirmed_by_reconciliation``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from acktrack.correlate.enrollments import SetStatuses, family_ledger
from acktrack.correlate.population import OurMember, ours_in_force
from acktrack.domain.identifiers import clip, short_hash
from acktrack.domain.ledger import ClosedBy, Resolution
from acktrack.domain.population import population_member, read_extract
from acktrack.domain.ports import (
    Archive,
    Outcome,
    PipelineConfig,
    PopulationStore,
    insurer_folder,
)
from acktrack.domain.reconciliation import (
    PopulationMember,
    ReconciliationSummary,
    compare,
    discrepancy_rows,
    rcno_lines,
    tally,
)
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef, iso
from acktrack.x12 import MemberTransaction


@dataclass(frozen=True, slots=True)
class Population:
    """An insurer's population file, read: whose, as of when, and its members."""

    our_id: str
    partner: str
    as_of: str  # YYYYMMDD
    source: str  # audit_834 | extract
    members: list[PopulationMember]


def same_coverage(ours: PopulationMember, theirs: PopulationMember) -> bool:
    """Plan and benefit dates agree: enough for the insurer's record to confirm ours."""
    return (ours.plan, ours.benefit_begin, ours.benefit_end or "") == (
        theirs.plan, theirs.benefit_begin, theirs.benefit_end or "",
    )  # fmt: skip


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
    our, partner = population.our_id, population.partner
    theirs = {member.key: member for member in population.members}
    statuses = SetStatuses(store)
    families: set[str] = set()
    for item in store.sets_since(our, partner, "0"):  # every set (sent times sort after "0")
        statuses.remember(item)
        families.update(m.subscriber_id for m in store.members_of_set(item) if m.subscriber_id)
    ours: list[PopulationMember] = []
    confirmations: list[tuple[OurMember, PopulationMember]] = []
    for subscriber_id in sorted(families):
        partition = store.family(our, partner, subscriber_id)
        ledger = family_ledger(store, statuses, our, partner, subscriber_id, received_at,
                               config.ack_sla_hours, partition=partition)  # fmt: skip
        items = {(m.pk, m.sk): m for m in partition.members}
        for held in ours_in_force(ledger, items, population.as_of):
            match = theirs.get(held.member.key)
            if held.confirmed:
                ours.append(held.member)
            elif match is not None:  # waiting: compared only when the insurer holds it
                ours.append(held.member)
                if same_coverage(held.member, match):
                    confirmations.append((held, match))
    at = iso(received_at)
    confirmed = 0
    for held, _ in confirmations:
        member = held.member
        resolution = Resolution(
            resolution_id=f"RCN-{digest}-{short_hash(*member.key, size=8)}",
            at=at,
            by=f"reconciliation with {partner} as of {population.as_of}",
            reason="the insurer's population holds it with the same plan and benefit dates",
            member_id=member.member_id,
            refs=held.open_refs,
            kind=ClosedBy.RECONCILIATION,
        )
        store.add_resolution(our, partner, member.subscriber_id, resolution, len(held.open_refs))
        confirmed += 1
    comparisons = compare(ours, theirs.values())
    summary = ReconciliationSummary(
        our_id=our, partner=partner, as_of=population.as_of, digest=digest,
        source=population.source, received_at=at, theirs=len(theirs), ours=len(ours),
        confirmed=confirmed,
    )  # fmt: skip
    tally(summary, comparisons)
    rows = discrepancy_rows(partner, comparisons)
    rcno_key = None
    if archive is not None:
        rcno_key = archive.put_lines(
            f"reports/reconciliation/{partner}/{population.as_of}/{digest}.rcno.txt",
            rcno_lines(comparisons),
            "text/plain; charset=utf-8",
        )
    store.put_reconciliation(summary, rows, rcno_key)
    outcome = Outcome(FileOutcome.RECONCILIATION, members=len(theirs))
    outcome.population = len(theirs)
    outcome.reconciled_discrepancies = len(rows)
    outcome.confirmed_by_reconciliation = confirmed
    outcome.count(partner, "ReconciliationDiscrepancies", len(rows))
    outcome.count(partner, "ConfirmedByReconciliation", confirmed)
    outcome.reason = (
        f"{partner} population as of {population.as_of}: {len(theirs)} members theirs, "
        f"{len(ours)} ours, {summary.matched} matched, {summary.missing_at_insurer} missing at "
        f"the insurer, {summary.insurer_only} only at the insurer, {len(rows)} discrepancies, "
        f"{confirmed} confirmed"
    )
    return outcome


# -- reading the insurer's file ---------------------------------------------------------------

_DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2})-?(\d{2})-?(\d{2})(?!\d)")


def looks_like_extract(head: bytes) -> bool:
    """A text file whose first line names the extract's columns (not X12)."""
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].lower()
    return b"subscriber_id" in first and (b"," in first or b"|" in first)


def audit_population(
    records: Iterable[object], key: bytes | None, received_at: datetime
) -> Population:
    """The members of an audit 834 (every set BGN08 4 or RX), as compared."""
    members: list[PopulationMember] = []
    our = partner = as_of = ""
    for record in records:
        if type(record) is not MemberTransaction:
            continue
        assert isinstance(record, MemberTransaction)
        if not members:
            our, partner = clip(record.receiver_id), clip(record.sender_id)
            as_of = record.enrollment.created_date or received_at.strftime("%Y%m%d")
        members.append(population_member(record, key))
    return Population(our, partner, as_of, "audit_834", members)


def extract_population(
    stream: BinaryIO, ref: ObjectRef, key: bytes | None, our_ids: list[str]
) -> Population:
    """The members of a reconciliation extract under ``inbound/<insurer id>/``; raises
    ExtractRefused (line-numbered reasons) or ValueError (whose file it is, unknown)."""
    partner = insurer_folder(ref.key)
    if partner is None:
        raise ValueError("a reconciliation extract must be under inbound/<insurer id>/")
    if len(our_ids) != 1:
        raise ValueError(
            f"nothing was ever sent to insurer {partner!r}: no population to hold its extract against"
            if not our_ids
            else f"insurer {partner!r} receives from {len(our_ids)} of our sender ids; an extract "
            "names none, so it cannot be reconciled"
        )
    found = _DATE_IN_NAME.search(ref.key.rsplit("/", 1)[-1])
    as_of = "".join(found.groups()) if found else ref.received_at.strftime("%Y%m%d")
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    return Population(our_ids[0], partner, as_of, "extract", read_extract(text, key))
