"""Expected enrollment actions on the local stack: the exchange's extract under expected/
names what its system did; an action no 834 sent to the insurer by its due time is listed
as never sent, whatever order the files come in, however often, whole or in parts."""

from __future__ import annotations

import io
import random
from datetime import timedelta
from typing import Any

import pytest

from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.reliability.support import AS_OF, SENT, File, deliver, fresh_stack, report_state

OURS = {"OurSenderIds": "ACKTRACKEXCH"}
COLUMNS = "insurer_id,subscriber_id,member_id,maintenance_type,effective_date,action_id,created_at"
CREATED = (SENT - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")  # before the 834 was sent


def _sent() -> tuple[File, Any]:
    buffer = io.BytesIO()
    generated = write_834(EnrollmentSpec(members=8, seed=7, sent_at=SENT, dependents=0.5), buffer)
    return File("outbound", "day.834", buffer.getvalue()), generated


SENT_FILE, GENERATED = _sent()
MEMBERS = [m for s in GENERATED.sets for m in s.member_detail]
SUBSCRIBER = next(m for m in MEMBERS if m.is_subscriber)


def _rows() -> list[str]:
    rows = [  # every member sent, by its member id; its subscriber's own with none
        f"HEALTHPLAN01,{m.subscriber_id},{m.member_id},021,20240201,A-{m.number},{CREATED}"
        for m in MEMBERS
    ]
    rows[0] = (
        f"HEALTHPLAN01,{SUBSCRIBER.subscriber_id},,021,20240201,A-{SUBSCRIBER.number},{CREATED}"
    )
    return [
        *rows,
        f"HEALTHPLAN01,999000001,E1,021,20240201,NEVER-1,{CREATED}",  # no 834 at all
        f"HEALTHPLAN01,{SUBSCRIBER.subscriber_id},{SUBSCRIBER.member_id},024,20240201,NEVER-2,"
        f"{CREATED}",  # a termination never sent (only the addition was)
        f"HEALTHPLAN01,{SUBSCRIBER.subscriber_id},{SUBSCRIBER.member_id},021,20240201,NEVER-3,"
        f"{(SENT + timedelta(hours=3)).strftime('%Y-%m-%dT%H:%M:%SZ')}",  # created after it was sent
    ]


ROWS = _rows()
EXTRACT = File(
    "expected", "actions.csv", ("\ufeff" + COLUMNS + "\r\n" + "\r\n".join(ROWS) + "\r\n").encode()
)
NEVER = ["NEVER-1", "NEVER-2", "NEVER-3"]


def _never_sent(files: list[File], parameters: dict[str, Any], deliveries: int = 1,
                as_of: Any = AS_OF) -> tuple[dict[str, Any], list[Any]]:  # fmt: skip
    with fresh_stack({**OURS, **parameters}) as stack:
        invocations = [i for file in files for i in deliver(stack, file, deliveries)]
        assert not stack.failed_executions()
        return report_state(stack, as_of), invocations


@pytest.fixture(scope="module")
def whole() -> dict[str, Any]:
    report, _ = _never_sent([EXTRACT, SENT_FILE], {})
    return report


def test_an_action_no_834_sent_is_listed_as_never_sent_with_its_ids(whole: dict[str, Any]) -> None:
    assert whole["summary"]["never_sent"] == 3
    assert sorted(a["action_id"] for a in whole["never_sent"]) == NEVER
    first = next(a for a in whole["never_sent"] if a["action_id"] == "NEVER-1")
    assert first == {"partner": "HEALTHPLAN01", "subscriber_id": "999000001", "member_id": "E1",
                     "maintenance_type": "021", "action_id": "NEVER-1",
                     "expected_by": "2024-01-16T10:00:00Z"}  # fmt: skip
    assert whole["never_sent_by_partner"] == [{"partner": "HEALTHPLAN01", "never_sent": 3}]
    assert whole["summary"]["all_confirmed"] is False


@pytest.mark.parametrize("seed", [1, 2])
def test_any_order_twice_delivered_or_in_parts_gives_the_same_answer(
    whole: dict[str, Any], seed: int
) -> None:
    files = random.Random(seed).sample([EXTRACT, SENT_FILE], 2)
    report, invocations = _never_sent(files, {"PartMembers": 3}, deliveries=2)
    parts = [i for i in invocations if i.function == "IngestPartFunction" and i.ok]
    assert len(parts) >= 4  # 11 rows in parts of 3, and its Finish
    assert report["never_sent"] == whole["never_sent"]
    assert report["summary"]["never_sent"] == 3


def test_an_action_sent_after_its_due_time_closes_itself() -> None:
    with fresh_stack(OURS) as stack:
        deliver(stack, EXTRACT)
        before = report_state(stack)
        assert before["summary"]["never_sent"] == len(ROWS)  # nothing sent yet, all past due
        deliver(stack, SENT_FILE)
        after = report_state(stack)
    assert sorted(a["action_id"] for a in after["never_sent"]) == NEVER


def test_not_yet_due_is_not_listed() -> None:
    report, _ = _never_sent([EXTRACT], {}, as_of=SENT.replace(tzinfo=AS_OF.tzinfo))
    assert report["summary"]["never_sent"] == 0


@pytest.mark.parametrize("header", [COLUMNS + ",first_name", COLUMNS.replace(",member_id", "")])
def test_an_extract_with_other_columns_is_quarantined_and_nothing_is_kept(header: str) -> None:
    body = (header + "\n" + ROWS[1] + ("," if "first_name" in header else "") + "\n").encode()
    with fresh_stack(OURS) as stack:
        (invocation,) = deliver(stack, File("expected", "bad.csv", body))
        (entry,) = invocation.result["objects"]
        assert entry["outcome"] == "quarantined"
        assert "names exactly the columns" in entry["reason"]
        assert ("1 other column" in entry["reason"]) == ("first_name" in header)
        assert "first_name" not in entry["reason"]  # never quoted: a first line may be data
        report = report_state(stack)
    assert report["summary"]["never_sent"] == 0
    assert report["quarantined"][0]["key"] == "expected/bad.csv"
