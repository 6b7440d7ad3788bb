"""Where a person's transactions meet their answers: one subscriber's enrollment ledger,
read from its family partition and the status of each transaction's set.

The ledger is computed when it is read, never stored: a 999 moves only its sets (it stays
O(sets)), and the ledger follows from the facts whatever order they arrived in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from acktrack.domain.acks import Entries
from acktrack.domain.hashing import person_tokens
from acktrack.domain.ledger import Attempt, ClosedBy, Enrollment, Resolution, enrollments
from acktrack.domain.ports import FamilyReader
from acktrack.domain.status import Status, member_status

if TYPE_CHECKING:
    from acktrack.domain.stored import FamilyPartition, StoredMember, StoredResolution, StoredSet


@dataclass(frozen=True, slots=True)
class SetFacts:
    status: Status
    status_at: str | None
    interchange_control: str
    group_control: str
    transaction_control: str
    # A set rejected after its 999: its entries, for each member's own status (most sets
    # keep none here: the cache holds 50,000 sets).
    entries: Entries | None = None

    def status_of(self, member: StoredMember) -> Status:
        if self.entries is None:
            return self.status
        return member_status(self.status, self.entries, subscriber_id=member.subscriber_id,
                             member_id=member.member_id,
                             subscriber=member.subscriber_indicator == "Y",
                             ordinal=int(member.ordinal))  # fmt: skip


class SetStatuses:
    """Set statuses by key, read once each and kept in a bounded cache."""

    def __init__(self, store: FamilyReader, size: int = 50_000) -> None:
        self._store = store
        self._size = size
        self._known: OrderedDict[tuple[str, str], SetFacts | None] = OrderedDict()
        self.reads = 0

    def remember(self, item: StoredSet) -> None:
        self._put((item.pk, item.sk), _facts(item))

    def prefetch(self, wanted: Iterable[tuple[str, str]]) -> None:
        """Read the statuses not known yet, 100 a request."""
        missing = [key for key in set(wanted) if key not in self._known]
        if not missing:
            return
        found = self._store.get_sets(missing)
        self.reads += len(found)
        for key in missing:
            item = found.get(key)
            self._put(key, _facts(item) if item is not None else None)

    def get(self, pk: str, sk: str) -> SetFacts | None:
        key = (pk, sk)
        if key in self._known:
            self._known.move_to_end(key)
            return self._known[key]
        self.reads += 1
        item = self._store.get_set(pk, sk)
        facts = _facts(item) if item is not None else None
        self._put(key, facts)
        return facts

    def _put(self, key: tuple[str, str], facts: SetFacts | None) -> None:
        self._known[key] = facts
        self._known.move_to_end(key)
        while len(self._known) > self._size:
            self._known.popitem(last=False)


def _facts(item: StoredSet) -> SetFacts:
    status = Status(item.status)
    entries = (dict(item.acks.as_dict()) if item.acks is not None else {}
               ) if status == Status.REJECTED_AFTER_ACCEPT else None  # fmt: skip
    return SetFacts(status, item.status_at, item.interchange_control, item.group_control,
                    item.transaction_control, entries)  # fmt: skip


def attempt_of(member: StoredMember, facts: SetFacts | None) -> Attempt:
    coverages: list[dict[str, Any]] = list(member.coverages or [])
    lines = tuple(dict.fromkeys(c.get("insurance_line") or "" for c in coverages))
    return Attempt(
        ref=(member.pk, member.sk),
        sent_key=(member.sent_at, member.set_pk, member.set_sk, f"{int(member.ordinal):07d}"),
        sent_at=member.sent_at,
        subscriber_id=member.subscriber_id,
        member_id=member.member_id,
        subscriber_indicator=member.subscriber_indicator,
        relationship=member.relationship,
        maintenance_type=member.maintenance_type,
        lines=lines,
        begins=tuple(
            (c.get("insurance_line") or "", c.get("benefit_begin") or "") for c in coverages
        ),
        status=facts.status_of(member) if facts else Status.SENT,
        status_at=facts.status_at if facts else None,
        effectuated_at=member.effectuated_at,
        interchange_control=facts.interchange_control if facts else "",
        group_control=facts.group_control if facts else "",
        transaction_control=facts.transaction_control if facts else "",
        ordinal=int(member.ordinal),
        insurer_ids=frozenset(i for i in (member.carrier_member_id, member.insurer_member_id) if i),
        person=person_tokens(member.hashes),
    )


def resolution_of(item: StoredResolution) -> Resolution:
    refs = frozenset(tuple(ref.split("|", 1)) for ref in item.refs or ())
    return Resolution(item.resolution_id, item.at, item.by, item.reason, item.member_id,
                      refs=refs, kind=ClosedBy(item.kind or ClosedBy.OPERATOR),  # type: ignore[arg-type]
                      caller=item.caller or "")  # fmt: skip


@dataclass(slots=True)
class FamilyLedger:
    """One subscriber's enrollments with one insurer, and how many items were read."""

    enrollments: list[Enrollment]
    resolutions: list[Resolution]
    reads: int = 0

    def of(self, ref: tuple[str, str]) -> list[Enrollment]:
        """The enrollments a member transaction belongs to."""
        return [e for e in self.enrollments if ref in e.states]


def family_ledger(
    store: FamilyReader,
    statuses: SetStatuses,
    our: str,
    partner: str,
    subscriber_id: str | None,
    as_of: datetime,
    sla_hours: float,
    *,
    alone: Iterable[StoredMember] = (),
    partition: FamilyPartition | None = None,
) -> FamilyLedger:
    """The ledger of one subscriber id. Without a subscriber id (no REF*0F) there is no family
    to read: the transactions in ``alone`` are each their own enrollment. ``partition``: the
    family as already read."""
    before = statuses.reads
    members: Sequence[StoredMember]
    if not subscriber_id:
        members, resolutions, reads = list(alone), [], 0
    else:
        partition = partition or store.family(our, partner, subscriber_id)
        members = partition.members
        resolutions = [resolution_of(item) for item in partition.resolutions]
        reads = 1 + len(partition.members) + len(partition.resolutions)
    attempts = [attempt_of(m, statuses.get(m.set_pk, m.set_sk)) for m in members]
    ledger = enrollments(attempts, resolutions, as_of, sla_hours)
    return FamilyLedger(ledger, resolutions, reads + statuses.reads - before)
