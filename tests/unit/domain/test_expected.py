"""What an extract of expected enrollment actions may hold, and which member transaction
sends an action (``domain.expected``)."""

from __future__ import annotations

import contextlib
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acktrack.domain.expected import (
    EXPECTED_COLUMNS,
    ExpectedRefused,
    header_columns,
    parse_action,
    sends,
)

COLUMNS = header_columns(",".join(EXPECTED_COLUMNS))


def _row(**cells: str) -> str:
    values = {"insurer_id": "PLAN", "subscriber_id": "S1", "member_id": "M1",
              "maintenance_type": "021", "effective_date": "20260101", "action_id": "A1",
              "created_at": "2026-01-15T09:30:00Z", **cells}  # fmt: skip
    return ",".join(values[name] for name in EXPECTED_COLUMNS)


def test_a_header_naming_another_column_is_refused_with_its_name() -> None:
    with pytest.raises(ExpectedRefused, match="1 other column"):
        header_columns(",".join([*EXPECTED_COLUMNS, "first_name"]))
    with pytest.raises(ExpectedRefused, match="missing: created_at"):
        header_columns(",".join(EXPECTED_COLUMNS[:-1]))
    shuffled = list(reversed(EXPECTED_COLUMNS))
    assert header_columns("\ufeff" + ",".join(c.upper() for c in shuffled))["created_at"] == 0


@pytest.mark.parametrize(("cells", "why"), [
    ({"maintenance_type": "999"}, "INS03"),
    ({"created_at": "yesterday"}, "created_at is not a date"),
    ({"subscriber_id": ""}, "subscriber_id is empty"),
    ({"effective_date": "2026-02-30"}, "effective_date"),
    ({"action_id": "x" * 65}, "longer than 64"),
])  # fmt: skip
def test_a_bad_row_is_refused_with_its_line(cells: dict[str, str], why: str) -> None:
    with pytest.raises(ExpectedRefused, match=f"line 7: .*{why}"):
        parse_action(_row(**cells), 7, COLUMNS, 24, UTC)


def test_a_row_becomes_an_action_due_send_hours_after_it_was_created() -> None:
    eastern = ZoneInfo("America/New_York")
    action = parse_action(
        _row(member_id="", created_at="2026-01-15 09:30"), 2, COLUMNS, 24, eastern
    )
    assert action is not None
    assert (action.member_id, action.created_at, action.expected_by) == (
        None, "2026-01-15T14:30:00Z", "2026-01-16T14:30:00Z")  # fmt: skip
    assert parse_action("  ", 3, COLUMNS, 24, UTC) is None


def _sends(wanted: str | None, **member: str) -> bool:
    """Whether a member transaction (``member``: its fields) sends the action for ``wanted``."""
    values = {"member_id": "M1", "subscriber_indicator": "N", "maintenance_type": "021",
              "sent_at": "2026-01-15T10:00:00Z", **member}  # fmt: skip
    return sends(wanted, "021", "2026-01-15T09:30:00Z", **values)


def test_the_member_id_or_the_subscriber_s_own_transaction_sends_it() -> None:
    assert _sends("M1")
    assert not _sends("M2")
    assert not _sends("M1", maintenance_type="024")
    assert not _sends(None)  # no member id: the subscriber's own transaction only
    assert _sends(None, subscriber_indicator="Y", member_id="M9")
    assert _sends("M1", sent_at="2026-01-15T08:31:00Z")  # within the clock's hour
    assert not _sends("M1", sent_at="2026-01-15T08:29:00Z")  # an older transaction


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60))
def test_no_line_raises_anything_but_a_refusal(line: str) -> None:
    with contextlib.suppress(ExpectedRefused):
        parse_action(line, 2, COLUMNS, 24, UTC)
