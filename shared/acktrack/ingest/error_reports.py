"""An insurer's CSV error report (``inbound/<insurer id>/errors/``): its business rejections
after the 999, row by row (``domain.error_report``).

The file is read whole first: a column that is not one of the five, or one bad row,
refuses it (quarantined with the reason). Then each row is kept in the family partition it
is about, and each of those families is reconciled, which applies a row to the set of the
member it names (``rejected_after_accept``); a row whose 834 is not tracked yet waits there,
and that 834's reconciliation applies it. At most ``MAX_ROWS`` rows (one invocation).
"""

from __future__ import annotations

from acktrack.domain.error_report import ErrorReportRefused, read_error_rows
from acktrack.domain.family import Family
from acktrack.domain.ports import (
    EnrollmentStore,
    ObjectSource,
    Outcome,
    PipelineConfig,
    insurer_folder,
)
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.expected import our_ids
from acktrack.ingest.steps import quarantine, reconcile_families

MAX_BYTES = 4 * 1024 * 1024  # well over MAX_ROWS rows of ids, codes and a message each


def ingest_error_report(
    ref: ObjectRef, source: ObjectSource, store: EnrollmentStore, config: PipelineConfig
) -> Outcome:
    """Keep and apply every row of one error report, or quarantine it with the reason."""
    partner = insurer_folder(ref.key) or ""
    if (ref.size or 0) > MAX_BYTES:
        return quarantine(ref, source, store, f"an error report over {MAX_BYTES // 2**20} MB: "
                                              "split it into smaller files")  # fmt: skip
    with source.open(ref, 0, MAX_BYTES + 1) as stream:
        data = stream.read(MAX_BYTES + 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return quarantine(ref, source, store, "not an error report: not UTF-8 text")
    try:
        rows = read_error_rows(text.splitlines())
    except ErrorReportRefused as error:
        return quarantine(ref, source, store, f"not an error report: {error}")
    ours = our_ids({partner}, store, config)
    if isinstance(ours, str):
        return quarantine(ref, source, store, ours)
    our = ours[partner]
    version = f"{ref.bucket}/{ref.key}/{ref.version_id or '-'}"
    store.put_reported_errors(our, partner, version, ref.received_at, rows)
    # Applied many sets a transaction here; the families' reconciliation then finds them
    # applied (and applies, later, what waits for its 834).
    store.apply_reported_errors(our, partner, version, ref.received_at, rows)
    outcome = Outcome(FileOutcome.ERROR_REPORT, acknowledgments=len(rows))
    outcome.count(partner, "reported_errors", len(rows))
    families: set[Family] = {(our, partner, row.subscriber_id) for row in rows}
    reconcile_families(store, families, outcome, config.ack_sla_hours)
    store.record_object(ref, outcome)
    return outcome
