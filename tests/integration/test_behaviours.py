"""Behaviours no test covered yet (issue 14, item 11): odd S3 keys, report time zones,
objects overwritten or deleted under the same key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.conftest import Day

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", ["my file.834", "a+b=c.834", "zürich ñandú 医疗.834", "100%.834"])
def test_keys_with_spaces_plus_and_non_ascii_letters(day: Day, name: str) -> None:
    day.drop("outbound", name, b"not X12 at all, quarantined with its key")
    day.send("good.834", members=2, seed=60)
    report = day.report(AS_OF)
    (item,) = report["quarantined"]
    assert item["key"] == f"outbound/{name}"  # the event's URL-encoded key decoded exactly
    assert item["quarantine_key"] == f"quarantine/outbound/{name}"
    day.stack.client("s3").head_object(Bucket=day.outbound, Key=item["quarantine_key"])
    assert report["summary"]["members_sent"] == 2


def test_an_object_overwritten_under_the_same_key_is_tracked_as_a_new_version(day: Day) -> None:
    first, _ = day.send("a.834", members=3, seed=61)
    second, _ = day.send(
        "a.834", members=5, seed=62, interchange_control=1002, first_group_control=2
    )
    report = day.report(AS_OF)
    assert report["summary"]["members_sent"] == 8  # both versions' members, neither lost
    assert first != second


def test_a_deleted_object_keeps_what_was_tracked(day: Day) -> None:
    day.send("a.834", members=3, seed=63)
    day.stack.client("s3").delete_object(Bucket=day.outbound, Key="outbound/a.834")
    report = day.report(AS_OF)
    assert report["summary"]["members_sent"] == 3 and report["summary"]["pending_overdue"] == 3


NEW_YORK, AUCKLAND, LOS_ANGELES = (
    {"ReportTimezone": zone}
    for zone in ("America/New_York", "Pacific/Auckland", "America/Los_Angeles")
)


@pytest.mark.parametrize(
    ("parameters", "as_of", "date"),
    [
        (NEW_YORK, datetime(2024, 3, 10, 6, 30, tzinfo=UTC), "2024-03-10"),
        (NEW_YORK, datetime(2024, 11, 3, 5, 30, tzinfo=UTC), "2024-11-03"),
        (AUCKLAND, datetime(2024, 1, 19, 12, 0, tzinfo=UTC), "2024-01-20"),
        (LOS_ANGELES, datetime(2024, 1, 20, 7, 0, tzinfo=UTC), "2024-01-19"),
    ],
    ids=["new-york-dst-starts", "new-york-dst-ends", "auckland-next-day", "los-angeles-previous-day"],
)  # fmt: skip
def test_report_dates_follow_the_report_time_zone(
    day: Day, parameters: dict[str, Any], as_of: datetime, date: str
) -> None:
    day.send("a.834", members=2, seed=64)
    run = day.stack.run_schedule(as_of)
    assert run.ok, run.error
    (message,) = day.emails()
    assert message["Subject"].startswith(f"acktrack {date}:")
    day.stack.client("s3").head_object(
        Bucket=day.stack.bucket("Reports"), Key=f"reports/sent/{date}.json"
    )  # one email per date in the report's own time zone
