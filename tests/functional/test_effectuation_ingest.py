"""The insurer's effectuation 834 (``ingest.effectuation``) on in-memory fakes of its ports
(no moto): every member the insurer holds kept as its record, each family named reconciled
once, however many members it has; the same file twice keeps the same records."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from acktrack.domain.ports import Outcome, PipelineConfig
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.effectuation import ingest_effectuation
from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.functional.ingest_fakes import Ledger

SENT = datetime(2024, 1, 15, 12, 0)


class Records:
    """``MemberSink``: the insurer's records, by file version and position (written once)."""

    def __init__(self, kept: dict[tuple[str, str, str], Any]) -> None:
        self.kept = kept

    def add(self, member: Any) -> None:
        raise AssertionError("an effectuation 834 writes no member transaction of ours")

    def add_family(self, our: str, partner: str, subscriber_id: str) -> None:
        raise AssertionError("nor a family of ours")

    def add_insurer_member(self, member: Any) -> None:
        self.kept.setdefault((member.partner, member.subscriber_id, member.record_id), member)

    def __enter__(self) -> Records:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None, /) -> None:  # fmt: skip
        pass


class MemoryEffectuation(Ledger):
    """``EffectuationStore``: the records kept, and the families judged."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[tuple[str, str, str], Any] = {}

    def member_writer(self, arrived_at: datetime | None = None) -> Records:
        return Records(self.records)


def _files(members: int = 12) -> tuple[bytes, bytes, Any]:
    sent = io.BytesIO()
    generated = write_834(EnrollmentSpec(members=members, sets_per_group=4, seed=5, sent_at=SENT),
                          sent)  # fmt: skip
    insurer = io.BytesIO()
    write_effectuation(sent.getvalue(), insurer,
                       EffectuationSpec(sent_at=SENT.replace(day=20), skip=(2,)))  # fmt: skip
    return sent.getvalue(), insurer.getvalue(), generated


def _ingest(store: MemoryEffectuation, data: bytes) -> Outcome:
    ref = ObjectRef("inbound", "inbound/HEALTHPLAN01/eff.834", size=len(data),
                    received_at=datetime(2024, 1, 20, tzinfo=UTC))  # fmt: skip
    outcome = Outcome(FileOutcome.EFFECTUATION)
    ingest_effectuation(io.BytesIO(data), ref, store, PipelineConfig(), outcome)
    return outcome


def test_every_member_held_is_kept_and_each_family_reconciled_once() -> None:
    _, insurer, generated = _files()
    store = MemoryEffectuation()
    outcome = _ingest(store, insurer)
    sent = [m for s in generated.sets for m in s.member_detail]
    held = [m for number, m in enumerate(sent, 1) if number != 2]  # the insurer left one out
    assert outcome.effectuation_records == len(held) == len(store.records)
    families = {m.subscriber_id for m in held}
    assert sorted(s for _, _, s in store.judged) == sorted(families)  # each once
    again = MemoryEffectuation()
    second = _ingest(again, insurer)  # the same file again, on a store of its own
    assert second.effectuation_records == len(held)
    assert again.records.keys() == store.records.keys()  # the same records, by the same ids
