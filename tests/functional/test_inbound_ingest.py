"""An insurer's TA1s and 999s through the inbound router (``ingest.inbound``), on in-memory
ports: the file read, each acknowledgment kept once and applied to what was sent, the
control numbers noted, the file's outcome recorded; a redelivery changes nothing, and a
file that is not X12 is quarantined with its reason."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from acktrack.domain.ports import Outcome, PipelineConfig
from acktrack.domain.sequences import INBOUND, INTERCHANGE
from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.inbound import ingest_inbound
from acktrack.synthetic.acknowledgments import GroupResponse, SetResponse, write_999, write_ta1
from tests.functional.ingest_fakes import Files, Ledger
from tests.functional.memory import Interchange, MemoryStore, SentSet, StoredAck

US, PLAN = "ACKTRACKEXCH", "HEALTHPLAN01"
ANSWERED = datetime(2024, 1, 15, 17, tzinfo=UTC)


class Inbound(MemoryStore, Ledger):
    """What ``InboundStore`` gives the acknowledgment path, in memory: the sent interchanges
    and acknowledgments (``MemoryStore``), the files' outcomes and empty families
    (``Ledger``), and the control numbers noted."""

    def __init__(self) -> None:
        MemoryStore.__init__(self)
        Ledger.__init__(self, [(US, PLAN)])
        self.controls: set[tuple[str, str, str]] = set()
        self.quarantined: dict[str, str] = {}

    def put_ack(self, data: dict[str, Any]) -> StoredAck:
        for stored in self.acks:
            if stored.sk == data["ack_id"]:
                return stored  # kept once: a redelivery finds it and its state
        return self.receive(StoredAck(data["kind"], data["our_id"], data["partner"],
                                      data["target_control"], data["ack_id"], data["detail"],
                                      data["acknowledged_at"]))  # fmt: skip

    def note_controls(self, our: str, partner: str, direction: str, level: str,
                      controls: Any, at: str) -> None:  # fmt: skip
        self.controls.update((direction, level, control) for control in controls)


def _sent(store: Inbound) -> Interchange:
    interchange = Interchange(US, PLAN, "000001001")
    interchange.sets = [SentSet(US, PLAN, "000001001", "1", st02, members=2)
                        for st02 in ("0001", "0002")]  # fmt: skip
    return store.send(interchange)


def _a_999() -> bytes:
    out = io.BytesIO()
    write_999(out, sender_id=PLAN, receiver_id=US, interchange_control=7001, sent_at=ANSWERED,
              groups=[GroupResponse("1", [SetResponse("0001", "A"),
                                          SetResponse("0002", "R", ["5"])])])  # fmt: skip
    return out.getvalue()


def _a_ta1(status: str) -> bytes:
    out = io.BytesIO()
    write_ta1(out, sender_id=PLAN, receiver_id=US, interchange_control=7002, sent_at=ANSWERED,
              acknowledged_control="000001001", acknowledged_date="240115",
              acknowledged_time="1200", status=status)  # fmt: skip
    return out.getvalue()


def _ingest(store: Inbound, data: bytes, name: str) -> Outcome:
    files = Files(data)
    ref = ObjectRef("inbound", f"inbound/{PLAN}/{name}", size=len(data), received_at=ANSWERED)
    outcome = ingest_inbound(ref, files, store, PipelineConfig())  # type: ignore[arg-type]
    store.quarantined = files.quarantined
    return outcome


def test_a_999_decides_each_set_it_names_once_and_a_redelivery_changes_nothing() -> None:
    store = Inbound()
    interchange = _sent(store)
    outcome = _ingest(store, _a_999(), "a.999")
    assert outcome.outcome == FileOutcome.ACKNOWLEDGMENTS and outcome.acknowledgments == 1
    assert store.status_of(interchange) == ["accepted", "rejected"]
    assert [key for key, _ in store.outcomes] == [f"inbound/{PLAN}/a.999"]
    assert store.controls == {(INBOUND, INTERCHANGE, "000007001")}  # the insurer's ISA13
    assert len(store.acks) == 1
    again = _ingest(store, _a_999(), "a.999")  # the same file delivered again
    assert store.status_of(interchange) == ["accepted", "rejected"]
    assert len(store.acks) == 1 and again.applied == 1
    assert [s.acks for s in interchange.sets] == [s.acks for s in _after_one_999()]


def _after_one_999() -> list[SentSet]:
    store = Inbound()
    interchange = _sent(store)
    _ingest(store, _a_999(), "a.999")
    return interchange.sets


def test_a_ta1_rejecting_the_interchange_rejects_its_sets() -> None:
    store = Inbound()
    interchange = _sent(store)
    outcome = _ingest(store, _a_ta1("R"), "a.ta1")
    assert outcome.acknowledgments == 1 and store.acks[0].kind == "TA1"
    assert store.status_of(interchange) == ["rejected", "rejected"]


def test_a_file_that_is_not_x12_is_quarantined_with_its_reason() -> None:
    store = Inbound()
    interchange = _sent(store)
    outcome = _ingest(store, b"member,plan\nE1,P1\n", "notes.txt")
    assert outcome.outcome == FileOutcome.QUARANTINED
    assert store.quarantined and "X12" in next(iter(store.quarantined.values()))
    assert store.status_of(interchange) == ["sent", "sent"] and not store.acks
