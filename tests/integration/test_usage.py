"""Test files apart (ISA15): a stack tracks one usage (TrackedUsage); interchanges of the
other are never matched with it, are in no figure or member metric, and are listed apart."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest

from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.integration.conftest import SENT, Day

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)


def _834(usage: str, **spec: Any) -> bytes:
    buffer = io.BytesIO()
    write_834(EnrollmentSpec(sent_at=SENT, usage=usage, dependents=0.0, **spec), buffer)
    return buffer.getvalue()


def _answer(data: bytes, usage: str) -> bytes:
    reply = respond(data, insurer_control=990_001, sent_at=SENT.replace(hour=17))
    return reply.replace(b"*0*P*:~", f"*0*{usage}*:~".encode())  # the 999's own ISA15


def test_a_test_acknowledgment_never_answers_a_production_834(day: Day) -> None:
    production = _834("P", members=4, seed=61)
    day.drop("outbound", "prod.834", production)
    # The partner's test run: the same controls in a test interchange, answered in test.
    day.drop("outbound", "test.834", _834("T", members=6, seed=62))
    reply = day.drop("inbound", "test.999", _answer(production, "T"))
    (outcome,) = [o for invocation in reply for o in invocation.result["objects"]]
    assert outcome["outcome"] == "other_usage"
    report = day.report(AS_OF)
    summary = report["summary"]
    assert summary["members_sent"] == 4  # the test file is in no figure
    assert summary["confirmed"] == 0 and summary["pending_overdue"] == 4  # not answered
    assert summary["other_usage_files"] == 2
    assert report["other_usage"] == [
        {"partner": "HEALTHPLAN01", "usage": "T", "files": 2, "interchanges": 1, "sets": 1,
         "members": 6, "acknowledgments": 2},  # its 999 and TA1
    ]  # fmt: skip
    assert day.metrics()["MembersSent"] == 4
    assert day.metrics()["FilesOfOtherUsage"] == 2
    email = day.emails()[0].get_body(("plain",)).get_content()
    assert "Kept apart, another usage" in email and "2 test files" in email
    # The production answer confirms it.
    day.drop("inbound", "prod.999", _answer(production, "P"))
    assert day.report(AS_OF)["summary"]["confirmed"] == 4


@pytest.mark.parametrize("parameters", [{"TrackedUsage": "T"}])
def test_a_stack_tracking_test_files_keeps_production_apart(day: Day) -> None:
    test = _834("T", members=3, seed=63)
    day.drop("outbound", "test.834", test)
    day.drop("outbound", "prod.834", _834("P", members=5, seed=64, interchange_control=1002,
                                           first_group_control=2))  # fmt: skip
    day.drop("inbound", "test.999", _answer(test, "T"))
    summary = day.report(AS_OF)["summary"]
    assert (summary["members_sent"], summary["confirmed"]) == (3, 3)
    assert summary["other_usage_files"] == 1
