"""A stack whose functions have no demographic hash key configured (``DEMOGRAPHICS_HASH_KEY``
empty: the template's ``DemographicsHashKey`` not given to them) keeps no hash at all: not of
names, birth dates, genders or SSNs, not of a person's first name and birth date. Without
the key there is nothing a hash could be compared with, and a hash under any other key
would be a fingerprint of a person kept for nothing. Through the handlers, on moto."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from acktrack.synthetic.families import Family, FamilyFile, Person, family_834
from tests.integration.conftest import Day

SETTING = "DEMOGRAPHICS_HASH_KEY"
ANN = Person("ANN", "ROE", date(1980, 1, 1), subscriber=True, member_id="E200")
BOB = Person("BOB", "ROE", date(2010, 5, 5))  # no member id: known by first name and birth
FAMILY = Family("500000888", [ANN, BOB])


@pytest.mark.parametrize("configured", [True, False], ids=["with the key", "without a key"])
def test_members_and_insurer_records_hold_hashes_only_under_the_stack_s_key(
    day: Day, configured: bool
) -> None:
    ingest = [f for f in day.stack.functions.values() if f.environment.get(SETTING)]
    assert len(ingest) >= 3  # the ingest functions are given the key by the template
    if not configured:
        for function in ingest:
            function.environment[SETTING] = ""
    (ours,) = day.drop("outbound", "family.834",
                       family_834(FamilyFile(4101, 4101, datetime(2024, 1, 15, 12, 0), [FAMILY])))  # fmt: skip
    # The insurer's own 834 echoes first names and birth dates.
    insurer = family_834(FamilyFile(6101, 6101, datetime(2024, 1, 17, 9, 0), [FAMILY],
                                    sender_id="HEALTHPLAN01", receiver_id="ACKTRACKEXCH"))  # fmt: skip
    (theirs,) = day.drop("inbound", "effectuation.834", insurer)
    assert ours.ok and theirs.ok
    items = day.table()
    members = [item for item in items if item["sk"]["S"].startswith("M#")]
    records = [item for item in items if item["sk"]["S"].startswith("E#")]
    assert len(members) == 2 and len(records) == 2
    if configured:  # the test can see a hash where one is kept
        assert all("dh" in item for item in members + records)
        return
    assert [item["sk"]["S"] for item in items if "dh" in item] == []
    # No key is not a fault: nothing says a key could not be read.
    assert "hash_key_unavailable" not in day.stack.logs.getvalue()
