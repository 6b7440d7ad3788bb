"""The pipeline on moto: every case the world throws at it (issue: tracker pipeline)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from acktrack.handlers import wiring
from acktrack.store.models import SetItem
from acktrack.synthetic.acknowledgments import GroupResponse, SetResponse
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.integration.conftest import Day, requests
from tests.support import SAMPLES

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)  # well past the 48 h SLA of files sent 2024-01-15


def rows_by_status(report: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in report["unconfirmed"]:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


def test_every_member_of_an_outbound_834_is_tracked(day: Day) -> None:
    _, generated = day.send("a.834", members=12, sets_per_group=2, seed=1)
    within = day.report(datetime(2024, 1, 15, 20, 0, tzinfo=UTC))
    assert within["summary"]["members_sent"] == 12
    assert within["summary"]["pending_within_sla"] == 12
    assert within["summary"]["pending_overdue"] == within["summary"]["confirmed"] == 0
    overdue = day.report(AS_OF)
    assert overdue["summary"]["pending_overdue"] == 12
    rows = overdue["unconfirmed"]
    assert sorted(row["subscriber_id"] for row in rows) == sorted(
        m.subscriber_id for _, m in generated.all_members()
    )
    row = rows[0]
    assert {row["status"], row["partner"], row["interchange_control"], row["group_control"]} == {
        "overdue", "HEALTHPLAN01", "000001001", "1",
    }  # fmt: skip
    assert row["age_hours"] == pytest.approx(115.0)
    assert "no acknowledgment received" in row["reason"] and "SLA 48" in row["reason"]


def test_a_999_accepts_one_set_and_rejects_another_with_the_error_on_its_member(day: Day) -> None:
    data, generated = day.send("a.834", members=8, sets_per_group=2, seed=3, errors=["bad_ins03:2"])
    day.answer("a.999", data)
    report = day.report(AS_OF)
    first_set = generated.sets[0]
    assert report["summary"]["confirmed"] == generated.sets[1].members
    assert report["summary"]["rejected"] == first_set.members
    rows = {row["member_ordinal"]: row for row in report["unconfirmed"]}
    assert set(rows) == {m.ordinal for m in first_set.member_detail}
    culprit = rows[2]["reason"]
    assert "999 IK5 R" in culprit and "IK3 8" in culprit and "INS segment at position" in culprit
    assert "invalid code value in INS03 (element 875), value '099'" in culprit
    assert "set rejected for errors in 1 other segment(s)" in rows[1]["reason"]
    (rejection,) = report["rejections"]
    (verdict,) = rejection["verdicts"]
    assert verdict["errors"][0]["member"]["ordinal"] == 2
    assert verdict["errors"][0]["position"] == first_set.member_detail[1].first_position


@pytest.mark.parametrize("order", ["999 then TA1", "TA1 then 999"])
def test_a_ta1_rejection_rejects_every_member_whatever_the_999_says(day: Day, order: str) -> None:
    data, _ = day.send("a.834", members=6, seed=4)
    steps = [
        lambda: day.answer("a.999", data, with_ta1=False),
        lambda: day.answer_ta1(
            "a.ta1", insurer="HEALTHPLAN01", control="000001001", status="R", note="024"
        ),
    ]
    for step in steps if order == "999 then TA1" else reversed(steps):
        step()
    report = day.report(AS_OF)
    assert report["summary"]["rejected"] == 6 and report["summary"]["confirmed"] == 0
    assert all("TA1 R" in row["reason"] and "024" in row["reason"] for row in report["unconfirmed"])


def test_ik5_e_is_confirmed_with_a_warning_kept(day: Day) -> None:
    day.send("a.834", members=5, seed=5)
    day.answer_999(
        "a.999", insurer="HEALTHPLAN01", groups=[GroupResponse("1", [SetResponse("0001", "E")])]
    )
    report = day.report(AS_OF)
    assert report["summary"]["confirmed"] == 5
    assert report["summary"]["accepted_with_errors"] == 5
    assert report["unconfirmed"] == []


def test_a_999_without_ak2_loops_speaks_for_every_set_of_the_group(day: Day) -> None:
    day.send("a.834", members=9, sets_per_group=3, seed=6)
    day.answer_999(
        "a.999",
        insurer="HEALTHPLAN01",
        groups=[GroupResponse("1", None, status="R", codes=["5"], included=3)],
    )
    report = day.report(AS_OF)
    assert report["summary"]["rejected"] == 9
    assert all(
        "AK9 R" in row["reason"] and "for the whole group" in row["reason"]
        for row in report["unconfirmed"]
    )


def test_acknowledgments_that_arrive_first_are_kept_and_applied_later(day: Day) -> None:
    from tests.support import generate

    data, _ = generate(members=7, seed=7)
    day.answer("early.999", data)  # the insurer's answer lands before our copy of the 834
    early = day.report(AS_OF)
    assert {ack["kind"] for ack in early["unmatched_acks"]} == {"999", "TA1"}
    assert early["summary"]["members_sent"] == 0
    day.drop("outbound", "late.834", data)
    late = day.report(AS_OF)
    assert late["summary"]["confirmed"] == 7
    assert late["unmatched_acks"] == []


def test_the_same_object_delivered_twice_is_idempotent(day: Day) -> None:
    data, _ = day.send("a.834", members=10, seed=8)
    reply = day.answer("a.999", data)
    once = day.table()
    day.stack.redeliver(day.outbound, "outbound/a.834")
    day.stack.redeliver(day.inbound, "inbound/a.999")
    assert day.table() == once
    assert day.report(AS_OF)["summary"]["members_sent"] == 10
    day.drop("inbound", "a.999", reply, deliveries=3)  # stored again, several deliveries
    assert day.report(AS_OF)["summary"]["confirmed"] == 10


def test_the_same_interchange_under_a_second_key_is_recorded_once(day: Day) -> None:
    data, _ = day.send("a.834", members=10, seed=9)
    day.drop(
        "outbound", "copy-of-a.834", data.replace(b"~\n", b"~\r\n")
    )  # same content, other line ends
    report = day.report(AS_OF)
    assert report["summary"]["members_sent"] == 10
    (notice,) = report["notices"]
    assert notice["kind"] == "duplicate_interchange"
    assert notice["keys"] == ["outbound/a.834", "outbound/copy-of-a.834"]


def test_a_reused_isa13_is_flagged_and_a_ta1_is_placed_by_its_date(day: Day) -> None:
    from datetime import datetime as naive

    day.send("monday.834", members=4, seed=10, interchange_control=77)
    day.send(
        "tuesday.834",
        members=6,
        seed=11,
        interchange_control=77,
        first_group_control=2,
        sent_at=naive(2024, 1, 16, 9, 30),
    )
    report = day.report(AS_OF)
    assert report["summary"]["members_sent"] == 10
    assert [n["kind"] for n in report["notices"]] == ["interchange_control_reused"]
    day.answer_ta1(
        "t.ta1", insurer="HEALTHPLAN01", control="000000077", status="R", date="240116", time="0930"
    )
    after = day.report(AS_OF)
    assert after["summary"]["rejected"] == 6  # Tuesday's file only: the TA1's date and time pick it
    assert after["unmatched_acks"] == []


def test_a_ta1_for_a_reused_isa13_with_the_same_date_is_ambiguous(day: Day) -> None:
    day.send("one.834", members=4, seed=12, interchange_control=78)
    day.send("two.834", members=5, seed=13, interchange_control=78, first_group_control=2)
    day.answer_ta1("t.ta1", insurer="HEALTHPLAN01", control="000000078", status="R")
    report = day.report(AS_OF)
    assert report["summary"]["rejected"] == 0
    (ack,) = report["unmatched_acks"]
    assert ack["state"] == "ambiguous" and "cannot tell them apart" in ack["reason"]


@pytest.mark.parametrize("order", ["999 before the reuse", "999 after the reuse"])
def test_a_reused_gs06_makes_its_999_ambiguous_in_any_order(day: Day, order: str) -> None:
    data, _ = day.send("a.834", members=4, seed=14, interchange_control=101)
    answer = lambda: day.answer("a.999", data, with_ta1=False)  # noqa: E731
    reuse = lambda: day.send("b.834", members=3, seed=15, interchange_control=102)  # noqa: E731
    for step in (answer, reuse) if order == "999 before the reuse" else (reuse, answer):
        step()
    report = day.report(AS_OF)
    assert report["summary"]["confirmed"] == 0
    assert report["summary"]["pending_overdue"] == 7
    (ack,) = report["unmatched_acks"]
    assert ack["state"] == "ambiguous"
    assert "group_control_reused" in [n["kind"] for n in report["notices"]]


def test_acknowledgments_that_match_nothing_are_kept_and_reported(day: Day) -> None:
    day.send("a.834", members=3, seed=16)
    day.answer_999(
        "x.999", insurer="HEALTHPLAN01", groups=[GroupResponse("55", [SetResponse("0001", "A")])]
    )
    day.answer_ta1("x.ta1", insurer="HEALTHPLAN01", control="000000999", status="A")
    day.answer_999("y.999", insurer="HEALTHPLAN01",
                   groups=[GroupResponse("1", [SetResponse("0001", "A"), SetResponse("0042", "A")])])  # fmt: skip
    report = day.report(AS_OF)
    reasons = sorted(ack["reason"] for ack in report["unmatched_acks"])
    assert reasons == [
        "no functional group GS06 55 was sent to HEALTHPLAN01",
        "no interchange ISA13 000000999 was sent to HEALTHPLAN01",
    ]
    assert report["summary"]["confirmed"] == 3  # the known set of y.999 still counts


def test_identical_control_numbers_to_two_insurers_never_cross(day: Day) -> None:
    day.send("health.834", members=4, seed=17, receiver_id="HEALTHPLAN01")
    day.send("dental.834", members=5, seed=18, receiver_id="DENTALCO")
    day.answer_999(
        "dental.999", insurer="DENTALCO", groups=[GroupResponse("1", [SetResponse("0001", "A")])]
    )
    report = day.report(AS_OF)
    partners = {p["partner"]: p for p in report["by_partner"]}
    assert partners["DENTALCO"]["confirmed"] == 5
    assert (
        partners["HEALTHPLAN01"]["confirmed"] == 0
        and partners["HEALTHPLAN01"]["pending_overdue"] == 4
    )


def test_an_834_with_envelope_and_content_errors_is_tracked_with_its_findings(day: Day) -> None:
    day.send("bad.834", members=6, seed=19, errors=["bad_se_count", "bad_ins03:2"])
    report = day.report(AS_OF)
    assert report["summary"]["members_sent"] == 6
    (item,) = list(SetItem.query("GS#ACKTRACKEXCH#HEALTHPLAN01#1", SetItem.sk.startswith("SET#")))
    found = {(f["scheme"], f["code"]) for f in item.findings}
    assert found == {("IK5", "4"), ("IK4", "7")}
    assert item.predicted_rejection is True
    assert all("predicted a rejection" in row["reason"] for row in report["unconfirmed"])


BAD_FILES = {
    "empty.834": (b"", "not readable as X12: the file is empty"),
    "binary.834": (bytes(range(256)) * 8, "not readable as X12: the file is binary, not X12 text"),
    "notes.csv": (
        b"name,ssn\nA,1\n",
        "not readable as X12: the file does not start with an ISA segment",
    ),
    "truncated.834": (None, "damaged or truncated: TA1 023"),
    "a999.x12": (
        (SAMPLES / "834_5members.pyx12.999").read_bytes(),
        "an outbound file must hold 834 transaction sets",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_unreadable_files_are_quarantined_with_a_reason_and_others_go_on(
    day: Day, name: str
) -> None:
    from tests.support import generate

    data, reason = BAD_FILES[name]
    if data is None:
        data, _ = generate(members=5, seed=20, errors=["truncate"])
    results = day.drop("outbound", name, data)
    assert all(result.ok for result in results)  # the handler did not crash
    day.send("good.834", members=4, seed=21)
    report = day.report(AS_OF)
    (quarantined,) = report["quarantined"]
    assert quarantined["key"] == f"outbound/{name}" and quarantined["reason"].startswith(reason)
    copy = day.stack.client("s3").head_object(
        Bucket=day.outbound, Key=f"quarantine/outbound/{name}"
    )
    assert copy["Metadata"]["acktrack-reason"].startswith(reason[:40])
    assert day.metrics()["FilesQuarantined"] == 1
    assert report["summary"]["members_sent"] == 4


def test_an_inbound_file_without_acknowledgments_or_834s_is_quarantined(day: Day) -> None:
    buffer = io.BytesIO()
    write_834(EnrollmentSpec(members=3, seed=26), buffer)
    not_ours = buffer.getvalue().replace(b"ST*834*", b"ST*820*").replace(b"GS*BE*", b"GS*RA*")
    day.drop("inbound", "remittance.x12", not_ours)
    (item,) = day.report(AS_OF)["quarantined"]
    assert item["key"] == "inbound/remittance.x12"
    assert (
        "must hold 999, 997 or TA1 acknowledgments, 824 application advice, an effectuation 834, or an insurer's population"
        in item["reason"]
    )
    assert "1 x 820" in item["reason"]


def test_a_crash_goes_to_the_on_failure_destination_after_retries(day: Day) -> None:
    day.stack.client("dynamodb").delete_table(TableName=day.stack.table)  # the store is gone
    results = day.drop("outbound", "a.834", (SAMPLES / "834_5members.834").read_bytes())
    (result,) = results
    assert not result.ok and result.attempts == 3  # the first try and MaximumRetryAttempts: 2
    (failure,) = day.stack.failures()
    assert failure["requestContext"]["condition"] == "RetriesExhausted"
    assert failure["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "outbound/a.834"


def test_a_999_for_a_large_set_costs_requests_per_set_not_per_member(day: Day) -> None:
    data, _ = day.send("big.834", members=2000, seed=22, dependents=0.0)
    with requests() as calls:
        day.answer("big.999", data, with_ta1=False)
    assert sum(calls.values()) <= 12, calls
    assert "BatchWriteItem" not in calls


def test_ingest_writes_members_in_batches(day: Day) -> None:
    from tests.support import generate

    data, generated = generate(members=1000, seed=23)
    families = len({member.subscriber_id for _, member in generated.all_members()})
    with requests() as calls:
        day.drop("outbound", "batch.834", data)
    # 1,000 member items and each family's roster item, 25 per request (the set is created
    # in a transaction)
    items = 1000 + families
    assert calls["BatchWriteItem"] == -(-items // 25)
    reads = ("Query", "GetItem", "BatchGetItem")
    writes = sum(count for name, count in calls.items() if name not in reads)
    assert writes <= items / 20  # at most one write request per 20 items


def test_the_report_reads_the_sparse_index_and_never_scans(day: Day) -> None:
    data, _ = day.send("a.834", members=50, seed=24)
    day.answer("a.999", data)
    day.send("b.834", members=20, seed=25, interchange_control=1002, first_group_control=2)
    with requests() as calls:
        report = day.report(AS_OF)
    assert "Scan" not in calls
    assert report["summary"]["confirmed"] == 50 and report["summary"]["pending_overdue"] == 20
    assert json.loads(json.dumps(report)) == report  # the archive is plain JSON, round-tripped


def test_a_999_with_thousands_of_errors_or_oversized_values_is_stored_bounded_and_applied(
    day: Day,
) -> None:
    from acktrack.synthetic.acknowledgments import ElementErrorSpec, SegmentErrorSpec

    _, generated = day.send("big.834", members=400, seed=27, dependents=0.0)
    (sent,) = generated.sets
    members = list(generated.all_members())
    errors = [
        SegmentErrorSpec("INS", member.first_position, "8", "2000",
                         (ElementErrorSpec(3, "875", "7", "X" * 5000),))  # an IK404 far past X12's 99
        for _, member in members
    ]  # fmt: skip
    day.answer_999(
        "big.999",
        insurer="HEALTHPLAN01",
        groups=[GroupResponse("1", [SetResponse(sent.transaction_control, "R", ["5"], errors)])],
    )
    report = day.report(AS_OF)
    assert report["quarantined"] == [] and report["summary"]["rejected"] == 400
    rows = {row["member_id"]: row for row in report["unconfirmed"]}
    first, last = members[0][1], members[-1][1]
    # The first 100 errors are kept and attributed to their members; the rest are counted.
    assert (
        "IK4 7" in rows[first.member_id]["reason"]
        and "X" * 100 not in rows[first.member_id]["reason"]
    )
    assert rows[last.member_id]["status"] == "rejected"
    assert "300 more" in json.dumps(report["rejections"])


@pytest.mark.slow
@pytest.mark.parametrize("parameters", [{"FirstPassPeople": 0}, {}], ids=["backlog", "first-pass"])
def test_the_report_reads_follow_the_backlog_not_what_is_stored(
    day: Day, parameters: dict[str, Any]
) -> None:
    """Confirmed transactions are not in the sparse index: 500 more of them change nothing,
    except through the first-pass rate (FirstPassPeople), which reads one family per person
    sent in the window, up to its budget."""
    day.send("pending.834", members=200, seed=28, dependents=0.0)

    def reads() -> tuple[int, int]:
        scanned: list[int] = []

        def count(parsed: dict[str, Any], **_: Any) -> None:
            scanned.append(int(parsed.get("ScannedCount", 0)))

        client = wiring.repository().client
        client.meta.events.register("after-call.dynamodb.Query", count)
        try:
            with requests() as calls:
                day.report(AS_OF)
        finally:
            client.meta.events.unregister("after-call.dynamodb.Query", count)
        assert "Scan" not in calls
        return sum(scanned), sum(calls.values())

    before = reads()
    data, _ = day.send("confirmed.834", members=500, seed=29, dependents=0.0, interchange_control=1002,
                       first_group_control=2, subscriber_id_start=300000001)  # fmt: skip
    day.answer("confirmed.999", data)
    after = reads()
    first_pass = parameters.get("FirstPassPeople", 20_000) > 0
    # The 200 pending members, each one's family (the ledger), their set and a few fixed items;
    # with the first-pass rate, the window's sets and families once more.
    assert before[0] <= (4 if first_pass else 2) * 200 + 50
    if not first_pass:
        assert after[0] - before[0] <= 10 and after[1] - before[1] <= 10, (before, after)
    else:  # bounded: one family and one member item per person sent, a query per chunk
        assert after[0] - before[0] <= 2 * 500 + 50 and after[1] - before[1] <= 500 + 100


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["999", "TA1"])
def test_acknowledgment_cost_follows_sets_not_members(stack: Any, kind: str) -> None:
    """The same acknowledgment for 40 sets costs the same requests with 1 or 10 members per set."""
    from tests.integration.conftest import Day

    costs = []
    for number, per_set in enumerate((1, 10)):
        day = Day(stack)
        insurer = f"PLAN{number}{kind}"
        data, generated = day.send(
            f"{kind}-{per_set}.834", members=40 * per_set, sets_per_group=40, dependents=0.0, seed=30 + number,
            receiver_id=insurer, subscriber_id_start=100000001 + number * 10_000_000,
        )  # fmt: skip
        assert len(generated.sets) == 40
        with requests() as calls:
            if kind == "999":
                day.answer(f"{kind}-{per_set}.999", data, with_ta1=False)
            else:
                day.answer_ta1(f"{kind}-{per_set}.ta1", insurer=insurer, control=generated.interchange_control,
                               status="R", note="024")  # fmt: skip
        costs.append(sum(calls.values()))
        assert "BatchWriteItem" not in calls
        # The 40 sets and their counters move in one transaction (up to 100 items each).
        assert calls["TransactWriteItems"] == 1, calls
    assert costs[0] == costs[1], costs
    # Store the acknowledgment, find its group or interchange and sets, one transaction, one
    # query for the families waiting on the group's answers (a duplicate question), settle it
    # and record the file, and its ISA13 kept for the insurer's numbering (issue 30): the
    # figure the README states (it was 85, two per set; 7 before the numbering).
    assert costs[0] == 8, costs


def test_member_level_items_expire_retention_days_after_arrival(day: Day) -> None:
    day.stack.clock = None  # arrival now: the envelopes are dated 2024
    before = int(datetime.now(UTC).timestamp())
    data, generated = day.send("a.834", members=6, seed=5)
    day.drop("inbound", "effectuation.834", _effectuation_of(data))
    after = int(datetime.now(UTC).timestamp()) + 1
    ttl = day.stack.client("dynamodb").describe_time_to_live(TableName=day.stack.table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires"
    items = day.table()
    members = [i for i in items if i["sk"]["S"].startswith("M#")]
    records = [i for i in items if i["sk"]["S"].startswith("E#")]
    assert len(members) == generated.members and records
    # The template's default RetentionDays (730), from each file's arrival: the envelopes
    # are dated 2024, and counting from them would put the expiry in the past.
    for item in members + records:
        assert before + 730 * 86400 <= int(item["expires"]["N"]) <= after + 730 * 86400
    kept = [i for i in items if i["pk"]["S"].startswith(("IC#", "GS#", "STAT#"))]
    assert kept and not any("expires" in i for i in kept)  # sets, versions and counters stay


def _effectuation_of(data: bytes) -> bytes:
    from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation

    buffer = io.BytesIO()
    spec = EffectuationSpec(insurer_control=6001, sent_at=datetime(2024, 1, 17, 12, 0))
    write_effectuation(data, buffer, spec)
    return buffer.getvalue()
