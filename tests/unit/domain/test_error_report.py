"""What an insurer's CSV error report may hold (``domain.error_report``)."""

from __future__ import annotations

import pytest

from acktrack.domain.error_report import (
    ErrorReportRefused,
    is_error_report,
    read_error_rows,
    safe_message,
)

HEADER = "subscriber_id,member_id,transaction_control,error_code,message"


def test_only_keys_under_an_insurer_s_errors_folder_are_error_reports() -> None:
    assert is_error_report("inbound/HEALTHPLAN01/errors/2026-01-16.csv")
    assert not is_error_report("inbound/HEALTHPLAN01/population.csv")
    assert not is_error_report("inbound/errors/x.csv")  # no insurer folder


def test_rows_are_read_with_their_lines_and_the_message_made_safe() -> None:
    rows = read_error_rows([HEADER, "S1,,0001,E17,plan 12345 not offered", "", "S2,M2,0002,E9,"])
    assert [(r.line, r.subscriber_id, r.member_id, r.transaction_control) for r in rows] == [
        (2, "S1", None, "0001"), (4, "S2", "M2", "0002")]  # fmt: skip
    assert rows[0].message == ""  # read, never kept: it may quote the member
    assert (
        safe_message("=SUM(A1) " + "x" * 300).startswith("'=SUM")
        and len(safe_message("y" * 999)) <= 121
    )


@pytest.mark.parametrize(("lines", "why"), [
    ([HEADER + ",first_name"], "1 other column"),
    ([HEADER.replace(",message", "")], "missing: message"),
    ([HEADER, "S1,,,E17,x"], "line 2: transaction_control is empty"),
    ([HEADER, "S1,,0001,E17"], "line 2: 4 fields"),
    ([HEADER], "no rows"),
])  # fmt: skip
def test_a_file_that_is_not_an_error_report_is_refused_whole(lines: list[str], why: str) -> None:
    with pytest.raises(ErrorReportRefused, match=why):
        read_error_rows(lines)
