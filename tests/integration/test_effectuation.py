"""Confirmation beyond the 999: effectuation 834s, data-quality findings, metrics, stats, timelines."""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from acktrack.handlers import wiring
from acktrack.report.insights import render_timeline, stats, timeline
from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.integration.conftest import SENT, Day

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
SOON = SENT.replace(tzinfo=UTC) + timedelta(days=7)  # the insurer's file came on day 6
LATE = SENT.replace(tzinfo=UTC) + timedelta(days=50)  # past the 45-day effectuation SLA


def effectuation(sent: bytes, **spec: Any) -> bytes:
    buffer = io.BytesIO()
    write_effectuation(sent, buffer, EffectuationSpec(sent_at=SENT + timedelta(days=6), **spec))
    return buffer.getvalue()


def findings_by_kind(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for item in report["data_quality"]:
        found.setdefault(item["kind"], []).append(item)
    return found


def test_an_effectuation_834_marks_members_effectuated_and_flags_what_differs(day: Day) -> None:
    data, generated = day.send("a.834", members=20, seed=41, dependents=0.0)
    day.answer("a.999", data)
    members = [member for _, member in generated.all_members()]
    day.drop("inbound", "effectuation.834", effectuation(
        data, skip={20}, shift_dates={3}, change_plan={5}, terminate={7}, cancel={9}, never_sent=1,
    ))  # fmt: skip
    # The report the morning after the insurer's file: what it flags.
    report = day.report(SOON)
    # 20 sent; 19 in the insurer's file, of which two end coverage: 17 effectuated.
    assert report["summary"]["effectuated"] == 17
    by_kind = findings_by_kind(report)
    assert {kind: [item["member_id"] for item in items] for kind, items in by_kind.items()} == {
        "effective_date_differs": [members[2].member_id],
        "plan_differs": [members[4].member_id],
        "insurer_termination": [members[6].member_id],
        "insurer_cancellation": [members[8].member_id],
        "never_sent": ["X0000000"],
    }
    # Member 20 was accepted and never effectuated, 7 and 9 were ended by the insurer: after
    # 45 days, none of them has coverage in force, and each is listed.
    report = day.report(LATE)
    assert report["data_quality"] == []  # older than the report's 7-day window
    late = [row for row in report["unconfirmed"] if row["status"] == "not_effectuated"]
    assert [(row["subscriber_id"], row["member_id"]) for row in late] == [
        (members[n].subscriber_id, members[n].member_id) for n in (6, 8, 19)
    ]
    assert all("no effectuation from the insurer after 50 days" in row["reason"] for row in late)
    # Within the SLA nothing is late yet.
    assert day.report(AS_OF)["summary"]["not_effectuated"] == 0
    # The insurer's own ids are kept on the member.
    events = timeline(wiring.repository(), members[0].subscriber_id)
    effectuated = [event for event in events if event["event"] == "effectuated"]
    assert len(effectuated) == 1 and "C00000001" in effectuated[0]["text"]
    assert "POL0000001" in effectuated[0]["text"]


def test_an_effectuation_before_the_834_and_its_999_gives_the_same_state(day: Day) -> None:
    from tests.support import generate

    data, _ = generate(members=12, seed=42, sent_at=SENT)
    reply = day.answer("ignored.999", data)  # a 999 for nothing yet: kept
    insurer = effectuation(data, skip={4}, shift_dates={2})
    day.drop("inbound", "effectuation.834", insurer)
    day.drop("outbound", "a.834", data)
    early = day.report(LATE)
    early_findings = day.report(SOON)["data_quality"]
    assert early["unmatched_acks"] == []  # applied when the 834 arrived
    # Deliver everything again, in another order: nothing changes.
    day.drop("outbound", "a.834", data)
    day.drop("inbound", "effectuation.834", insurer)
    day.drop("inbound", "ignored.999", reply)
    again = day.report(LATE)
    for key in ("effectuated", "not_effectuated", "confirmed", "data_quality_findings"):
        assert again["summary"][key] == early["summary"][key], key
    assert early["summary"]["not_effectuated"] == 1
    assert {item["kind"] for item in early_findings} == {"effective_date_differs"}
    assert day.report(SOON)["data_quality"] == early_findings


@pytest.mark.parametrize("parameters", [{"EffectuationSlaDays": 0}])
def test_an_effectuation_sla_of_zero_turns_the_check_off(day: Day) -> None:
    data, _ = day.send("a.834", members=6, seed=43, dependents=0.0)
    day.answer("a.999", data)
    report = day.report(LATE)
    assert report["summary"]["not_effectuated"] == 0
    assert report["summary"]["confirmed"] == 6
    assert report["summary"]["all_confirmed"] is True


@pytest.mark.parametrize("answer_first", [True, False], ids=["999 first", "999 last"])
def test_data_quality_findings_are_recorded_at_ingest(day: Day, answer_first: bool) -> None:
    """A duplicate is judged once the earlier addition's answer is known, whichever file
    comes first; the file outcome that wrote it, its metric and the report agree."""
    first, _ = day.send("a.834", members=10, seed=44, dependents=0.0,
                        errors=["aptc_over_premium:2", "negative_premium:3", "missing_dtp_348:4"])  # fmt: skip
    if answer_first:
        day.drop("inbound", "a.999", _reply(first))
    # The same enrollments again in another interchange: duplicate enrollments once a.834 is
    # confirmed (before its 999 the question waits: a rejection would make them resends).
    again = day.drop("outbound", "b.834", _b_file())
    if not answer_first:
        assert "duplicate_enrollment" not in _findings(again)  # not yet judged
        reply = day.drop("inbound", "a.999", _reply(first))
        assert _findings(reply).get("duplicate_enrollment") == 9  # judged on the answer
    else:
        assert _findings(again).get("duplicate_enrollment") == 9
    report = day.report(AS_OF)
    by_kind = findings_by_kind(report)
    assert len(by_kind.pop("aptc_exceeds_premium")) == 1
    assert len(by_kind.pop("negative_amount")) == 1
    assert len(by_kind.pop("missing_benefit_begin")) == 1
    duplicates = by_kind.pop("duplicate_enrollment")
    # Every addition of b.834 repeats one of a.834, except the one a.834 sent without DTP*348.
    assert {item["interchange_control"] for item in duplicates} == {"000001002"}
    assert len(duplicates) == 9
    assert by_kind == {}
    assert report["summary"]["data_quality_findings"] == 12
    assert "Data quality (12 findings)" in day.emails()[0].get_body(("plain",)).get_content()
    assert day.metrics()["DataQualityFindings"] == 12  # the files' outcomes said the same


def test_a_resend_of_a_rejected_addition_is_never_a_duplicate(day: Day) -> None:
    """The corrected resend: rejected by its 999, sent again, in either arrival order."""
    first, _ = day.send("a.834", members=4, seed=46, dependents=0.0)
    rejection = _reply(first).replace(b"IK5*A", b"IK5*R*5").replace(b"AK9*A", b"AK9*R")
    again = day.drop("outbound", "b.834", _b_file(members=4, seed=46))
    reply = day.drop("inbound", "a.999", rejection)
    assert "duplicate_enrollment" not in _findings(again) | _findings(reply)
    report = day.report(AS_OF)
    assert "duplicate_enrollment" not in findings_by_kind(report)
    assert day.metrics()["DataQualityFindings"] == 0


def _b_file(members: int = 10, seed: int = 44) -> bytes:
    buffer = io.BytesIO()
    write_834(EnrollmentSpec(sent_at=SENT, members=members, seed=seed, dependents=0.0,
                             interchange_control=1002, first_group_control=2), buffer)  # fmt: skip
    return buffer.getvalue()


def _reply(data: bytes) -> bytes:
    return respond(data, insurer_control=880_001, sent_at=SENT + timedelta(hours=5))


def _findings(invocations: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for invocation in invocations:
        for outcome in invocation.result.get("objects", []):
            for kind, count in outcome.get("findings", {}).items():
                found[kind] = found.get(kind, 0) + count
    return found


def test_an_addition_and_a_cancellation_both_unconfirmed_are_reported(day: Day) -> None:
    day.send("add.834", members=3, seed=45, dependents=0.0)
    day.send("cancel.834", members=3, seed=45, dependents=0.0, maintenance={"024": 1.0},
             interchange_control=1002, first_group_control=2)  # fmt: skip
    report = day.report(AS_OF)
    pairs = findings_by_kind(report)["add_and_cancel_unconfirmed"]
    # One finding per person, on the latest attempt: the cancellation, waiting with the addition.
    assert sorted(item["maintenance_type"] for item in pairs) == ["024"] * 3
    assert len(report["unconfirmed"]) == 3  # one row per person: the cancellation, the latest


def test_family_findings_at_ingest(day: Day) -> None:
    # Two files that reuse subscriber ids for different people: second subscribers.
    day.send("a.834", members=4, seed=46, dependents=0.0)
    day.send("b.834", members=4, seed=47, dependents=0.0, interchange_control=1002,
             first_group_control=2)  # fmt: skip
    report = day.report(AS_OF)
    second = findings_by_kind(report)["second_subscriber"]
    assert {item["interchange_control"] for item in second} == {"000001002"} and len(second) == 4


def test_per_insurer_metrics(day: Day) -> None:
    data, _ = day.send("a.834", members=8, seed=48, dependents=0.0, errors=["aptc_over_premium:1"])
    day.answer("a.999", data, hours=5)
    day.send("b.834", members=5, seed=49, dependents=0.0, receiver_id="OTHERPLAN02")
    day.drop("inbound", "effectuation.834", effectuation(data, skip={8}))
    day.report(AS_OF)
    found = day.metrics()
    assert found["MembersSent"] == 13
    assert found["MembersAccepted"] == 8
    assert found["MembersEffectuated"] == 7
    assert found["DataQualityFindings"] == 1
    assert found["TimeToAcknowledgment"] == 5 * 3600
    assert found["MembersPendingOverdue"] == 5
    assert found["RejectionRate"] == 0
    first, other = day.metrics("HEALTHPLAN01"), day.metrics("OTHERPLAN02")
    assert (first["MembersSent"], first["MembersAccepted"], first["MembersEffectuated"]) == (
        8,
        8,
        7,
    )
    assert (first["DataQualityFindings"], first["TimeToAcknowledgment"]) == (1, 5 * 3600)
    assert (other["MembersSent"], other["MembersPending"], other["MembersPendingOverdue"]) == (
        5,
        5,
        5,
    )
    assert other["MembersAccepted"] == 0


def test_stats_and_member_timeline_are_exact_and_carry_no_phi(day: Day) -> None:
    data, generated = day.send("a.834", members=10, sets_per_group=2, seed=50,
                               errors=["bad_ins03:2"])  # fmt: skip
    day.answer("a.999", data, hours=4)
    day.send("b.834", members=6, seed=51, interchange_control=1002, first_group_control=2,
             subscriber_id_start=200000001)  # fmt: skip
    result = stats(wiring.repository(), datetime(2024, 1, 1, tzinfo=UTC))
    rejected = generated.sets[0].members
    assert result["members_sent"] == 16
    assert result["rejected"] == rejected
    assert result["unconfirmed"] == rejected + 6
    assert result["rejected_share"] == round(rejected / 16, 4)
    codes = {item["code"]: item["share_of_rejected"] for item in result["error_codes"]}
    assert codes["IK5 5"] == 1.0 and codes["IK4 7 (875)"] == 1.0
    (insurer,) = result["insurers"]
    assert insurer["hours_to_999_median"] == 4.0 and insurer["hours_to_999_p95"] == 4.0
    assert stats(wiring.repository(), datetime(2024, 2, 1, tzinfo=UTC))["members_sent"] == 0

    _, member = next(itertools.islice(generated.all_members(), 1, None))
    events = timeline(wiring.repository(), member.subscriber_id)
    assert [event["event"] for event in events][:2] == ["sent", "acknowledgment"]
    text = render_timeline(member.subscriber_id, events) + json.dumps(events)
    people = [m.person for _, m in generated.all_members()]
    for person in people:
        for value in (
            person.last_name,
            person.first_name,
            person.ssn,
            person.birth_date,
            person.street,
        ):
            assert value not in text
    assert "Nothing is tracked" in render_timeline(
        "999999999", timeline(wiring.repository(), "999999999")
    )
