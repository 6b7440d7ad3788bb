"""An insurer's CSV error report on the local stack: like an 824, it reopens what its 999
accepted (``rejected_after_accept``), in any order with the 834; a file with another
column is refused whole."""

from __future__ import annotations

import io
import itertools
import json
from datetime import timedelta
from typing import Any

import pytest

from acktrack.domain.status import MAX_NAMED
from acktrack.local import resources
from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.e2e.test_advice import ANSWER, SECOND, SENT_834
from tests.reliability.support import SENT, File, deliver, fresh_stack, report_state

MEMBER = SECOND.member_detail[-1]
HEADER = "subscriber_id,member_id,transaction_control,error_code,message"
ROWS = [
    f"{MEMBER.subscriber_id},{MEMBER.member_id},{SECOND.transaction_control},E17,"
    '"=HYPERLINK(""x"") plan not offered in county 12345"',
    f"300000999,,{SECOND.transaction_control},E20,no such subscriber",  # never sent: waits
]
REPORT = File("inbound", "HEALTHPLAN01/errors/2024-01-16.csv", "\n".join([HEADER, *ROWS]).encode())
DAY = [
    File("outbound", "day.834", SENT_834),
    File("inbound", "HEALTHPLAN01/day.999", ANSWER),
    REPORT,
]


OURS = {"OurSenderIds": "ACKTRACKEXCH"}  # a report before any 834 to the insurer: whose ids


def _report(files: list[File], deliveries: int = 1) -> dict[str, Any]:
    with fresh_stack(OURS) as stack:
        for file in files:
            assert all(result.ok for result in deliver(stack, file, deliveries))
        return report_state(stack)


@pytest.fixture(scope="module")
def in_order() -> dict[str, Any]:
    return _report(DAY)


def test_a_row_reopens_the_set_of_the_member_it_names(in_order: dict[str, Any]) -> None:
    rows = in_order["unconfirmed"]
    assert {row["transaction_control"] for row in rows} == {SECOND.transaction_control}
    assert {row["status"] for row in rows} == {"rejected_after_accept"}
    reason = rows[0]["reason"]
    assert "the insurer's error report: E17" in reason
    assert "HYPERLINK" not in reason and "12345" not in reason  # its message is not kept
    assert f"member {MEMBER.member_id}" in reason
    # The row names one member of a two-family set: that member only.
    assert [row["subscriber_id"] for row in rows] == [MEMBER.subscriber_id]
    assert in_order["summary"]["people_unconfirmed"] == 1
    # Counted as people: one rejected, the set's others accepted still (counters, metrics).
    assert in_order["summary"]["rejected"] == 1
    (rejection,) = [r for r in in_order["rejections"]
                    if r["transaction_control"] == SECOND.transaction_control]  # fmt: skip
    assert rejection["members"] == 1  # of the set's members, the one the row names
    assert in_order["summary"]["accepted"] == in_order["summary"]["members_sent"] - 1


def test_a_report_naming_more_members_of_a_set_than_it_keeps_by_name_rejects_it_whole() -> None:
    """A set keeps MAX_NAMED rejections member by member; past that the whole set is
    rejected (never fewer than were named) and its item stays small."""
    buffer = io.BytesIO()
    generated = write_834(EnrollmentSpec(members=130, sets_per_group=1, seed=23, sent_at=SENT,
                                         interchange_control=4101, dependents=0.0), buffer)  # fmt: skip
    (big,) = generated.sets
    rows = [
        f"{m.subscriber_id},{m.member_id},{big.transaction_control},E17,x"
        for m in big.member_detail
    ]
    files = [File("outbound", "big.834", buffer.getvalue()),
             File("inbound", "HEALTHPLAN01/big.999", respond(buffer.getvalue(), insurer_control=8101,
                                                             sent_at=SENT + timedelta(hours=2))),
             File("inbound", "HEALTHPLAN01/errors/big.csv", "\n".join([HEADER, *rows]).encode())]  # fmt: skip
    with fresh_stack(OURS) as stack:
        for file in files:
            assert all(result.ok for result in deliver(stack, file))
        report = report_state(stack)
        (item,) = [i for i in stack.client("dynamodb").scan(TableName=stack.table)["Items"]
                   if i["sk"]["S"].endswith("#" + big.transaction_control) and "acks" in i]  # fmt: skip
    assert report["summary"]["people_unconfirmed"] == big.members == 130
    late = [e for e in item["acks"]["M"].values()
            if e["M"]["event"]["S"] == "set_rejected_after_accept"]  # fmt: skip
    assert len(late) == MAX_NAMED + 1  # the rows named, then one for the whole set
    assert len(json.dumps(item)) < 60_000


@pytest.mark.parametrize("order", list(itertools.permutations(range(3)))[1:])
def test_any_order_twice_delivered_ends_the_same(
    in_order: dict[str, Any], order: tuple[int, ...]
) -> None:
    report = _report([DAY[n] for n in order], deliveries=2)
    assert report["unconfirmed"] == in_order["unconfirmed"]
    assert report["summary"] == in_order["summary"]


def test_a_report_with_a_name_column_is_quarantined_whole() -> None:
    bad = File("inbound", "HEALTHPLAN01/errors/named.csv",
               f"{HEADER},last_name\n{ROWS[1]},DOE\n".encode())  # fmt: skip
    with fresh_stack() as stack:
        deliver(stack, DAY[0])
        deliver(stack, DAY[1])
        (invocation,) = deliver(stack, bad)
        (entry,) = invocation.result["objects"]
        assert entry["outcome"] == "quarantined" and "1 other column" in entry["reason"]
        assert "last_name" not in entry["reason"]  # a first line may be data: never quoted
        assert report_state(stack)["unconfirmed"] == []


def test_a_report_before_any_834_without_our_sender_id_is_kept_aside_with_the_reason() -> None:
    with fresh_stack() as stack:
        (invocation,) = deliver(stack, REPORT)
        (entry,) = invocation.result["objects"]
        assert entry["outcome"] == "quarantined"
        assert "deliver it again once an 834 to it is tracked" in entry["reason"]


def test_a_later_report_naming_another_member_of_a_closed_set_lists_it_again() -> None:
    """Report A names one member of a two-family set; a resend of that family is confirmed,
    so the report takes the set out of its index; report B then names the other member:
    the set is listed again, and each report's rejection is an event of its own."""
    first, other = SECOND.member_detail
    row = "{0},{1},{2},E17,x"
    report_a = File("inbound", "HEALTHPLAN01/errors/a.csv", "\n".join(
        [HEADER, row.format(first.subscriber_id, first.member_id, SECOND.transaction_control)]).encode())  # fmt: skip
    report_b = File("inbound", "HEALTHPLAN01/errors/b.csv", "\n".join(
        [HEADER, row.format(other.subscriber_id, other.member_id, SECOND.transaction_control)]).encode())  # fmt: skip
    with fresh_stack(OURS) as stack:
        bus = resources.capture_events(stack.client("events"), stack.client("sqs"), stack.event_bus)
        for file in [*DAY[:2], report_a]:
            assert all(result.ok for result in deliver(stack, file))
        assert [r["subscriber_id"] for r in report_state(stack)["unconfirmed"]] == [
            first.subscriber_id
        ]
        from acktrack.ingest.resolution import resolve

        resolve(stack.repository(), partner="HEALTHPLAN01", subscriber_id=first.subscriber_id,
                reason="confirmed by phone", by="ops", caller="os-user:ops")  # fmt: skip
        assert report_state(stack)["unconfirmed"] == []  # the set leaves the index
        assert all(result.ok for result in deliver(stack, report_b))
        rows = report_state(stack)["unconfirmed"]
        assert [r["subscriber_id"] for r in rows] == [other.subscriber_id]
        assert stack.publish_events().ok
        events = resources.failures(stack.client("sqs"), [bus])
    rejected = [e["detail"]["event_id"] for e in events if e["detail-type"] == "EnrollmentRejected"]
    assert len(rejected) == len(set(rejected)) == 2


def test_the_timeline_gives_each_member_of_the_set_its_own_status() -> None:
    """``acktrack member``: the member a row names is rejected, with the row; the set's other
    family shows the 999's word, and not the row about someone else."""
    from acktrack.report.insights import timeline

    other = next(m for m in SECOND.member_detail if m.subscriber_id != MEMBER.subscriber_id)
    with fresh_stack(OURS) as stack:
        for file in DAY:
            assert all(result.ok for result in deliver(stack, file))
        named, unnamed = (timeline(stack.repository(), person.subscriber_id)
                          for person in (MEMBER, other))  # fmt: skip
    control = f"ST02 {SECOND.transaction_control}"
    (sent,) = [e for e in unnamed if e["event"] == "sent" and control in e["text"]]
    assert "status now accepted" in sent["text"]
    assert not any("E17" in e["text"] for e in unnamed)
    assert any("E17" in e["text"] for e in named)


def test_a_row_before_the_999_rejects_its_member_and_leaves_the_others_pending() -> None:
    """The report applied before the 999 came: the member it names is rejected; the set's
    other members have no answer yet, so they are pending (overdue here), counted as such,
    and not in the set's rejection."""
    report = _report([DAY[0], REPORT])
    second = {row["subscriber_id"]: row["status"] for row in report["unconfirmed"]
              if row["transaction_control"] == SECOND.transaction_control}  # fmt: skip
    assert second.pop(MEMBER.subscriber_id) == "rejected_after_accept"
    assert second and set(second.values()) == {"overdue"}
    (rejection,) = [r for r in report["rejections"]
                    if r["transaction_control"] == SECOND.transaction_control]  # fmt: skip
    assert rejection["members"] == 1
    # No 999 at all: every member sent is pending but the one the row rejects.
    assert report["summary"]["pending_overdue"] == report["summary"]["members_sent"] - 1
    assert report["summary"]["rejected"] == 1
