"""People, not transactions: resends close what they replace, operators close what insurers
never will, and the report counts people (the handlers and the CLI on moto)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from acktrack.cli import main
from acktrack.ingest.resolution import resolve
from acktrack.report.insights import render_timeline, stats, timeline
from acktrack.synthetic.resend import resend_sets
from tests.integration.conftest import SENT, Day

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
CORRECTED = {("INS", 3, "099"): "021"}


def rejected_then_resent(day: Day, *, answer_resend: bool = True) -> tuple[set[str], bytes]:
    """A file of two sets; the 999 rejects the second (a bad INS03); the team corrects that set
    and sends it again two days later. Returns the second set's subscribers and the resend."""
    data, generated = day.send(
        "a.834", members=12, sets_per_group=2, seed=71, errors=["bad_ins03:8"]
    )
    day.answer("a.999", data)
    second = {m.subscriber_id for m in generated.sets[1].member_detail}
    resend = resend_sets(data, {"0002"}, interchange_control=1002, group_control=2,
                         sent_at=SENT + timedelta(days=2), corrections=CORRECTED)  # fmt: skip
    day.drop("outbound", "a-resend.834", resend)
    if answer_resend:
        day.answer("a-resend.999", resend, hours=50)
    return second, resend


def test_a_rejected_family_sent_again_and_accepted_leaves_the_unconfirmed_list(day: Day) -> None:
    second, _ = rejected_then_resent(day)
    report = day.report(AS_OF)
    summary = report["summary"]
    assert report["unconfirmed"] == []
    assert summary["people_unconfirmed"] == 0
    assert summary["resolved_by_resend"] == 6  # the rejected set's six member transactions
    assert summary["rejected"] == 6  # the per-transaction figures keep their meaning
    assert summary["members_sent"] == 18
    assert summary["all_confirmed"] is True
    (message,) = day.emails()
    assert (
        message["Subject"]
        == "acktrack 2024-01-20: everyone confirmed (18 member transactions sent)"
    )
    assert (
        "Everyone is confirmed: of 18 member transactions, the 6 not confirmed were replaced"
        in (message.get_body(("plain",)).get_content())
    )
    assert report["rejections"] == []  # nothing left to act on
    assert [q for q in report["data_quality"] if q["kind"] == "duplicate_enrollment"] == []
    # The timeline tells the chain: rejected on day 1 with its reason, resent, accepted.
    subscriber = sorted(second)[0]
    events = timeline(day.stack.repository(), subscriber, as_of=AS_OF)
    text = render_timeline(subscriber, events)
    kinds = [e["event"] for e in events]
    assert kinds.index("sent") < kinds.index("acknowledgment") < kinds.index("closed")
    assert "rejected" in text and "resend of ISA13 000001001 ST02 0002" in text
    assert "resolved_by_resend, ISA13 000001002 ST02 0002 was confirmed" in text
    assert [e["event"] for e in events if "duplicate_enrollment" in e["text"]] == []
    # Per person: half were accepted at the first attempt; the others waited for the resend.
    (insurer,) = stats(day.stack.repository(), SENT.replace(tzinfo=UTC))["insurers"]
    assert insurer["first_pass_acceptance"] == 0.5 and insurer["first_attempts_answered"] == 12
    assert insurer["confirmations"] == 12
    assert (insurer["hours_to_confirmation_median"], insurer["hours_to_confirmation_p95"]) == (
        27.5,
        50.0,
    )


def test_a_resend_still_waiting_is_one_row_per_person_aged_from_the_first_attempt(day: Day) -> None:
    second, _ = rejected_then_resent(day, answer_resend=False)
    report = day.report(AS_OF)
    rows = report["unconfirmed"]
    assert {r["subscriber_id"] for r in rows} == second and len(rows) == 6
    assert {r["attempts"] for r in rows} == {2}
    assert {r["transaction_control"] for r in rows} == {"0002"}
    assert {r["interchange_control"] for r in rows} == {"000001002"}  # the latest attempt
    assert {r["first_sent_at"] for r in rows} == {"2024-01-15T12:00:00Z"}
    assert {r["age_hours"] for r in rows} == {115.0}  # from the first attempt, not the resend
    assert all("attempt 2, resending ISA13 000001001 ST02 0002" in r["reason"] for r in rows)
    assert report["summary"]["people_unconfirmed"] == 6
    assert report["summary"]["resolved_by_resend"] == 0


def test_the_same_addition_sent_twice_and_both_accepted_is_still_a_duplicate(day: Day) -> None:
    data, _ = day.send("a.834", members=4, seed=72, dependents=0.0)
    day.answer("a.999", data)
    again, _ = day.send("b.834", members=4, seed=72, dependents=0.0, interchange_control=1002,
                        first_group_control=2, sent_at=SENT + timedelta(days=1))  # fmt: skip
    day.answer("b.999", again, hours=30)
    report = day.report(AS_OF)
    duplicates = [q for q in report["data_quality"] if q["kind"] == "duplicate_enrollment"]
    additions = report["summary"]["members_sent"] // 2  # every member is an addition (seed 72)
    assert {q["interchange_control"] for q in duplicates} == {"000001002"}
    assert len(duplicates) == additions
    assert report["summary"]["resolved_by_resend"] == 0


def _resolve(*extra: str, table: str) -> list[str]:
    return ["resolve", *extra, "--table", table, "--region", "us-east-1"]


def test_resolve_closes_what_the_insurer_never_confirms_and_refuses_bad_input(
    day: Day, capsys: pytest.CaptureFixture[str]
) -> None:
    _, generated = day.send("quiet.834", members=4, seed=74, dependents=0.0)
    subscribers = sorted({m.subscriber_id for _, m in generated.all_members()})
    table = day.stack.table
    before = day.table()
    refusals = {
        "unknown subscriber": (["999999999", "--partner", "HEALTHPLAN01", "--reason", "x"],
                               "subscriber 999999999 is not tracked with HEALTHPLAN01"),
        "unknown insurer": ([subscribers[0], "--partner", "NOBODY", "--reason", "x"],
                            "no insurer 'NOBODY' is tracked"),
        "empty reason": ([subscribers[0], "--partner", "HEALTHPLAN01", "--reason", "  "],
                         "give a reason"),
        "unknown member": ([subscribers[0], "--partner", "HEALTHPLAN01", "--reason", "x",
                            "--member", "NOPE"], "member 'NOPE' is not tracked"),
    }  # fmt: skip
    for what, (argv, message) in refusals.items():
        assert main(_resolve(*argv, table=table)) == 2, what
        assert message in capsys.readouterr().err, what
    assert day.table() == before  # a refusal changes nothing
    # The default --by on AWS is the caller's identity (STS).
    argv = [
        subscribers[0],
        "--partner",
        "HEALTHPLAN01",
        "--reason",
        "withdrew before coverage began",
    ]
    assert main(_resolve(*argv, table=table)) == 0
    said = capsys.readouterr().out
    assert "1 open enrollment (1 member transaction) closed as resolved_by_operator" in said
    assert "arn:aws:sts::123456789012:user/moto" in said
    assert main(_resolve(*argv, table=table)) == 2  # nothing open any more
    assert "nothing is open for subscriber" in capsys.readouterr().err
    report = day.report(AS_OF)
    assert report["summary"]["resolved_by_operator"] == 1
    assert report["summary"]["people_unconfirmed"] == len(subscribers) - 1
    assert subscribers[0] not in {r["subscriber_id"] for r in report["unconfirmed"]}
    events = timeline(day.stack.repository(), subscribers[0], as_of=AS_OF)
    (resolved,) = [e for e in events if e["event"] == "resolved"]
    assert (
        "resolved by arn:aws:sts::123456789012:user/moto: withdrew before coverage began"
        in (resolved["text"])
    )
    assert "1 open attempt closed" in resolved["text"]
    # Nothing is deleted; a later transaction for the same person is tracked as usual.
    kinds = Counter(
        item["sk"]["S"][:2] for item in day.table() if item["pk"]["S"].startswith("FAM#")
    )
    assert kinds["R#"] == 1 and kinds["M#"] == len(subscribers)
    (recorded,) = [i for i in day.table() if i["sk"]["S"].startswith("R#")]
    days = (int(recorded["expires"]["N"]) - datetime.now(UTC).timestamp()) / 86400
    assert 729 < days <= 730  # RetentionDays (the template's default with --table)
    assert "refs" in recorded and "reason" in recorded


def test_a_later_transaction_after_a_resolution_is_tracked_as_usual(day: Day) -> None:
    _, generated = day.send("quiet.834", members=2, seed=75, dependents=0.0)
    first = sorted({m.subscriber_id for _, m in generated.all_members()})[0]
    done = resolve(day.stack.repository(), partner="HEALTHPLAN01", subscriber_id=first,
                   reason="confirmed by phone", by="ops", at=SENT + timedelta(days=1))  # fmt: skip
    assert (done.enrollments, done.attempts, done.recorded) == (1, 1, True)
    assert first not in {r["subscriber_id"] for r in day.report(AS_OF)["unconfirmed"]}
    # Sent after the resolution: the resolution does not reach it.
    day.send("later.834", members=2, seed=75, dependents=0.0, interchange_control=1009,
             first_group_control=9, sent_at=SENT + timedelta(days=2))  # fmt: skip
    rows = [r for r in day.report(AS_OF)["unconfirmed"] if r["subscriber_id"] == first]
    assert [(r["interchange_control"], r["attempts"]) for r in rows] == [("000001009", 1)]
