"""An insurer's CSV error report (``inbound/<insurer id>/errors/``): its business rejections
after the 999, row by row (``domain.error_report``).

The file is read whole first: a column that is not one of the five, or one bad row,
refuses it (quarantined with the reason). Then each row is kept in the family partition it
is about, and each of those families is reconciled, which applies a row to the set of the
member it names (``rejected_after_accept``); a row whose 834 is not tracked yet waits there,
and that 834's reconciliation applies it. At most ``MAX_ROWS`` rows (one invocation).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from acktrack.domain.acks import AckEntry
from acktrack.domain.error_report import (
    ErrorReportRefused,
    ReportedError,
    StoredErrorRow,
    matched_member,
    read_error_rows,
    row_entry,
)
from acktrack.domain.family import Family
from acktrack.domain.folders import insurer_folder
from acktrack.domain.ports import (
    ErrorReportStore,
    ObjectSource,
    Outcome,
    PipelineConfig,
    ReportedErrors,
)
from acktrack.domain.status import FileOutcome, Status, adding_all, refold, rejected_people
from acktrack.domain.stored import StoredSet
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.expected import our_ids
from acktrack.ingest.families import reconcile_families
from acktrack.ingest.steps import quarantine

MAX_BYTES = 4 * 1024 * 1024  # well over MAX_ROWS rows of ids, codes and a message each


def ingest_error_report(
    ref: ObjectRef, source: ObjectSource, store: ErrorReportStore, config: PipelineConfig
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
    outcome = Outcome(FileOutcome.ERROR_REPORT, acknowledgments=len(rows))
    apply_error_rows(store, our, partner, version, ref.received_at, rows, outcome)
    outcome.count(partner, "reported_errors", len(rows))
    families: set[Family] = {(our, partner, row.subscriber_id) for row in rows}
    reconcile_families(store, families, outcome, config.ack_sla_hours)
    store.record_object(ref, outcome)
    return outcome


def apply_error_rows(
    store: ReportedErrors, our: str, partner: str, source: str, received_at: datetime,
    rows: Sequence[ReportedError], outcome: Outcome | None = None,
) -> int:  # fmt: skip
    """Apply each row of one report whose 834 is tracked to the set of the member it names:
    one query a family, the sets read 100 a request and each written once whatever its
    rows, many a transaction (a report of 3,000 rows writes no item once a row). A row whose
    834 is not tracked yet waits in its family; that 834's reconciliation applies it. How
    many rows were applied now (none, delivered again)."""
    waiting = store.rows_to_apply(our, partner, source, received_at, rows)
    by_family: dict[str, list[StoredErrorRow]] = {}
    for row in waiting:
        by_family.setdefault(row.subscriber_id, []).append(row)
    targets: dict[tuple[str, str], list[tuple[StoredErrorRow, tuple[str, AckEntry]]]] = {}
    for subscriber_id, family_rows in sorted(by_family.items()):
        members = store.family_members(our, partner, subscriber_id)
        for row in family_rows:
            member = matched_member(row, members)
            if member is not None:
                targets.setdefault((member.set_pk, member.set_sk), []).append(
                    (row, row_entry(row, member))
                )
    found = store.get_sets(targets)
    wanted = [key for key in sorted(targets) if key in found]
    changes = [(found[key], [entry for _, entry in targets[key]]) for key in wanted]
    if outcome is not None:  # the MembersRejected metric: the member transactions now rejected
        for item, entries in changes:  # (as read, before the write changes them)
            if rejected := newly_rejected(item, entries):
                outcome.count(partner, "rejected", rejected)
    store.add_entries(changes)
    return store.mark_rows_applied((row, key) for key in wanted for row, _ in targets[key])


def newly_rejected(item: StoredSet, entries: list[tuple[str, AckEntry]]) -> int:
    """The member transactions ``entries`` reject on a set that were not rejected before."""
    before = dict(item.acks.as_dict() if hasattr(item.acks, "as_dict") else item.acks or {})
    after = refold(before, adding_all(entries))
    members = int(item.members)
    was = rejected_people(Status(item.status), before, members)
    return max(0, rejected_people(after.status, {**before, **after.updates}, members) - was)
