"""The report's index holds only what is open (moto): a set whose members were all closed
leaves it when the report finds so, the next report reads it no more, and it comes back
when the answer that closed it changes."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import pytest

from acktrack.synthetic.acknowledgments import write_ta1
from acktrack.synthetic.families import Person
from tests.integration.conftest import Day, requests, send_family_answered

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
BOB = Person("BOB", "DOE", date(2010, 5, 5), member_id="E2")


def _send(day: Day, control: int, sent: datetime, status: str) -> None:
    send_family_answered(day, BOB, control, sent, status)


def _listed(day: Day, control: int) -> bool:
    (item,) = [i for i in day.table() if i["sk"]["S"].startswith(f"SET#{control:09d}#")]
    return "rk" in item


def _report_requests(day: Day) -> int:
    with requests() as calls:
        day.report(AS_OF)
    return sum(calls.values())


def test_a_set_closed_by_its_resend_leaves_the_index_and_returns_if_the_resend_fails(
    day: Day,
) -> None:
    _send(day, 2001, datetime(2024, 1, 15, 12, 0), "R")
    _send(day, 2002, datetime(2024, 1, 17, 12, 0), "A")
    assert _listed(day, 2001)
    first: Any = day.report(AS_OF)
    assert first["unconfirmed"] == [] and first["summary"]["resolved_by_resend"] == 1
    assert not _listed(day, 2001)  # every member closed: out of the index
    assert day.report(AS_OF)["summary"]["resolved_by_resend"] == 0  # not read again
    # The insurer's TA1 then rejects the resend's interchange: the first set is open again.
    buffer = io.BytesIO()
    write_ta1(buffer, sender_id="HEALTHPLAN01", receiver_id="ACKTRACKEXCH",
              interchange_control=900_001, sent_at=datetime(2024, 1, 18, 9, 0),
              acknowledged_control="000002002", acknowledged_date="240117",
              acknowledged_time="1200", status="R", note="024")  # fmt: skip
    day.drop("inbound", "late.ta1", buffer.getvalue())
    assert _listed(day, 2001)
    again = day.report(AS_OF)
    assert [row["interchange_control"] for row in again["unconfirmed"]] == ["000002002"]
    assert again["unconfirmed"][0]["attempts"] == 2


@pytest.mark.parametrize("parameters", [{"FirstPassPeople": 0}])  # the rate reads what was sent
def test_a_report_after_everything_closed_reads_almost_nothing(day: Day) -> None:
    for number in range(20):
        _send(day, 3000 + 2 * number, datetime(2024, 1, 15, 12, 0), "R")
        _send(day, 3001 + 2 * number, datetime(2024, 1, 17, 12, 0), "A")
    busy = _report_requests(day)
    quiet = _report_requests(day)
    # At most 100, one query more per shard of the never-sent actions' index (16), and three
    # per insurer for its control numbers (one insurer here).
    assert quiet < busy and quiet <= 100 + 16 + 3, (busy, quiet)
