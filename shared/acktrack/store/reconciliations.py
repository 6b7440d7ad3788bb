"""Reconciliations: one summary item per insurer file, its discrepancy rows in chunks beside
it (partition RECON#<our>#<partner>), and the report index partition RECON by arrival."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

from pynamodb.exceptions import TransactWriteError

from acktrack.domain.events import reconciliation_held
from acktrack.domain.reconciliation import ReconciliationSummary, action_rank
from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure, transact
from acktrack.store.members import expiry
from acktrack.store.models import DiscrepancyChunkItem, ReconciliationItem
from acktrack.store.outbox import saving_with

CHUNK_ROWS = 500  # discrepancy rows per item (well under 400 KB)


class ReconciliationStore(TableStore):
    def put_discrepancies(
        self, summary: ReconciliationSummary, part: str, rows: list[dict[str, Any]]
    ) -> int:
        """Write one part's discrepancy rows in chunks; return how many chunks. A chunk holds
        rows of one rank of ``ACTION_ORDER``, its key led by the rank: the report reads what
        needs action first."""
        pk = keys.reconciliation_pk(summary.our_id, summary.partner)
        sk = keys.reconciliation_sk(summary.as_of, summary.digest)
        expires = expiry(summary.received_at, self.retention_days)
        ordered = sorted(rows, key=lambda row: (action_rank(row), row["subscriber_id"],
                                                row["member_id"] or "", row["field"]))  # fmt: skip
        written = 0
        with DiscrepancyChunkItem.batch_write() as batch:
            for rank, ranked in groupby(ordered, key=action_rank):
                group = list(ranked)
                for number, start in enumerate(range(0, len(group), CHUNK_ROWS)):
                    batch.save(DiscrepancyChunkItem(
                        pk, f"{sk}#D#{rank}{part}{number:06d}",
                        rows=group[start : start + CHUNK_ROWS], expires=expires,
                    ))  # fmt: skip
                    written += 1
        return written

    def put_reconciliation(
        self, summary: ReconciliationSummary, rows: list[dict[str, Any]], rcno_key: str | None
    ) -> None:
        """Write the last rows, then the summary that names them all (a redelivery writes
        the same)."""
        pk = keys.reconciliation_pk(summary.our_id, summary.partner)
        sk = keys.reconciliation_sk(summary.as_of, summary.digest)
        expires = expiry(summary.received_at, self.retention_days)
        chunks = summary.chunks + self.put_discrepancies(summary, "z", rows)
        item = ReconciliationItem(
            pk,
            sk,
            our_id=summary.our_id,
            partner=summary.partner,
            as_of=summary.as_of,
            source=summary.source,
            received_at=summary.received_at,
            theirs=summary.theirs,
            ours=summary.ours,
            matched=summary.matched,
            discrepancies=summary.discrepancies + len(rows),
            missing_at_insurer=summary.missing_at_insurer,
            insurer_only=summary.insurer_only,
            confirmed=summary.confirmed,
            by_field=summary.by_field,
            chunks=chunks,
            rcno_key=rcno_key,
            expires=expires,
            rk=keys.RECONCILIATIONS,
            rs=f"{summary.received_at}#{pk}#{sk}",
        )
        counts = {"discrepancies": int(item.discrepancies), "matched": int(summary.matched),
                  "missing_at_insurer": int(summary.missing_at_insurer),
                  "insurer_only": int(summary.insurer_only)}  # fmt: skip
        notice = reconciliation_held(summary.our_id, summary.partner, summary.as_of,
                                     summary.digest, counts, summary.received_at)  # fmt: skip
        if notice is None:
            item.save()
            return
        try:  # the first write announces it; a redelivery writes the same summary, no event
            transact(self._connection(), saving_with(item, ReconciliationItem.pk.does_not_exist(),
                                                     [notice]), "reconciliation")  # fmt: skip
        except TransactWriteError as error:
            if not conditional_failure(error):
                raise
            item.save()

    def reconciliations(self, since: str) -> Iterator[ReconciliationItem]:
        """Reconciliations that arrived at or after ``since`` (the report's window)."""
        yield from ReconciliationItem.report.query(
            keys.RECONCILIATIONS, ReconciliationItem.rs >= since
        )

    def discrepancy_rows(self, item: ReconciliationItem) -> Iterator[dict[str, Any]]:
        for chunk in DiscrepancyChunkItem.query(
            item.pk, DiscrepancyChunkItem.sk.startswith(f"{item.sk}#D#")
        ):
            yield from chunk.rows or []
