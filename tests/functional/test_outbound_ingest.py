"""An outbound 834 (``ingest.outbound``) on in-memory fakes of its ports (no moto): tracked
once, its members counted once and its families reconciled once; the same file again is a
redelivery, the same interchange under another key a duplicate, an ISA13 used again with
other content a notice; an interchange of the usage not tracked is counted apart, and a
file that is not an 834 is quarantined with the reason."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace, TracebackType
from typing import Any

from acktrack.domain.ports import Outcome, PipelineConfig
from acktrack.domain.status import FileOutcome, InterchangeStatus
from acktrack.domain.tracked import ObjectRef, TrackedInterchange, TrackedSet
from acktrack.ingest.outbound import ingest_outbound
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.functional.ingest_fakes import Files, Jobs, Ledger

SENT = datetime(2024, 1, 15, 12, 0)


class Members:
    """``MemberSink``: member transactions and the insurer's roster of families."""

    def __init__(self, store: MemoryOutbound) -> None:
        self.store = store

    def add(self, member: Any) -> None:
        self.store.members.append(member)

    def add_family(self, our: str, partner: str, subscriber_id: str) -> None:
        self.store.roster.add((our, partner, subscriber_id))

    def add_insurer_member(self, member: Any) -> None:
        raise AssertionError("an outbound 834 holds no insurer record")

    def __enter__(self) -> Members:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None, /) -> None:  # fmt: skip
        pass


class MemoryOutbound(Ledger, Jobs):
    """``OutboundStore``: interchange versions by (sender, insurer, ISA13) and digest, counted
    once; sets, members, groups, control numbers; no acknowledgment waiting."""

    def __init__(self) -> None:
        Ledger.__init__(self)
        Jobs.__init__(self)
        self.versions: dict[tuple[str, str, str], list[Any]] = {}
        self.sets: list[TrackedSet] = []
        self.members: list[Any] = []
        self.roster: set[tuple[str, str, str]] = set()
        self.duplicates: list[str] = []
        self.notices: list[str] = []
        self.controls: set[tuple[str, str, str]] = set()
        self.groups: dict[tuple[str, str, str], dict[str, dict[str, str]]] = {}

    def _key(self, planned: TrackedInterchange) -> tuple[str, str, str]:
        return planned.our_id, planned.partner, planned.interchange_control

    def begin_interchange(self, planned: TrackedInterchange) -> None:
        if self.interchange_version(planned) is None:
            self.versions.setdefault(self._key(planned), []).append(SimpleNamespace(
                digest=planned.digest, status=InterchangeStatus.INGESTING, settled=False,
                source_bucket=planned.source_bucket, source_key=planned.source_key))  # fmt: skip

    def complete_interchange(self, planned: TrackedInterchange) -> bool:
        version = self.interchange_version(planned)
        assert version is not None
        if version.status == InterchangeStatus.COMPLETE:
            return False
        version.status = InterchangeStatus.COMPLETE
        return True

    def interchange_version(self, planned: TrackedInterchange) -> Any:
        return next((v for v in self.versions.get(self._key(planned), [])
                     if v.digest == planned.digest), None)  # fmt: skip

    def interchange_versions(self, our: str, partner: str, control: str) -> Sequence[Any]:
        return list(self.versions.get((our, partner, control), []))

    def settle_interchange(self, planned: TrackedInterchange) -> None:
        self.interchange_version(planned).settled = True

    def record_duplicate(self, version: Any, ref: ObjectRef) -> None:
        self.duplicates.append(ref.key)

    def put_sets(self, sets: list[TrackedSet]) -> None:
        self.sets += sets

    def put_group_version(self, planned: TrackedInterchange, group_control: str
                          ) -> list[dict[str, str]]:  # fmt: skip
        versions = self.groups.setdefault((planned.our_id, planned.partner, group_control), {})
        versions.setdefault(f"{planned.interchange_control}#{planned.digest}",
                            {"source_key": planned.source_key})  # fmt: skip
        return list(versions.values())

    def member_writer(self, arrived_at: datetime | None = None) -> Members:
        return Members(self)

    def begin_roster(self, our: str, partner: str, at: str) -> None:
        pass

    def note_controls(self, our: str, partner: str, direction: str, level: str,
                      controls: Iterable[str], at: str) -> None:  # fmt: skip
        self.controls |= {(direction, level, control) for control in controls}

    def notice(self, kind: str, detail: str, source_keys: list[str], *identity: str,
               at: datetime | None = None) -> None:  # fmt: skip
        self.notices.append(kind)

    def acks_for_group(self, our: str, partner: str, group_control: str) -> Sequence[Any]:
        return []  # nothing came before the 834

    def acks_for_interchange(self, our: str, partner: str, control: str) -> Sequence[Any]:
        return []


def _834(**spec: Any) -> tuple[bytes, Any]:
    out = io.BytesIO()
    generated = write_834(EnrollmentSpec(**{"members": 9, "sets_per_group": 3, "seed": 8,
                                            "sent_at": SENT, **spec}), out)  # fmt: skip
    return out.getvalue(), generated


def _ingest(store: MemoryOutbound, data: bytes, key: str = "outbound/a.834") -> Outcome:
    ref = ObjectRef("outbound", key, size=len(data), version_id="v1",
                    received_at=datetime(2024, 1, 15, 13, tzinfo=UTC))  # fmt: skip
    return ingest_outbound(ref, Files(data), store, PipelineConfig())


def test_a_file_is_tracked_once_its_members_counted_once_its_families_reconciled_once() -> None:
    data, generated = _834()
    store = MemoryOutbound()
    outcome = _ingest(store, data)
    members = sum(len(s.member_detail) for s in generated.sets)
    assert outcome.outcome == FileOutcome.TRACKED and outcome.members == members
    assert len(store.sets) == len(generated.sets) and len(store.members) == members
    families = {m.subscriber_id for s in generated.sets for m in s.member_detail}
    assert sorted(s for _, _, s in store.judged) == sorted(families)
    assert {s for _, _, s in store.roster} == families
    assert ("outbound", "interchange", "000001001") in store.controls
    judged = len(store.judged)
    again = _ingest(store, data)  # the same object again
    assert again.outcome == FileOutcome.REDELIVERED and again.members == 0
    assert len(store.members) == members and len(store.sets) == len(generated.sets)
    assert len(store.judged) == judged  # settled already: nothing is judged again


def test_the_same_interchange_under_another_key_is_a_duplicate() -> None:
    data, _ = _834()
    store = MemoryOutbound()
    _ingest(store, data)
    copy = _ingest(store, data, key="outbound/copy.834")
    assert copy.outcome == FileOutcome.DUPLICATE and copy.members == 0
    assert store.duplicates == ["outbound/copy.834"]


def test_an_isa13_used_again_with_other_content_is_a_notice_and_both_are_tracked() -> None:
    store = MemoryOutbound()
    _ingest(store, _834()[0])
    other = _ingest(store, _834(seed=9)[0], key="outbound/b.834")
    assert other.outcome == FileOutcome.TRACKED and "interchange_control_reused" in store.notices
    assert len(store.interchange_versions("ACKTRACKEXCH", "HEALTHPLAN01", "000001001")) == 2


def test_an_interchange_of_the_usage_not_tracked_is_counted_apart() -> None:
    store = MemoryOutbound()
    outcome = _ingest(store, _834(usage="T")[0])
    assert outcome.outcome == FileOutcome.OTHER_USAGE and not store.sets and not store.members
    assert outcome.other_usage["HEALTHPLAN01"]["members"] == 9


def test_a_file_that_is_not_an_834_is_quarantined_with_the_reason() -> None:
    store = MemoryOutbound()
    files = Files(b"name,ssn\nSMITH,123456789\n")
    ref = ObjectRef("outbound", "outbound/x.csv", size=len(files.data))
    outcome = ingest_outbound(ref, files, store, PipelineConfig())
    assert outcome.outcome == FileOutcome.QUARANTINED and not store.sets
    assert "not readable as X12" in files.quarantined["outbound/x.csv"]
    assert "SMITH" not in files.quarantined["outbound/x.csv"]
