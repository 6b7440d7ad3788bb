"""An in-memory store for the matching rules: the ``AcknowledgmentStore`` port held in
dictionaries, folding statuses with the domain's own ``refold`` (no moto, no DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from acktrack.domain.status import Applied, Status, adding, refold, revoking


@dataclass
class SentSet:
    our_id: str
    partner: str
    interchange_control: str
    group_control: str
    transaction_control: str
    members: int = 1
    sent_at: str = "2024-01-15T12:00:00Z"
    status: str = Status.SENT.value
    first_999_at: str | None = None
    acks: dict[str, Any] = field(default_factory=dict)
    reference: str = ""  # BGN02

    @property
    def set_id(self) -> str:
        return f"{self.interchange_control}/{self.group_control}/{self.transaction_control}"


@dataclass
class Interchange:
    our_id: str
    partner: str
    interchange_control: str
    interchange_date: str = "240115"
    interchange_time: str = "1200"
    status: str = "complete"
    sets: list[SentSet] = field(default_factory=list)

    @property
    def sk(self) -> str:
        return f"V#{self.interchange_control}#{self.interchange_date}{self.interchange_time}"


@dataclass
class StoredAck:
    kind: str  # 999 | TA1
    our_id: str
    partner: str
    target_control: str
    sk: str
    detail: dict[str, Any]
    acknowledged_at: str = "2024-01-15T17:00:00+00:00"
    state: str = "pending"
    reason: str = ""


@dataclass
class MemoryStore:
    interchanges: list[Interchange] = field(default_factory=list)
    acks: list[StoredAck] = field(default_factory=list)

    # -- what the tests set up ----------------------------------------------------------

    def send(self, interchange: Interchange) -> Interchange:
        self.interchanges.append(interchange)
        return interchange

    def receive(self, ack: StoredAck) -> StoredAck:
        self.acks.append(ack)
        return ack

    def status_of(self, interchange: Interchange) -> list[str]:
        return [item.status for item in interchange.sets]

    # -- the port -------------------------------------------------------------------------

    def ack_detail(self, item: StoredAck) -> dict[str, Any]:
        return item.detail

    def set_ack_state(self, item: StoredAck, state: str, reason: str) -> str:
        item.state, item.reason = state, reason
        return state

    def group_versions(self, our: str, partner: str, group_control: str) -> Sequence[Any]:
        return [i for i in self.interchanges if (i.our_id, i.partner) == (our, partner)
                and any(s.group_control == group_control for s in i.sets)]  # fmt: skip

    def sets_of_group_version(self, version: Interchange) -> Sequence[SentSet]:
        return version.sets

    def set_controls_of_group_version(self, version: Interchange) -> Sequence[str]:
        return [item.transaction_control for item in version.sets]

    def set_references_of_group_version(self, version: Interchange) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for item in version.sets:
            if item.reference:
                found.setdefault(item.reference, []).append(item.transaction_control)
        return found

    def sets_of_group_version_with(
        self, version: Interchange, controls: Sequence[str]
    ) -> Sequence[SentSet]:
        wanted = set(controls)
        return [item for item in version.sets if item.transaction_control in wanted]

    def sets_of_group(self, our: str, partner: str, group_control: str) -> Sequence[SentSet]:
        return [s for i in self.group_versions(our, partner, group_control) for s in i.sets
                if s.group_control == group_control]  # fmt: skip

    def interchange_versions(self, our: str, partner: str, control: str) -> Sequence[Interchange]:
        return [i for i in self.interchanges
                if (i.our_id, i.partner, i.interchange_control) == (our, partner, control)]  # fmt: skip

    def sets_of_interchange(self, version: Interchange) -> Sequence[SentSet]:
        return version.sets

    def members_at(
        self, item: SentSet, positions: Iterable[int | None]
    ) -> dict[int, dict[str, Any] | None]:
        return {position: None for position in positions if position}

    def apply_to_sets(
        self, entries: Iterable[tuple[SentSet, str, dict[str, Any]]]
    ) -> Iterator[Applied]:
        for item, entry_id, summary in entries:
            before = SentSet(**{**vars(item), "acks": dict(item.acks)})
            after = refold(item.acks, adding(entry_id, summary))
            item.acks.update(after.updates)
            item.status, item.first_999_at = after.status.value, after.first_999_at
            yield Applied(before, item.status, item.first_999_at)

    def watchers(self, sets: Sequence[Any]) -> set[tuple[str, str, str]]:
        return set()  # no family waits on an answer here: matching rules only

    def revoke_from_set(self, item: SentSet, ack_id: str) -> SentSet:
        after = refold(item.acks, revoking(ack_id))
        item.acks.update(after.updates)
        item.status, item.first_999_at = after.status.value, after.first_999_at
        return item

    def acks_for_group(self, our: str, partner: str, group_control: str) -> Sequence[StoredAck]:
        return [a for a in self.acks
                if (a.kind, a.our_id, a.partner, a.target_control) == ("999", our, partner, group_control)]  # fmt: skip

    def acks_for_interchange(self, our: str, partner: str, control: str) -> Sequence[StoredAck]:
        return [a for a in self.acks
                if (a.kind, a.our_id, a.partner, a.target_control) == ("TA1", our, partner, control)]  # fmt: skip
