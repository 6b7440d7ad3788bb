"""One batch of the daily report (a child of the workflow's map): the rows and tallies of a
few hundred open sets (or one chunk of a very large set), or of additions that wait for an
effectuation.

Reads are batched: the sets and the additions 100 a request (BatchGetItem), their members
a query per lookup partition, each family once (a query), and every set status the
families' ledgers need 100 a request. A set whose every member the ledger finds closed
leaves the report's index (``ReportSource.unlist_set``), so the next report does not read
it again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from acktrack.domain.ports import ReportSource
from acktrack.domain.status import CONFIRMED, OPEN, Status
from acktrack.report.backlog import Backlog, SetTally
from acktrack.report.ledgers import Ledgers, awaiting_view, member_view, set_view
from acktrack.report.model import MemberView, Row, needs_members
from acktrack.report.plan import ReportRun
from acktrack.report.spool import RowSpool

if TYPE_CHECKING:
    from acktrack.domain.stored import StoredMember, StoredSet


@dataclass(slots=True)
class BatchResult:
    """What one batch found: its sets' tallies (in order), its rows (spooled), and what the
    additions awaiting an effectuation add to the counts."""

    index: int
    tallies: list[SetTally] = field(default_factory=list)
    rows: RowSpool = field(default_factory=RowSpool)
    both_open: list[Row] = field(default_factory=list)
    both_open_total: int = 0
    not_effectuated: int = 0
    late_by_partner: dict[str, int] = field(default_factory=dict)
    cells: dict[tuple[str, str, str], dict[str, int]] = field(default_factory=dict)
    reads: int = 0
    unlisted: int = 0  # sets taken out of the report's index

    def summary(self) -> dict[str, Any]:
        """Everything but the rows, as JSON (the rows go apart: ``rows_json``, ``rows_csv``)."""
        return {
            "index": self.index,
            "tallies": [tally.to_dict() for tally in self.tallies],
            "urgent": self.rows.urgent_entries(),
            "rows": len(self.rows),
            "both_open": [_row_dict(row) for row in self.both_open],
            "both_open_total": self.both_open_total,
            "not_effectuated": self.not_effectuated,
            "late_by_partner": self.late_by_partner,
            "cells": [[*key, value["members"], value["sets"]] for key, value in self.cells.items()],
            "reads": self.reads,
            "unlisted": self.unlisted,
        }


def _row_dict(row: Row) -> dict[str, Any]:
    return asdict(row)


def run_batch(store: ReportSource, run: ReportRun, batch: dict[str, Any]) -> BatchResult:
    """The rows and tallies of one batch (``plan.plan_batches`` made it)."""
    backlog = Backlog(run.as_of, run.sla_hours, RowSpool(keep=run.keep_rows))
    result = BatchResult(int(batch["index"]), rows=backlog.rows)
    ledgers = Ledgers(store, run.as_of, run.sla_hours)
    if batch.get("sets"):
        _sets(store, run, batch["sets"], backlog, ledgers, result)
    if batch.get("awaiting"):
        _awaiting(store, run, batch["awaiting"], backlog, ledgers, result)
    result.both_open, result.both_open_total = backlog.both_open, backlog.both_open_total
    result.not_effectuated = backlog.not_effectuated
    result.late_by_partner = dict(backlog.late_by_partner)
    result.cells = {key: dict(value) for key, value in backlog.table.items()}
    result.reads += ledgers.reads
    return result


def _sets(store: ReportSource, run: ReportRun, entries: list[list[Any]], backlog: Backlog,
          ledgers: Ledgers, result: BatchResult) -> None:  # fmt: skip
    wanted = [(str(entry[0]), str(entry[1])) for entry in entries]
    items = store.get_sets(wanted)
    result.reads += len(items)
    read: list[tuple[list[Any], StoredSet, list[StoredMember]]] = []
    for entry, key in zip(entries, wanted, strict=True):
        item = items.get(key)
        if item is None:
            continue  # gone since the listing (retention): nothing to report
        ledgers.statuses.remember(item)
        members: list[StoredMember] = []
        if needs_members(set_view(item), run.as_of, run.sla_hours):
            chunks = (int(entry[2]), int(entry[3])) if len(entry) > 2 else None
            members = list(store.members_of_set(item, chunks))
            result.reads += len(members)
        read.append((entry, item, members))
    ledgers.prefetch(member for _, _, members in read for member in members)
    for entry, item, members in read:
        views = sorted((member_view(m, ledgers.of(m)) for m in members), key=lambda v: v.ordinal)
        tally = backlog.add_rows(set_view(item), views)
        result.tallies.append(tally)
        closed = len(entry) <= 2 and not tally.open and Status(item.status) in OPEN
        if closed and store.unlist_set(item, _closers(views)):
            result.unlisted += 1


def _closers(views: list[MemberView]) -> set[tuple[str, str]]:
    return {key for view in views for key in view.closers}


def _awaiting(store: ReportSource, run: ReportRun, entries: list[list[Any]], backlog: Backlog,
              ledgers: Ledgers, result: BatchResult) -> None:  # fmt: skip
    members = store.get_members((str(pk), str(sk)) for pk, sk in entries)
    sets = store.get_sets({(m.set_pk, m.set_sk) for m in members.values()})
    result.reads += len(members) + len(sets)
    for item in sets.values():
        ledgers.statuses.remember(item)
    found = [members[(str(pk), str(sk))] for pk, sk in entries if (str(pk), str(sk)) in members]
    ledgers.prefetch(m for m in found if _needs_family(m))
    for member in found:
        accepted = sets.get((member.set_pk, member.set_sk))
        # The member's own status: in a set an error report rejected after its 999, the
        # members no row names keep what the 999 said.
        own = ledgers.statuses.get(member.set_pk, member.set_sk)
        if accepted is None or own is None or own.status_of(member) not in CONFIRMED \
                or member.effectuated_by:  # fmt: skip
            continue  # rejected or pending sets are reported as such; effectuated since
        backlog.add_awaiting(awaiting_view(member, accepted, ledgers), run.effectuation_days)


def _needs_family(member: StoredMember) -> bool:
    """The person's identity needs its family (a subscriber, or no member id)."""
    return bool(member.subscriber_id) and not (
        member.member_id and member.subscriber_indicator != "Y"
    )


def merge_cells(into: dict[tuple[str, str, str], dict[str, int]], cells: list[list[Any]]) -> None:
    for partner, status, bucket, members, sets in cells:
        cell = into.setdefault((partner, status, bucket), {"members": 0, "sets": 0})
        cell["members"] += int(members)
        cell["sets"] += int(sets)
