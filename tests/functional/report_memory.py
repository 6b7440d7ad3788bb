"""An in-memory store for the report's reads: open sets, their members, families with their
resolutions (no moto, no DynamoDB). Items carry only the attributes the report reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from acktrack.domain.ledger import ClosedBy, Resolution
from acktrack.domain.status import OPEN, Status
from acktrack.domain.tally import SetState, Tally, contribution
from acktrack.store.families import Partition

SENT = "2024-01-15T12:00:00Z"


class _Acks(dict[str, Any]):
    def as_dict(self) -> dict[str, Any]:
        return dict(self)


@dataclass
class Set:
    number: int
    status: str = "sent"
    sent_at: str = SENT
    status_at: str | None = None
    first_999_at: str | None = None
    partner: str = "HEALTHPLAN01"
    payer_name: str = "A PLAN"
    group_control: str = "1"
    transaction_control: str = "0001"
    predicted_rejection: bool = False
    acks: _Acks = field(default_factory=_Acks)
    members: int = 0
    listed: bool = True  # in the report's index (the report takes a closed set out)
    revision: int = 0
    last_position: int = 1

    @property
    def pk(self) -> str:
        return f"GS#US#{self.partner}#{self.group_control}"

    @property
    def sk(self) -> str:
        return f"SET#{self.number:09d}#d#{self.transaction_control}"

    @property
    def set_id(self) -> str:
        return f"{self.number:020x}"

    @property
    def interchange_control(self) -> str:
        return f"{self.number:09d}"


@dataclass
class Member:
    sent: Set
    ordinal: int
    subscriber_id: str
    member_id: str | None
    maintenance_type: str = "021"
    line: str = "HLT"
    begin: str = "20240201"
    effectuated_at: str | None = None
    subscriber_indicator: str = "Y"
    relationship: str = "18"
    our_id: str = "US"
    carrier_member_id: str | None = None
    findings: list[Any] = field(default_factory=list)
    plan: str = "P1"
    categories: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, dict[str, str]] = field(default_factory=dict)  # version -> kind -> hash
    insurer_member_id: str | None = None
    insurer_policy_ids: list[str] = field(default_factory=list)

    @property
    def partner(self) -> str:
        return self.sent.partner

    @property
    def pk(self) -> str:
        return f"FAM#{self.sent.partner}#{self.subscriber_id}"

    @property
    def sk(self) -> str:
        return f"M#{self.sent.sent_at}#{self.sent.number}#{self.ordinal:07d}"

    @property
    def set_pk(self) -> str:
        return self.sent.pk

    @property
    def set_sk(self) -> str:
        return self.sent.sk

    @property
    def sent_at(self) -> str:
        return self.sent.sent_at

    position_step: int = 10  # segments per INS loop (larger: a set over several lookup chunks)

    @property
    def first_position(self) -> int:
        return self.ordinal * self.position_step

    @property
    def effectuated_by(self) -> str | None:
        return "R1" if self.effectuated_at else None

    @property
    def coverages(self) -> list[dict[str, Any]]:
        return [{"insurance_line": self.line, "plan": self.plan, "benefit_begin": self.begin}]


@dataclass
class StoredResolution:
    pk: str
    resolution: Resolution
    subscriber_id: str = ""
    partner: str = "HEALTHPLAN01"
    our_id: str = "US"
    closed: int = 0

    @property
    def kind(self) -> str | None:  # as the store keeps it: None for an operator's
        return None if self.resolution.kind == ClosedBy.OPERATOR else str(self.resolution.kind)

    def __getattr__(self, name: str) -> Any:
        if name == "refs":  # stored as "pk|sk" strings
            return {f"{pk}|{sk}" for pk, sk in self.resolution.refs}
        return getattr(self.resolution, name)


class ReportMemory:
    """Sets and members in lists; every read the report makes, answered from them."""

    def __init__(self) -> None:
        self.sets: list[Set] = []
        self.members: list[Member] = []
        self.resolutions: list[StoredResolution] = []
        self.reconciled: list[tuple[Any, list[dict[str, Any]], str | None]] = []
        self.families_read = 0
        # The window's lists, as the index holds them: each item with its time (received_at).
        self.unmatched: list[Any] = []
        self.junk: list[Any] = []
        self.expected: list[Any] = []  # expected actions (domain.expected), as the store keeps them
        self.findings: list[Any] = []  # data-quality findings (each with its sent_at)
        self.tallies_read = 0
        # The insurer's roster (as the outbound ingest writes it) and when it began: None
        # models a table older than the roster (every set is walked).
        self.roster_began: str | None = "2000-01-01T00:00:00Z"
        self.sets_walked = 0
        self.sets_rostered = False  # written by code with the roster (their families in it)

    def send(self, number: int, people: list[tuple[Any, ...]], *, sent_at: str = SENT,
             status: str = "sent", status_at: str | None = None, **member: Any) -> Set:  # fmt: skip
        """``people``: (subscriber id, member id[, {field: value} for this member only])."""
        item = Set(
            number,
            status=status,
            sent_at=sent_at,
            status_at=status_at,
            first_999_at=status_at if status != "sent" else None,
        )  # a 999 decided it
        for ordinal, (subscriber, member_id, *own) in enumerate(people, start=1):
            fields = {**member, **(own[0] if own else {})}
            self.members.append(Member(item, ordinal, subscriber, member_id, **fields))
        item.members = len(people)
        item.last_position = max((m.first_position for m in self.members if m.sent is item),
                                 default=1)  # fmt: skip
        if status == "rejected":
            item.acks["999#1"] = {"kind": "999", "event": "set_rejected", "status": "R",
                                  "per_set": True, "codes": ["5"], "errors": [], "at": status_at}  # fmt: skip
        self.sets.append(item)
        return item

    def resolve(
        self, subscriber_id: str, resolution: Resolution, partner: str = "HEALTHPLAN01"
    ) -> None:
        self.resolutions.append(
            StoredResolution(f"FAM#{partner}#{subscriber_id}", resolution, subscriber_id, partner)
        )

    def add_resolution(self, our: str, partner: str, subscriber_id: str, resolution: Resolution,
                       closed: int, *, members: Any = None) -> bool:  # fmt: skip
        key = f"FAM#{partner}#{subscriber_id}"
        if any(r.pk == key and r.resolution.resolution_id == resolution.resolution_id
               for r in self.resolutions):  # fmt: skip
            return False  # recorded already (a conditional put in DynamoDB)
        self.resolutions.append(
            StoredResolution(key, resolution, subscriber_id, partner, our, closed)
        )
        return True

    def put_reconciliation(self, summary: Any, rows: list[dict[str, Any]],
                           rcno_key: str | None) -> None:  # fmt: skip
        self.reconciled = [r for r in self.reconciled if r[0].digest != summary.digest]
        self.reconciled.append((summary, rows, rcno_key))

    def put_discrepancies(self, summary: Any, part: str, rows: list[dict[str, Any]]) -> int:
        raise AssertionError("a population held in one invocation writes its rows at the end")

    # -- the reads ----------------------------------------------------------------------

    def open_sets(self) -> Iterator[Set]:
        return (s for s in self.sets if s.status in OPEN and s.listed)

    def members_of_set(self, item: Set, chunks: tuple[int, int] | None = None) -> Iterator[Member]:
        first, last = chunks or (0, 10**9)
        return (m for m in self.members
                if m.sent is item and first <= m.first_position // 20_000 <= last)  # fmt: skip

    def get_sets(self, wanted: Any) -> dict[tuple[str, str], Set]:
        keys = set(wanted)
        return {(s.pk, s.sk): s for s in self.sets if (s.pk, s.sk) in keys}

    def get_members(self, wanted: Any) -> dict[tuple[str, str], Member]:
        keys = set(wanted)
        return {(m.pk, m.sk): m for m in self.members if (m.pk, m.sk) in keys}

    def unlist_set(self, item: Set, reopen_on: Any = ()) -> bool:
        item.listed = False
        self.reopen_on = set(reopen_on)
        return True

    def family(self, our: str, partner: str, subscriber_id: str) -> Partition:
        self.families_read += 1
        key = f"FAM#{partner}#{subscriber_id}"
        members = [m for m in self.members if m.pk == key]
        resolutions = [r for r in self.resolutions if r.pk == key]
        return Partition(members, [], [], set(), resolutions)  # type: ignore[arg-type]

    def get_set(self, pk: str, sk: str) -> Set | None:
        return next((s for s in self.sets if (s.pk, s.sk) == (pk, sk)), None)

    def sets_since(
        self, our: str, partner: str, since: str, before: str | None = None
    ) -> list[Set]:
        sent = [s for s in self.sets if s.partner == partner and s.sent_at >= since
                and (before is None or s.sent_at <= before)]  # fmt: skip
        self.sets_walked += len(sent)
        return sorted(sent, key=lambda s: (s.sent_at, s.number))

    def sets_before_roster(self, our: str, partner: str, before: str | None) -> list[Set]:
        if self.sets_rostered:
            return []
        return self.sets_since(our, partner, "0", before)

    def roster(self, our: str, partner: str) -> list[str]:
        if self.roster_began is None:
            return []
        sent = {m.subscriber_id for m in self.members if m.sent.partner == partner}
        return sorted(sent - {""})

    def roster_since(self, our: str, partner: str) -> str | None:
        return self.roster_began

    def partners(self) -> list[Any]:
        return [SimpleNamespace(our_id="US", partner="HEALTHPLAN01", payer_name="A PLAN")]

    def counters(self, *_: Any, **__: Any) -> dict[str, Any]:
        def count(*statuses: str) -> int:
            return sum(s.members for s in self.sets if s.status in statuses)

        total = SimpleNamespace(
            members_sent=sum(s.members for s in self.sets), members_accepted=count("accepted"),
            members_accepted_with_errors=count("accepted_with_errors"),
            members_rejected=count("rejected"), members_effectuated=0,
        )  # fmt: skip
        return {"ALL": total}

    def tallies(self, our: str, partner: str, since_day: str) -> dict[str, Tally]:
        """What the counters hold: each set's sending and its ``contribution`` as it is now."""
        self.tallies_read += 1
        found: dict[str, Tally] = {}
        for item in self.sets:
            if item.partner != partner or item.sent_at[:10] < since_day:
                continue
            state = SetState(Status(item.status), item.members, item.sent_at, item.first_999_at,
                             item.status_at, item.acks)  # fmt: skip
            found.setdefault(item.sent_at[:10], Tally()).add_attributes(
                {"members_sent": item.members, "sets_sent": 1, **contribution(state)}
            )
        return found

    def reconciliations(self, since: str) -> list[Any]:
        return []

    def discrepancy_rows(self, item: Any) -> list[dict[str, Any]]:
        return []

    def unmatched_acks(self, since: str) -> list[Any]:
        return [item for item in self.unmatched if item.received_at >= since]

    def quarantined(self, since: str) -> list[Any]:
        return [item for item in self.junk if item.received_at >= since]

    def notices(self, since: str) -> list[Any]:
        return []

    def other_usage(self, since: str) -> list[Any]:
        return []

    def control_numbers(self, our: str, partner: str, direction: str, level: str) -> list[Any]:
        return []

    def never_sent(self, due_by: str) -> list[Any]:
        return [a for a in self.expected if not a.sent_at and a.expected_by < due_by]

    def quality_findings(self, since: str) -> list[Any]:
        return [finding for finding in self.findings if finding.sent_at >= since]

    def awaiting_effectuation(self, cutoff: str) -> list[Any]:
        return [m for m in self.members if m.maintenance_type == "021" and not m.effectuated_at
                and m.sent_at < cutoff]  # fmt: skip

    def operator_resolutions(self, since: str, until: str) -> list[StoredResolution]:
        """As the sparse index holds them: operators' only, by time, ``until`` included."""
        found = [r for r in self.resolutions
                 if r.kind is None and since <= r.resolution.at <= until]  # fmt: skip
        return sorted(found, key=lambda r: (r.resolution.at, r.resolution.resolution_id))
