"""The report's lists that used to grow forever (issue 27, item 4), on the stack (moto):
unmatched acknowledgments, quarantined files and notices are listed for the report's window
only (read with a key condition on their time), and expire with the raw files' retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from acktrack.handlers import wiring
from acktrack.store import keys
from acktrack.store.models import NoticeItem
from acktrack.synthetic.acknowledgments import GroupResponse, SetResponse
from tests.integration.conftest import ARRIVAL, Day

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
A_MONTH_LATER = AS_OF + timedelta(days=31)


def _trouble(day: Day, tag: str) -> None:
    """One of each: a 999 for a group never sent, a file that is not X12, a duplicate."""
    day.answer_999(f"HEALTHPLAN01/stray-{tag}.999", insurer="HEALTHPLAN01",
                   groups=[GroupResponse("77", [SetResponse("0001", "A")])])  # fmt: skip
    day.drop("outbound", f"junk-{tag}.834", b"PK\x03\x04 not an interchange")
    number = 1 if tag == "jan" else 2
    data, _ = day.send(f"sent-{tag}.834", members=2, seed=90 + number,
                       interchange_control=1000 + number, first_group_control=number)  # fmt: skip
    day.drop("outbound", f"sent-{tag}-copy.834", data)


def _lists(report: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "unmatched_acks": sorted(a["key"] for a in report["unmatched_acks"]),
        "quarantined": sorted(q["key"] for q in report["quarantined"]),
        "notices": sorted(n["kind"] for n in report["notices"]),
    }


def test_a_report_a_month_later_does_not_list_last_month_s_trouble(day: Day) -> None:
    _trouble(day, "jan")
    assert _lists(day.report(AS_OF)) == {
        "unmatched_acks": ["inbound/HEALTHPLAN01/stray-jan.999"],
        "quarantined": ["outbound/junk-jan.834"],
        "notices": ["duplicate_interchange"],
    }
    later = day.report(A_MONTH_LATER)
    assert _lists(later) == {"unmatched_acks": [], "quarantined": [], "notices": []}
    assert (later["summary"]["unmatched_acks"], later["summary"]["quarantined"]) == (0, 0)
    # What came that month is listed in its own window, and nothing older with it.
    day.stack.clock = lambda: A_MONTH_LATER - timedelta(hours=5)
    _trouble(day, "feb")
    assert _lists(day.report(A_MONTH_LATER)) == {
        "unmatched_acks": ["inbound/HEALTHPLAN01/stray-feb.999"],
        "quarantined": ["outbound/junk-feb.834"],
        "notices": ["duplicate_interchange"],
    }


def _expiry(item: dict[str, Any]) -> datetime | None:
    return datetime.fromtimestamp(int(item["expires"]["N"]), UTC) if "expires" in item else None


@pytest.mark.parametrize("parameters", [{"RawRetentionDays": "400"}])
def test_what_the_lists_hold_expires_with_the_raw_files(
    day: Day, parameters: dict[str, Any]
) -> None:
    _trouble(day, "jan")
    day.answer("HEALTHPLAN01/sent-jan.999", day.send("other.834", members=1, seed=93,
                                                      interchange_control=1003,
                                                      first_group_control=3)[0])  # fmt: skip
    items = day.table()
    lists = (keys.REPORT_NOTICE, keys.REPORT_QUARANTINE, keys.REPORT_UNMATCHED)
    listed = {item["rk"]["S"]: item for item in items if item.get("rk", {}).get("S") in lists}
    assert sorted(listed) == sorted(lists)
    for item in listed.values():
        assert _expiry(item) == ARRIVAL + timedelta(days=400)  # the file's arrival, not now
    # An acknowledgment that applied is kept with what it answered: no expiry.
    applied = [i for i in items if i["pk"]["S"].startswith("ACK#") and i["state"]["S"] == "applied"]
    assert applied and all(_expiry(item) is None for item in applied)


def test_a_notice_written_before_notices_had_a_time_is_listed_by_when_it_was_raised(
    day: Day,
) -> None:
    pk = keys.notice_pk("group_control_reused", "old")
    wiring.repository()  # bound to the stack's table
    NoticeItem(pk, "N", kind="group_control_reused", detail="GS06 5 was used twice",
               created_at="2024-01-18T09:00:00Z", rk=keys.REPORT_NOTICE,
               rs=f"group_control_reused#{pk}").save()  # fmt: skip
    assert _lists(day.report(AS_OF))["notices"] == ["group_control_reused"]
    assert _lists(day.report(A_MONTH_LATER))["notices"] == []
