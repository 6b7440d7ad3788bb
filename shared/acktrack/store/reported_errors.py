"""Rows of an insurer's CSV error report (``domain.error_report``), kept in the family
partition they are about: created once, and applied to the set whose member they name by
the family's reconciliation, whichever came first, the 834 or the report. Applying one
records an entry on that set (``rejected_after_accept``, as an 824 would) and marks the row
applied, so a second reconciliation applies nothing again."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from acktrack.domain.acks import AckEntry
from acktrack.domain.error_report import ReportedError, matched_member, row_entry
from acktrack.domain.identifiers import short_hash
from acktrack.domain.status import adding, adding_all
from acktrack.domain.tracked import iso
from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure
from acktrack.store.members import expiry
from acktrack.store.models import ErrorRowItem, MemberItem, SetItem


class ReportedErrorStore(TableStore):
    def put_reported_errors(
        self, our: str, partner: str, source: str, received_at: datetime,
        rows: Iterable[ReportedError],
    ) -> int:  # fmt: skip
        """Keep each row once (``source``: the file version it came in); how many were new."""
        created = 0
        for row in rows:
            item = self._row_item(our, partner, source, received_at, row)
            try:
                item.save(condition=ErrorRowItem.pk.does_not_exist())
                created += 1
            except PutError as error:
                if not conditional_failure(error):
                    raise
        return created

    def _row_item(self, our: str, partner: str, source: str, received_at: datetime,
                  row: ReportedError) -> ErrorRowItem:  # fmt: skip
        at = iso(received_at)
        return ErrorRowItem(
            keys.family_pk(our, partner, row.subscriber_id),
            f"Y#{short_hash(source, str(row.line), size=24)}",
            our_id=our, partner=partner, subscriber_id=row.subscriber_id,
            member_id=row.member_id, transaction_control=row.transaction_control,
            error_code=row.error_code, message=row.message, received_at=at,
            expires=expiry(at, self.retention_days),
        )  # fmt: skip

    def rows_to_apply(
        self, our: str, partner: str, source: str, received_at: datetime,
        rows: Iterable[ReportedError],
    ) -> list[ErrorRowItem]:  # fmt: skip
        """The rows of one report as kept, but those applied already (a redelivery): 100 a
        request, strongly consistent."""
        items = [self._row_item(our, partner, source, received_at, row) for row in rows]
        stored: dict[tuple[str, str], ErrorRowItem] = {}
        wanted = sorted({(item.pk, item.sk) for item in items})
        for start in range(0, len(wanted), 100):
            for one in ErrorRowItem.batch_get(wanted[start : start + 100], consistent_read=True):
                stored[(one.pk, one.sk)] = one
        kept = [stored.get((item.pk, item.sk), item) for item in items]
        return [item for item in kept if not item.applied_to]

    def family_members(self, our: str, partner: str, subscriber_id: str) -> list[MemberItem]:
        """A family's member transactions (one query: its ``M#`` items only)."""
        return list(MemberItem.query(keys.family_pk(our, partner, subscriber_id),
                                     MemberItem.sk.startswith("M#"), consistent_read=True))  # fmt: skip

    def add_entries(self, changes: Iterable[tuple[SetItem, list[tuple[str, AckEntry]]]]) -> None:
        """Entries recorded on sets, each set written once whatever its entries, many sets a
        transaction (one counter item a transaction; ``set_acks``)."""
        planned = [(item, adding_all(entries), f"error report {item.sk[-12:]}")
                   for item, entries in changes]  # fmt: skip
        for _ in self._set_acks.change_many(planned):
            pass

    def mark_rows_applied(self, applied: Iterable[tuple[ErrorRowItem, tuple[str, str]]]) -> int:
        """Each row marked applied to its set, once; how many were marked now."""
        return sum(_mark_applied(row, key) for row, key in applied)


def _mark_applied(row: ErrorRowItem, key: tuple[str, str]) -> int:
    try:
        row.update(actions=[ErrorRowItem.applied_to.set(f"{key[0]}|{key[1]}")],
                   condition=ErrorRowItem.applied_to.does_not_exist())  # fmt: skip
        return 1
    except UpdateError as error:
        if not conditional_failure(error):
            raise
        return 0


def apply_reported(
    rows: Iterable[ErrorRowItem], members: Iterable[MemberItem],
    change: Callable[[SetItem, str, AckEntry], Any],
) -> int:  # fmt: skip
    """Apply each row not applied yet to the set of the member it names (the latest such
    member transaction in that ST02), through ``change``; the count applied now."""
    members = list(members)
    applied = 0
    for row in rows:
        if row.applied_to:
            continue
        member = matched_member(row, members)
        if member is None:
            continue  # its 834 is not tracked yet: the 834's reconciliation applies it
        try:
            target = SetItem.get(member.set_pk, member.set_sk, consistent_read=True)
        except SetItem.DoesNotExist:
            continue
        entry_id, entry = row_entry(row, member)
        change(target, entry_id, entry)
        applied += _mark_applied(row, (member.set_pk, member.set_sk))
    return applied


def change_with(set_acks: Any) -> Callable[[SetItem, str, AckEntry], Any]:
    """``apply_reported``'s change: one entry recorded on a set, its status refolded."""
    return lambda item, entry_id, entry: set_acks.change(item, adding(entry_id, entry), entry_id)
