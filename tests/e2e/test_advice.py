"""Rejections after the 999, on the local stack: a 999 accepts every set, then the
insurer's 824 rejects some; their members are open again as ``rejected_after_accept``,
with the reason decoded, whatever order the three files come in, until a confirmed resend
closes them."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta
from typing import Any

import pytest

from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.advice import AdviceItemSpec, write_824
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.reliability.support import SENT, File, deliver, fresh_stack, report_state


def _834(control: int, sent_at: Any, group: int = 1) -> tuple[bytes, Any]:
    buffer = io.BytesIO()
    generated = write_834(EnrollmentSpec(members=6, sets_per_group=3, seed=17, sent_at=sent_at,
                                         interchange_control=control, first_group_control=group,
                                         dependents=0.0), buffer)  # fmt: skip
    return buffer.getvalue(), generated


SENT_834, GENERATED = _834(4001, SENT)
ANSWER = respond(SENT_834, insurer_control=8001, sent_at=SENT + timedelta(hours=2))
FIRST, SECOND, THIRD = GENERATED.sets
CANARY_DIGITS = "123456789"  # an SSN-like value an insurer's message may quote


def _advice() -> bytes:
    buffer = io.BytesIO()
    pinned = SECOND.member_detail[0]
    write_824(buffer, sender_id="HEALTHPLAN01", receiver_id="ACKTRACKEXCH", interchange_control=8101,
              sent_at=SENT + timedelta(days=1), items=[
                  AdviceItemSpec("TA", FIRST.group_control, FIRST.transaction_control, "R1"),
                  AdviceItemSpec("TR", FIRST.group_control, SECOND.transaction_control, "R2",
                                 errors=(("007", f"SSN {CANARY_DIGITS} missing"),),
                                 subscriber_id=pinned.subscriber_id),
                  AdviceItemSpec("TR", THIRD.group_control, "999", "R3", errors=(("011", ""),)),
              ])  # fmt: skip
    return buffer.getvalue()


DAY = [File("outbound", "day.834", SENT_834), File("inbound", "HEALTHPLAN01/day.999", ANSWER),
       File("inbound", "HEALTHPLAN01/day.824", _advice())]  # fmt: skip


def _report(files: list[File], deliveries: int = 1) -> dict[str, Any]:
    with fresh_stack() as stack:
        for file in files:
            assert all(result.ok for result in deliver(stack, file, deliveries))
        return report_state(stack)


@pytest.fixture(scope="module")
def in_order() -> dict[str, Any]:
    return _report(DAY)


def test_an_824_after_an_accepting_999_opens_the_set_s_members_again(
    in_order: dict[str, Any],
) -> None:
    rows = in_order["unconfirmed"]
    assert {row["transaction_control"] for row in rows} == {SECOND.transaction_control}
    assert {row["status"] for row in rows} == {"rejected_after_accept"}
    # The loop names one subscriber (REF*0F), but an 824's REF may match none of ours:
    # the whole set is rejected (an error report's rows, matched when applied, name members).
    assert len(rows) == SECOND.members == in_order["summary"]["people_unconfirmed"] == 2
    reason = rows[0]["reason"]
    assert "824 OTI TR (transaction set rejected) after the 999" in reason
    assert "TED 007: missing data" in reason and "the insurer wrote" not in reason  # TED02
    assert f"naming subscriber {SECOND.member_detail[0].subscriber_id}" in reason
    assert CANARY_DIGITS not in str(in_order)
    assert in_order["summary"]["rejected"] == SECOND.members  # counted among the rejections
    # The OTI for an ST02 never sent is kept and said, not applied.
    (unmatched,) = [a for a in in_order["unmatched_acks"] if a["kind"] == "824"] or [None]
    assert unmatched is None or "ST02 999 never sent" in unmatched["reason"]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3)))[1:])
def test_any_order_twice_delivered_ends_the_same(
    in_order: dict[str, Any], order: tuple[int, ...]
) -> None:
    report = _report([DAY[n] for n in order], deliveries=2)
    assert report["unconfirmed"] == in_order["unconfirmed"]
    assert report["summary"] == in_order["summary"]


def test_a_confirmed_resend_closes_it() -> None:
    resent, _ = _834(4002, SENT + timedelta(days=2), group=2)  # the same people, sent again
    again = respond(resent, insurer_control=8002, sent_at=SENT + timedelta(days=2, hours=2))
    report = _report([*DAY, File("outbound", "resend.834", resent),
                      File("inbound", "HEALTHPLAN01/resend.999", again)])  # fmt: skip
    assert report["unconfirmed"] == []
    assert report["summary"]["resolved_by_resend"] == SECOND.members


@pytest.mark.parametrize("advice_first", [False, True])
def test_an_824_naming_a_set_by_its_bgn02_alone_rejects_that_set(advice_first: bool) -> None:
    """OTI03 the 834's BGN02 (OTI02 TN) and no ST02: the set of that group that carried it,
    before or after the 834 is tracked."""
    buffer = io.BytesIO()
    reference = f"REF{SENT:%Y%m%d}{THIRD.transaction_control}"  # the 834's BGN02
    write_824(buffer, sender_id="HEALTHPLAN01", receiver_id="ACKTRACKEXCH", interchange_control=8102,
              sent_at=SENT + timedelta(days=1),
              items=[AdviceItemSpec("TR", THIRD.group_control, "", reference, errors=(("011", ""),))])  # fmt: skip
    advice = File("inbound", "HEALTHPLAN01/bgn.824", buffer.getvalue())
    files = [advice, *DAY[:2]] if advice_first else [*DAY[:2], advice]
    report = _report(files)
    assert {row["transaction_control"] for row in report["unconfirmed"]} == {
        THIRD.transaction_control}  # fmt: skip
    assert {row["status"] for row in report["unconfirmed"]} == {"rejected_after_accept"}
