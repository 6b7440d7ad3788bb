"""What an independent security and reliability review found, each proven on the stack (moto)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.conftest import Day

AS_OF = datetime(2024, 1, 16, 12, 0, tzinfo=UTC)


def quarantined(day: Day) -> dict[str, str]:
    return {item["key"]: item["reason"] for item in day.report(AS_OF)["quarantined"]}


def test_an_insurer_folder_binds_a_file_to_that_insurer(day: Day) -> None:
    data, _ = day.send("a.834", members=4, seed=41)
    # A 999 from HEALTHPLAN01 dropped in another insurer's folder rejects nobody.
    day.answer("OTHERPLAN/a.999", data)
    reasons = quarantined(day)
    assert reasons["inbound/OTHERPLAN/a.999"].startswith(
        "the folder inbound/OTHERPLAN/ takes files from insurer 'OTHERPLAN' only; "
        "this one was sent by 'HEALTHPLAN01' (ISA06)"
    )
    assert day.report(AS_OF)["summary"]["confirmed"] == 0
    # In its own folder it is applied.
    day.answer("HEALTHPLAN01/a.999", data)
    assert day.report(AS_OF)["summary"]["confirmed"] == 4


@pytest.mark.parametrize("parameters", [{"OurSenderIds": "ACKTRACKEXCH"}])
def test_our_own_834_dropped_into_inbound_is_misplaced(
    day: Day, parameters: dict[str, Any]
) -> None:
    data, _ = day.send("a.834", members=4, seed=42)
    day.drop("inbound", "a-copy.834", data)
    report = day.report(AS_OF)
    (item,) = report["quarantined"]
    assert item["key"] == "inbound/a-copy.834"
    assert item["reason"].startswith("misplaced: ISA06 'ACKTRACKEXCH' is one of our own sender ids")
    assert report["data_quality"] == []  # no false "never sent" from reading it as effectuation


@pytest.mark.parametrize("parameters", [{"RequireInsurerFolders": "true"}])
def test_require_insurer_folders_refuses_files_directly_under_inbound(
    day: Day, parameters: dict[str, Any]
) -> None:
    data, _ = day.send("a.834", members=3, seed=43)
    day.answer("a.999", data)
    day.answer("HEALTHPLAN01/a.999", data)
    reasons = quarantined(day)
    assert list(reasons) == ["inbound/a.999"]
    assert "must be under inbound/<insurer id>/" in reasons["inbound/a.999"]
    assert day.report(AS_OF)["summary"]["confirmed"] == 3
