"""Monthly reconciliation's rules on an in-memory store (no moto): what is ours, the codes,
the confirmations of waiting enrollments, redelivery, and the report that follows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from acktrack.domain.ports import PipelineConfig
from acktrack.domain.reconciliation import PopulationMember
from acktrack.ingest.reconciliation import Population, reconcile_population
from acktrack.report.collect import collect_report
from acktrack.report.reconciliation import collect_reconciliation, reconciliation_text
from tests.functional.report_memory import ReportMemory

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
PLAN = "HEALTHPLAN01"


class Shelf:
    """The reports bucket: files by key."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    def put_lines(self, key: str, lines: Iterable[str], content_type: str) -> str:
        self.files[key] = "".join(lines)
        return key


def theirs(
    subscriber: str, member: str, plan: str = "P1", begin: str = "20240201"
) -> PopulationMember:
    return PopulationMember(subscriber_id=subscriber, member_id=member, subscriber_indicator="Y",
                            relationship="18", plan=plan, benefit_begin=begin)  # fmt: skip


def day() -> ReportMemory:
    store = ReportMemory()
    accepted = {"status": "accepted", "status_at": "2024-01-15T14:00:00Z"}
    store.send(1, [("S1", "E1"), ("S2", "E2"), ("S3", "E3")], **accepted)  # type: ignore[arg-type]
    store.send(2, [("S4", "E4")])  # no 999: overdue by the 20th
    store.send(3, [("S5", "E5")], status="rejected", status_at="2024-01-15T14:00:00Z")
    return store


def reconcile(store: ReportMemory, shelf: Shelf, members: list[PopulationMember]) -> object:
    population = Population("US", PLAN, "20240119", "extract", members)
    return reconcile_population(population, "d1", AS_OF, store, shelf, PipelineConfig())


def test_each_member_gets_its_code_and_a_waiting_enrollment_held_by_the_insurer_is_confirmed() -> (
    None
):
    store, shelf = day(), Shelf()
    reconcile(store, shelf, [theirs("S1", "E1"), theirs("S2", "E2", plan="P2"),
                             theirs("S4", "E4"), theirs("S9", "E9")])  # fmt: skip
    ((summary, rows, key),) = store.reconciled
    assert [(r["member_id"], r["field"], r["code"], r["side"]) for r in rows] == [
        ("E2", "plan", "I", "both"),
        ("E3", "member", "U", "missing_at_insurer"),  # confirmed, in force, not held
        ("E9", "member", "U", "insurer_only"),
    ]
    # S5 was rejected, never confirmed: not ours, and not held by the insurer either.
    assert (summary.theirs, summary.ours, summary.matched, summary.confirmed) == (4, 4, 2, 1)
    assert summary.by_field["plan"] == {"M": 2, "I": 1, "U": 2}
    (resolution,) = [r.resolution for r in store.resolutions]
    assert resolution.kind == "reconciliation" and resolution.member_id == "E4"
    assert key in shelf.files and shelf.files[key].splitlines()[1].startswith("S1|E1|both|M|M|")
    report = collect_report(store, AS_OF, 48.0, 7, 0)
    assert report.summary["confirmed_by_reconciliation"] == 1
    assert "S4" not in {row["subscriber_id"] for row in report.unconfirmed}


def test_a_waiting_enrollment_the_insurer_holds_otherwise_stays_open_and_shows_what_differs() -> (
    None
):
    store, shelf = day(), Shelf()
    reconcile(store, shelf, [theirs("S4", "E4", begin="20240301")])
    ((summary, rows, _),) = store.reconciled
    assert ("E4", "benefit_begin", "I") in {(r["member_id"], r["field"], r["code"]) for r in rows}
    assert summary.confirmed == 0 and store.resolutions == []
    report = collect_report(store, AS_OF, 48.0, 7, 0)
    assert "S4" in {row["subscriber_id"] for row in report.unconfirmed}


def test_the_same_population_twice_records_the_same_result_once() -> None:
    store, shelf = day(), Shelf()
    members = [theirs("S1", "E1"), theirs("S4", "E4")]
    reconcile(store, shelf, members)
    first = [(s.matched, s.confirmed, rows) for s, rows, _ in store.reconciled]
    reconcile(store, shelf, members)
    again = [(s.matched, s.confirmed, rows) for s, rows, _ in store.reconciled]
    assert len(store.resolutions) == 1
    # The second time the enrollment is confirmed already: it is ours, it still matches, and
    # the confirmation made by the first delivery is still counted.
    assert again == first and first[0][1] == 1


def test_an_accepted_member_with_a_change_still_waiting_is_missing_when_the_insurer_lacks_it() -> (
    None
):
    store, shelf = day(), Shelf()
    store.send(4, [("S2", "E2")], sent_at="2024-01-18T12:00:00Z", maintenance_type="001")
    reconcile(store, shelf, [theirs("S1", "E1")])
    ((_, rows, _),) = store.reconciled
    assert ("E2", "member", "U", "missing_at_insurer") in {
        (r["member_id"], r["field"], r["code"], r["side"]) for r in rows
    }


def test_a_family_split_between_parts_gives_the_one_go_result() -> None:
    """A family whose members sit in two parts of the file (one set per line of coverage,
    say): each part holds what it has; what neither holds is found once, at the end."""
    from acktrack.correlate.enrollments import SetStatuses
    from acktrack.ingest.reconciliation import (
        Found,
        PopulationMeta,
        by_family,
        held_families,
        missing_families,
    )

    store = ReportMemory()
    store.send(1, [("S1", "E1"), ("S1", "E2"), ("S1", "E3")], status="accepted",
               status_at="2024-01-15T14:00:00Z")  # fmt: skip
    meta, config = PopulationMeta("US", PLAN, "20240301", "audit_834"), PipelineConfig()
    halves = [[theirs("S1", "E1")], [theirs("S1", "E2")]]  # E3 is in neither

    def run(parts: list[list[PopulationMember]]) -> list[tuple[str | None, str]]:
        total = Found()
        comparisons = []
        for members in parts:
            found = held_families(by_family(members), meta, "d", AS_OF, store,
                                  SetStatuses(store), config)  # fmt: skip
            total.named |= found.named
            total.matched |= found.matched
            total.deferred |= found.deferred
            comparisons += found.comparisons
        comparisons += missing_families(meta, total, AS_OF, store, SetStatuses(store),
                                        config).comparisons  # fmt: skip
        return sorted((c.member_id, c.side.value) for c in comparisons)

    one_go = run([halves[0] + halves[1]])
    assert one_go == [("E1", "both"), ("E2", "both"), ("E3", "missing_at_insurer")]
    assert run(halves) == one_go


def test_a_member_listed_twice_is_confirmed_and_compared_on_its_first_row_only() -> None:
    """The insurer lists the overdue E4 twice: first with another benefit begin, then as sent.
    The first row stands for both the confirmation and the comparison; the second is reported."""
    store, shelf = day(), Shelf()
    reconcile(store, shelf, [theirs("S4", "E4", begin="20240301"), theirs("S4", "E4")])
    ((summary, rows, key),) = store.reconciled
    assert store.resolutions == [] and summary.confirmed == 0
    found = [(r["member_id"], r["field"], r["code"], r["side"]) for r in rows]
    assert ("E4", "benefit_begin", "I", "both") in found
    assert ("E4", "member", "I", "duplicate_at_insurer") in found
    assert summary.theirs == 2 and summary.by_field["member"] == {"duplicate_at_insurer": 1}
    assert "S4|E4|duplicate_at_insurer|" in shelf.files[key]


class Stored:
    """The report's reads of one stored reconciliation: its summary, its rows as stored."""

    def __init__(self, summary: Any, rows: list[dict[str, Any]]) -> None:
        self.item = SimpleNamespace(**{**asdict(summary), "discrepancies": len(rows), "chunks": 1,
                                       "rcno_key": None})  # fmt: skip
        self.rows = rows

    def reconciliations(self, since: str) -> list[Any]:
        return [self.item]

    def discrepancy_rows(self, item: Any) -> list[dict[str, Any]]:
        return self.rows


def test_the_report_lists_what_needs_action_first_with_counts_per_code() -> None:
    store, shelf = day(), Shelf()
    store.send(4, [("S6", "E6")], status="accepted", status_at="2024-01-15T14:00:00Z",
               insurer_member_id="INS-6")  # fmt: skip
    changed = replace(theirs("S6", "E6"), insurer_member_id="INS-7")
    reconcile(store, shelf, [theirs("S0", "E0"), theirs("S1", "E1"), theirs("S2", "E2", plan="P2"),
                             theirs("S2", "E2"), changed, theirs("S4", "E4")])  # fmt: skip
    ((summary, rows, _),) = store.reconciled
    section, _ = collect_reconciliation(Stored(summary, rows), "2024-01-01")  # type: ignore[arg-type]
    listed = [(r["member_id"], r["field"], r["code"], r["side"]) for r in section["discrepancies"]]
    assert listed == [
        ("E3", "member", "U", "missing_at_insurer"),
        ("E6", "insurer_member_id", "G", "both"),
        ("E2", "member", "I", "duplicate_at_insurer"),
        ("E2", "plan", "I", "both"),
        ("E0", "member", "U", "insurer_only"),
    ]
    (file,) = section["files"]
    assert file["by_code"] == {"missing_at_insurer": 1, "insurer_id_changed": 1,
                               "field_mismatch": 1, "duplicate_at_insurer": 1,
                               "insurer_only": 1, "not_provided": 0}  # fmt: skip
    text = "\n".join(reconciliation_text(section, 10))
    assert ("by what needs action first: 1 missing at the insurer (U); 1 insurer id changed (G); "
            "1 fields differing (I); 1 listed twice by the insurer (I); 1 only at the insurer (U)"
            ) in text  # fmt: skip


def test_the_insurers_roster_is_read_not_its_sets_and_an_older_table_walks_them_as_before() -> None:
    """Who is missing at the insurer comes from its roster (every family sent to it, in
    pages), not from every set sent and each set's members; a table older than the roster
    walks its sets instead, with the same result. Sets sent before the roster began but
    written by code with the roster (a first day's files, dated earlier) are not walked."""
    results = []
    for began, rostered in (("2000-01-01T00:00:00Z", False), ("9999", True), (None, False)):
        store, shelf = day(), Shelf()
        store.roster_began, store.sets_rostered = began, rostered
        reconcile(store, shelf, [theirs("S1", "E1"), theirs("S4", "E4")])
        ((summary, rows, _),) = store.reconciled
        results.append([(r["member_id"], r["code"], r["side"]) for r in rows])
        assert store.sets_walked == (0 if began else len(store.sets))
        assert summary.missing_at_insurer == 2  # E2 and E3: confirmed, in force, not held
    assert results[0] == results[1] == results[2]
