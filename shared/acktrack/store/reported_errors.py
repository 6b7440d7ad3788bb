"""Rows of an insurer's CSV error report (``domain.error_report``), kept in the family
partition they are about: created once, and applied to the set whose member they name by
the family's reconciliation, whichever came first, the 834 or the report. Applying one
records an entry on that set (``rejected_after_accept``, as an 824 would) and marks the row
applied, so a second reconciliation applies nothing again."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from acktrack.domain.acks import AckEntry, Entries
from acktrack.domain.error_report import ReportedError
from acktrack.domain.identifiers import short_hash
from acktrack.domain.status import Event, adding
from acktrack.domain.tracked import iso
from acktrack.store import keys
from acktrack.store.base import TableStore
from acktrack.store.dynamo import conditional_failure
from acktrack.store.members import expiry
from acktrack.store.models import ErrorRowItem, MemberItem, SetItem

ERROR_REPORT = "error_report"  # the entry kind, beside "999", "TA1" and "824"


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

    def apply_reported_errors(
        self, our: str, partner: str, source: str, received_at: datetime,
        rows: Iterable[ReportedError],
    ) -> int:  # fmt: skip
        """Apply the rows whose 834 is tracked, many sets a transaction (one counter item a
        transaction) and each set once whatever its rows: a report of 3,000 rows writes no
        item once a row. A row whose 834 is not tracked yet waits for that 834's family
        reconciliation (``apply_reported``). How many rows were applied."""
        items = [self._row_item(our, partner, source, received_at, row) for row in rows]
        stored: dict[tuple[str, str], ErrorRowItem] = {}
        wanted_rows = sorted({(item.pk, item.sk) for item in items})
        for start in range(0, len(wanted_rows), 100):  # a redelivery: rows applied already
            for one in ErrorRowItem.batch_get(
                wanted_rows[start : start + 100], consistent_read=True
            ):
                stored[(one.pk, one.sk)] = one
        by_family: dict[str, list[ErrorRowItem]] = {}
        for item in items:
            kept = stored.get((item.pk, item.sk), item)
            if not kept.applied_to:
                by_family.setdefault(item.pk, []).append(kept)
        targets: dict[tuple[str, str], list[tuple[str, AckEntry, ErrorRowItem]]] = {}
        for family, waiting in sorted(by_family.items()):
            members = list(MemberItem.query(family, MemberItem.sk.startswith("M#"),
                                            consistent_read=True))  # fmt: skip
            for item in waiting:
                member = _target(item, members)
                if member is not None:
                    entry_id = f"{ERROR_REPORT}-{item.sk[2:]}"
                    targets.setdefault((member.set_pk, member.set_sk), []).append(
                        (entry_id, _entry(entry_id, item, member), item)
                    )
        found: dict[tuple[str, str], SetItem] = {}
        wanted = sorted(targets)
        for start in range(0, len(wanted), 100):
            for set_item in SetItem.batch_get(wanted[start : start + 100], consistent_read=True):
                found[(set_item.pk, set_item.sk)] = set_item
        changes = [(found[key], _all([adding(entry_id, entry) for entry_id, entry, _ in targets[key]]),
                    f"error report {key[1][-12:]}") for key in wanted if key in found]  # fmt: skip
        for _ in self._set_acks.change_many(changes):
            pass
        applied = 0
        for key in (key for key in wanted if key in found):
            for _, _, item in targets[key]:
                applied += _mark_applied(item, key)
        return applied


def _all(changes: list[Callable[[Entries], Entries]]) -> Callable[[Entries], Entries]:
    """One change made of several, applied in order (each set written once)."""
    return lambda entries: functools.reduce(lambda done, change: change(done), changes, entries)


def _target(row: ErrorRowItem, members: Iterable[MemberItem]) -> MemberItem | None:
    """The member transaction a row names, sent before the report came (senders restart
    ST02 in every file: whatever comes later never decides which set a row meant)."""
    sent = sorted(members, key=lambda m: m.sent_at, reverse=True)
    return next((m for m in sent if _names(row, m) and m.sent_at <= row.received_at), None)


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
        member = _target(row, members)
        if member is None:
            continue  # its 834 is not tracked yet: the 834's reconciliation applies it
        try:
            target = SetItem.get(member.set_pk, member.set_sk, consistent_read=True)
        except SetItem.DoesNotExist:
            continue
        entry_id = f"{ERROR_REPORT}-{row.sk[2:]}"
        change(target, entry_id, _entry(entry_id, row, member))
        applied += _mark_applied(row, (member.set_pk, member.set_sk))
    return applied


def _names(row: ErrorRowItem, member: MemberItem) -> bool:
    if member.set_sk.rsplit("#", 1)[-1] != row.transaction_control:
        return False
    if row.member_id:
        return member.member_id == row.member_id
    return member.subscriber_indicator == "Y"


def _entry(entry_id: str, row: ErrorRowItem, member: MemberItem) -> AckEntry:
    """The row as an entry on its set, pinned to the member transaction it was matched to
    (its ordinal in the set: two rows naming one person count one)."""
    pinned = {"subscriber_id": row.subscriber_id, "transaction": member.sk.rsplit("#", 1)[-1],
              **({"member_id": row.member_id} if row.member_id else {})}  # fmt: skip
    return {"id": entry_id, "kind": ERROR_REPORT, "event": Event.SET_REJECTED_AFTER_ACCEPT.value,
            "status": "R", "codes": [row.error_code], "at": row.received_at,
            "note": row.message, "errors": [], "pinned": pinned}  # fmt: skip


def change_with(set_acks: Any) -> Callable[[SetItem, str, AckEntry], Any]:
    """``apply_reported``'s change: one entry recorded on a set, its status refolded."""
    return lambda item, entry_id, entry: set_acks.change(item, adding(entry_id, entry), entry_id)
