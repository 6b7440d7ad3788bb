"""An insurer's error report applied (``ingest.error_reports.apply_error_rows``) on in-memory
fakes of its port (no moto): a row rejects the member transaction it names, in the latest
set with that ST02 sent before the report came; the set's other members stay as the 999
said; delivered again it changes nothing; a row whose 834 is not tracked yet waits; rows
in any order and any split give the same sets."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from acktrack.domain.acks import AckEntry
from acktrack.domain.error_report import ReportedError
from acktrack.domain.ports import Outcome, PipelineConfig
from acktrack.domain.status import FileOutcome, Status, adding_all, member_status, refold
from acktrack.domain.tally import SetState, contribution
from acktrack.domain.tracked import ObjectRef
from acktrack.ingest.error_reports import apply_error_rows, ingest_error_report
from tests.functional.ingest_fakes import Files, Ledger
from tests.functional.memory import SentSet

US, PLAN = "EXCH", "PLAN01"
RECEIVED = datetime(2024, 1, 17, 9, 0, tzinfo=UTC)
ACCEPTED = {"id": "999-1", "kind": "999", "event": "set_accepted", "status": "A",
            "at": "2024-01-15T17:00:00Z"}  # fmt: skip


@dataclass(frozen=True)
class Member:
    """A member transaction as the family partition keeps it."""

    set_pk: str
    set_sk: str
    transaction_control: str
    sent_at: str
    ordinal: float
    subscriber_indicator: str
    member_id: str | None
    subscriber_id: str


@dataclass(frozen=True)
class Row:
    row_id: str
    subscriber_id: str
    member_id: str | None
    transaction_control: str
    error_code: str
    message: str
    received_at: str
    applied_to: str | None = None


class MemoryReportedErrors:
    """The ``ReportedErrors`` port in dictionaries, statuses folded by the domain."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.members: list[Member] = []
        self.sets: dict[tuple[str, str], SentSet] = {}
        self.set_writes = 0

    def send(self, st02: str, sent_at: str, family: list[tuple[str, str | None]]) -> SentSet:
        """A set of ``family`` (subscriber id, member id; the first is the subscriber)."""
        item = SentSet(US, PLAN, "1001", "1", st02, members=len(family), sent_at=sent_at)
        key = ("GS#1", f"SET#{sent_at}#{st02}")
        self.sets[key] = item
        self.members += [Member(key[0], key[1], st02, sent_at, ordinal, "Y" if ordinal == 1 else "N",
                                member_id, subscriber_id)
                         for ordinal, (subscriber_id, member_id) in enumerate(family, 1)]  # fmt: skip
        return item

    # -- the port -------------------------------------------------------------------------

    def _row_id(self, source: str, row: ReportedError) -> str:
        return hashlib.sha256(f"{source}|{row.line}".encode()).hexdigest()[:24]

    def put_reported_errors(self, our: str, partner: str, source: str, received_at: datetime,
                            rows: Iterable[ReportedError]) -> int:  # fmt: skip
        created = 0
        for row in rows:
            row_id = self._row_id(source, row)
            if row_id not in self.rows:
                self.rows[row_id] = Row(row_id, row.subscriber_id, row.member_id,
                                        row.transaction_control, row.error_code, row.message,
                                        received_at.strftime("%Y-%m-%dT%H:%M:%SZ"))  # fmt: skip
                created += 1
        return created

    def rows_to_apply(self, our: str, partner: str, source: str, received_at: datetime,
                      rows: Iterable[ReportedError]) -> Sequence[Row]:  # fmt: skip
        kept = [self.rows[self._row_id(source, row)] for row in rows]
        return [row for row in kept if not row.applied_to]

    def family_members(self, our: str, partner: str, subscriber_id: str) -> Sequence[Member]:
        return [m for m in self.members if m.subscriber_id == subscriber_id]

    def get_sets(self, wanted: Iterable[tuple[str, str]]) -> Mapping[tuple[str, str], SentSet]:
        return {key: self.sets[key] for key in wanted if key in self.sets}

    def add_entries(self, changes: Iterable[tuple[SentSet, list[tuple[str, AckEntry]]]]) -> None:
        for item, entries in changes:
            after = refold(item.acks, adding_all(entries))
            if after.updates or after.status.value != item.status:
                self.set_writes += 1
            item.acks.update(after.updates)
            item.status = after.status.value

    def mark_rows_applied(self, applied: Iterable[tuple[Row, tuple[str, str]]]) -> int:
        marked = 0
        for row, key in applied:
            if not self.rows[row.row_id].applied_to:
                self.rows[row.row_id] = replace(row, applied_to="|".join(key))
                marked += 1
        return marked


def _row(line: int, subscriber_id: str, member_id: str | None, st02: str = "0001",
         code: str = "E17") -> ReportedError:  # fmt: skip
    return ReportedError(line=line, subscriber_id=subscriber_id, member_id=member_id,
                         transaction_control=st02, error_code=code, message="")  # fmt: skip


def _apply(store: MemoryReportedErrors, rows: list[ReportedError], source: str = "r1") -> int:
    store.put_reported_errors(US, PLAN, source, RECEIVED, rows)
    return apply_error_rows(store, US, PLAN, source, RECEIVED, rows)


def _accepted(store: MemoryReportedErrors, *sets: SentSet) -> None:
    for item in sets:
        item.acks["999-1"], item.status = dict(ACCEPTED), Status.ACCEPTED.value


FAMILY = [("S1", "M1"), ("S1", "M2"), ("S1", "M3")]


def _status_of(item: SentSet, subscriber_id: str, member_id: str | None, subscriber: bool) -> str:
    return member_status(Status(item.status), item.acks, subscriber_id=subscriber_id,
                         member_id=member_id, subscriber=subscriber).value  # fmt: skip


def test_a_row_rejects_the_member_it_names_and_the_others_stay_accepted() -> None:
    store = MemoryReportedErrors()
    item = store.send("0001", "2024-01-15T12:00:00Z", FAMILY)
    _accepted(store, item)
    outcome = Outcome(FileOutcome.ERROR_REPORT)
    rows = [_row(2, "S1", "M2")]
    store.put_reported_errors(US, PLAN, "r1", RECEIVED, rows)
    assert apply_error_rows(store, US, PLAN, "r1", RECEIVED, rows, outcome) == 1
    assert outcome.by_partner[PLAN]["rejected"] == 1  # the MembersRejected metric: one person
    (entry,) = [e for e in item.acks.values() if e.get("kind") == "error_report"]
    assert entry["pinned"]["transaction"] == "0000002"  # M2, the set's second member
    assert item.status == "rejected_after_accept"
    assert [_status_of(item, "S1", m, m == "M1") for _, m in FAMILY] == [
        "accepted", "rejected_after_accept", "accepted"]  # fmt: skip
    counts = contribution(SetState(Status(item.status), item.members, item.sent_at, None, None,
                                   item.acks))  # fmt: skip
    assert (counts["members_rejected"], counts["members_accepted"]) == (1, 2)


def test_a_row_without_member_id_names_the_subscriber_s_own_transaction() -> None:
    store = MemoryReportedErrors()
    item = store.send("0001", "2024-01-15T12:00:00Z", FAMILY)
    _accepted(store, item)
    _apply(store, [_row(2, "S1", None), _row(3, "S1", "M1")])  # the same person twice
    assert _status_of(item, "S1", "M1", True) == "rejected_after_accept"
    assert _status_of(item, "S1", "M2", False) == "accepted"
    counts = contribution(SetState(Status(item.status), item.members, item.sent_at, None, None,
                                   item.acks))  # fmt: skip
    assert counts["members_rejected"] == 1  # two rows, one person


def test_delivered_again_it_changes_nothing() -> None:
    store = MemoryReportedErrors()
    item = store.send("0001", "2024-01-15T12:00:00Z", FAMILY)
    _accepted(store, item)
    rows = [_row(2, "S1", "M2"), _row(3, "S1", "M3")]
    assert _apply(store, rows) == 2 and store.set_writes == 1  # one write for both rows
    before = dict(item.acks)
    assert _apply(store, rows) == 0 and item.acks == before and store.set_writes == 1


def test_the_latest_set_with_that_st02_sent_before_the_report_is_the_one_named() -> None:
    """Senders restart ST02 in every file: an older set and a later one share it."""
    store = MemoryReportedErrors()
    old = store.send("0001", "2024-01-10T12:00:00Z", FAMILY)
    meant = store.send("0001", "2024-01-15T12:00:00Z", FAMILY)
    later = store.send("0001", "2024-01-20T12:00:00Z", FAMILY)  # after the report came
    _accepted(store, old, meant, later)
    _apply(store, [_row(2, "S1", "M2"), _row(3, "S1", "M3")])
    counts = contribution(SetState(Status(meant.status), meant.members, meant.sent_at, None,
                                   None, meant.acks))  # fmt: skip
    assert (counts["members_rejected"], counts["members_accepted"]) == (2, 1)
    assert [s.status for s in (old, meant, later)] == ["accepted", "rejected_after_accept",
                                                      "accepted"]  # fmt: skip


def test_a_row_whose_834_is_not_tracked_yet_waits_and_is_applied_once_it_is() -> None:
    store = MemoryReportedErrors()
    rows = [_row(2, "S1", "M2")]
    assert _apply(store, rows) == 0
    assert all(not row.applied_to for row in store.rows.values())  # kept, waiting
    item = store.send("0001", "2024-01-15T12:00:00Z", FAMILY)
    _accepted(store, item)
    assert apply_error_rows(store, US, PLAN, "r1", RECEIVED, rows) == 1
    assert item.status == "rejected_after_accept"


ROWS = [_row(2, "S1", "M2"), _row(3, "S2", None, "0002", "E20"), _row(4, "S1", "M3", code="E9"),
        _row(5, "S9", "M1"), _row(6, "S2", "N2", "0002")]  # fmt: skip


def _sets_after(reports: list[list[ReportedError]]) -> list[tuple[str, dict[str, Any]]]:
    store = MemoryReportedErrors()
    first = store.send("0001", "2024-01-15T12:00:00Z", FAMILY)
    second = store.send("0002", "2024-01-15T12:00:00Z", [("S2", "N1"), ("S2", "N2")])
    _accepted(store, first, second)
    for number, rows in enumerate(reports):
        _apply(store, rows, source=f"part-{number}")
        _apply(store, rows, source=f"part-{number}")  # each part delivered twice
    return [(item.status, item.acks) for item in (first, second)]


@settings(max_examples=30, deadline=None)
@given(st.permutations(ROWS), st.integers(1, 4))
def test_rows_in_any_order_and_any_split_give_the_same_sets(
    rows: list[ReportedError], parts: int
) -> None:
    """The rows' ids are per file and line: the same rows in other files are other rows,
    applied alike (the entries differ by id only, the statuses not at all)."""
    split = [list(rows[n::parts]) for n in range(parts)]
    whole = _sets_after([ROWS])
    after = _sets_after([part for part in split if part])
    assert [status for status, _ in after] == [status for status, _ in whole]

    def named(acks: dict[str, Any]) -> list[tuple[str, ...]]:
        return sorted((e["pinned"]["transaction"], *e["codes"]) for e in acks.values()
                      if e.get("kind") == "error_report")  # fmt: skip

    assert [named(acks) for _, acks in after] == [named(acks) for _, acks in whole]


def test_many_rows_of_one_set_write_it_once() -> None:
    store = MemoryReportedErrors()
    family = [("S1", f"M{n}") for n in range(1, 61)]
    item = store.send("0001", "2024-01-15T12:00:00Z", family)
    _accepted(store, item)
    rows = [_row(n + 1, "S1", f"M{n}") for n in range(1, 61)]
    assert _apply(store, rows) == 60 and store.set_writes == 1
    assert len(item.acks) == 61  # the 999 and one entry a row


# -- the whole use case: the file read, refused or kept, its families reconciled -----------


class MemoryErrorReports(MemoryReportedErrors, Ledger):
    """``ErrorReportStore``: the rows' port above, the file log, the insurers, and a family
    judge that records which families it was asked to reconcile."""

    def __init__(self) -> None:
        MemoryReportedErrors.__init__(self)
        Ledger.__init__(self, [(US, PLAN)])

    def get_set(self, pk: str, sk: str) -> Any:
        return self.sets.get((pk, sk))


HEADER = "subscriber_id,member_id,transaction_control,error_code,message"
KEY = f"inbound/{PLAN}/errors/2024-01-17.csv"


def _ingest(store: MemoryErrorReports, text: str) -> tuple[Outcome, Files]:
    files = Files(text.encode())
    ref = ObjectRef("inbound", KEY, size=len(files.data), version_id="v1", received_at=RECEIVED)
    return ingest_error_report(ref, files, store, PipelineConfig()), files


def test_a_report_is_kept_applied_and_its_families_reconciled_once() -> None:
    store = MemoryErrorReports()
    item = store.send("0001", "2024-01-15T12:00:00Z", FAMILY)
    _accepted(store, item)
    outcome, files = _ingest(store, "\n".join([HEADER, "S1,M2,0001,E17,=cmd()", "S1,M3,0001,E9,x",
                                               "S7,,0009,E20,not ours yet"]))  # fmt: skip
    assert outcome.outcome == FileOutcome.ERROR_REPORT and not files.quarantined
    assert outcome.acknowledgments == 3 and outcome.by_partner[PLAN]["rejected"] == 2
    assert sorted(store.judged) == [(US, PLAN, "S1"), (US, PLAN, "S7")]  # each family once
    assert [key for key, _ in store.outcomes] == [KEY]
    assert len(store.rows) == 3 and sum(1 for r in store.rows.values() if r.applied_to) == 2
    assert not any("cmd" in row.message for row in store.rows.values())  # the message is not kept


def test_a_report_with_another_column_is_quarantined_with_the_reason_and_nothing_kept() -> None:
    store = MemoryErrorReports()
    outcome, files = _ingest(store, "\n".join([f"{HEADER},last_name", "S1,M2,0001,E17,x,SMITH"]))
    assert outcome.outcome == FileOutcome.QUARANTINED
    assert "1 other column(s)" in files.quarantined[KEY] and "SMITH" not in files.quarantined[KEY]
    assert not store.rows and not store.judged
