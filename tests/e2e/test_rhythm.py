"""Gaps in control numbers and insurers gone quiet, on the local stack: a file never copied
here shows as a missing number after a run, until it comes; an insurer that stops
answering while 834s await its answer is named silent, with a metric for the alarm."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from acktrack.handlers import wiring
from acktrack.report.insights import stats
from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.reliability.support import File, deliver, fresh_stack, report_state

START = datetime(2024, 1, 10, 8, 0)
HISTORY = {"SequenceHistory": 3}


def _834(number: int) -> bytes:
    buffer = io.BytesIO()
    write_834(EnrollmentSpec(members=2, seed=number, sent_at=START + timedelta(hours=number),
                             interchange_control=number, first_group_control=number,
                             subscriber_id_start=100000001 + 100 * number, dependents=0.0),
              buffer)  # fmt: skip
    return buffer.getvalue()


def _day(stack: Any, numbers: list[int], answered: list[int]) -> None:
    """Our 834s ``numbers``, each answered (999 with its TA1; the insurer's ISA13 9000+n)
    an hour later when in ``answered``; each file arrives when it was sent."""
    for number in numbers:
        sent = _834(number)
        stack.clock = lambda n=number: (START + timedelta(hours=n)).replace(tzinfo=UTC)
        deliver(stack, File("outbound", f"{number}.834", sent))
        if number in answered:
            answer = respond(sent, insurer_control=9000 + number,
                             sent_at=START + timedelta(hours=number + 1))  # fmt: skip
            stack.clock = lambda n=number: (START + timedelta(hours=n + 1)).replace(tzinfo=UTC)
            deliver(stack, File("inbound", f"HEALTHPLAN01/{number}.999", answer))


def test_a_number_missing_after_a_run_is_a_gap_until_it_comes() -> None:
    with fresh_stack(HISTORY) as stack:
        _day(stack, [1, 2, 3, 4, 6, 7], answered=[1, 2, 3, 4, 6, 7])
        report = report_state(stack, datetime(2024, 1, 11, 7, tzinfo=UTC))
        gaps = {(g["direction"], g["level"]): g["missing"] for g in report["control_gaps"]}
        # Our ISA13 and GS06 5 never came, nor the insurer's 9005 (it answered 5 never sent).
        assert gaps == {("outbound", "interchange"): [5], ("outbound", "group"): [5],
                        ("inbound", "interchange"): [9005]}  # fmt: skip
        assert report["summary"]["control_gaps"] == 3
        _day(stack, [5], answered=[5])
        later = report_state(stack, datetime(2024, 1, 11, 7, tzinfo=UTC))
    assert later["control_gaps"] == [] and later["summary"]["control_gaps"] == 0


def test_an_insurer_quiet_past_its_usual_interval_with_834s_waiting_is_silent() -> None:
    with fresh_stack(HISTORY) as stack:
        _day(stack, list(range(1, 11)), answered=list(range(1, 9)))  # hourly answers, then none
        soon = report_state(stack, START.replace(tzinfo=UTC) + timedelta(hours=9, minutes=30))
        late = report_state(stack, START.replace(tzinfo=UTC) + timedelta(hours=20))
        (insurer,) = stats(wiring.repository(), START.replace(tzinfo=UTC), people=0)["insurers"]
    # acktrack stats: its last file (the usual interval is learned from the last 30 days to now)
    assert insurer["last_arrival"].startswith("2024-01-10T17:00")
    assert "usual_interval_hours" in insurer
    assert soon["silent_insurers"] == []  # within its usual hour
    (silent,) = late["silent_insurers"]
    assert silent["partner"] == "HEALTHPLAN01" and silent["usual_interval_hours"] == 1.0
    assert silent["silent_since"].startswith("2024-01-10T17:00")
    assert silent["awaiting_answer"] == 4  # the two 834s unanswered, two members each
    assert late["summary"]["silent_insurers"] == 1
