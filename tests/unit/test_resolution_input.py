"""What an operator types into `acktrack resolve` (pure): one line of plain text, and a
reason that does not look like personal data. Each rule on its own, both ways."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from acktrack.ingest.personal import could_be_ssn, is_birth_like, personal_data
from acktrack.ingest.resolution import MAX_REASON, ResolveRefused, check_line, check_reason
from acktrack.report.cells import printable

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("ops\nresolved by admin", "a line break at character 4"),
        ("ops\r", "a line break at character 4"),
        ("ops\u2028admin", "a line break at character 4"),
        ("ops\x85admin", "a line break at character 4"),
        ("\x1b[2Kadmin", "control character U+001B at character 1"),
        ("ops\tadmin", "control character U+0009 at character 4"),
        ("ops\u202eadmin", "control character U+202E at character 4"),  # a bidirectional override
        ("ops\x00", "control character U+0000 at character 4"),
    ],
)
def test_a_line_break_or_control_character_is_refused_and_the_error_says_where(
    typed: str, why: str
) -> None:
    with pytest.raises(ResolveRefused) as refused:
        check_line(typed, "--by", 100)
    message = str(refused.value)
    assert message.startswith(f"--by has {why}")
    assert "\n" not in message and "\x1b" not in message  # one line, and it echoes nothing typed


def test_plain_text_passes_stripped_and_over_long_text_is_refused() -> None:
    assert check_line("  Ana Ops (team B) – ñ  ", "--by", 100) == "Ana Ops (team B) – ñ"
    with pytest.raises(ResolveRefused, match="--by is 101 characters long; keep it to 100"):
        check_line("x" * 101, "--by", 100)


def test_a_reason_is_kept_on_one_line_with_its_spaces_collapsed() -> None:
    assert check_reason("  insurer   confirmed by phone,  ticket 4411 ", NOW) == (
        "insurer confirmed by phone, ticket 4411"
    )
    for empty in ("", "   "):
        with pytest.raises(ResolveRefused, match="give a reason"):
            check_reason(empty, NOW)
    with pytest.raises(ResolveRefused, match="a line break"):
        check_reason("withdrew\nresolved by someone else", NOW)
    with pytest.raises(ResolveRefused, match=f"keep it to {MAX_REASON}"):
        check_reason("x" * (MAX_REASON + 1), NOW)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("SSN 123-45-6789 on file", "SSN"),
        ("ssn 123 45 6789", "SSN"),
        ("member 123456789 confirmed", "SSN"),
        ("called (555) 234-5678", "phone number"),
        ("called 555.234.5678", "phone number"),
        ("called 5552345678", "phone number"),
        ("called +1 555 234 5678", "phone number"),
        ("called +44 20 7946 0958", "phone number"),
        ("DOB 1985-03-02", "birth date"),
        ("confirmed 03/02/1985", "birth date"),
        ("confirmed 3/2/85", "birth date"),
        ("confirmed 19850302", "birth date"),
        ("confirmed 03021985", "birth date"),
        ("confirmed 2 March 1985", "birth date"),
        ("confirmed March 2, 1985", "birth date"),
        ("confirmed Mar. 2 '85", "birth date"),
        ("call 2024-03-02", "birth date"),  # a year and more ago: could be a birth date
        ("call 2025-03-01", "birth date"),  # a year and a day before NOW
        ("born 3/2", "birth"),  # no year, but next to a word about birth
        ("DOB March 2", "birth"),
    ],
)
def test_a_reason_that_looks_like_personal_data_is_refused_saying_why(
    reason: str, kind: str
) -> None:
    with pytest.raises(ResolveRefused) as refused:
        check_reason(reason, NOW)
    message = str(refused.value)
    assert message.startswith("--reason refused: ") and kind in message
    assert "\n" not in message
    # The error names where, never the value (it would be echoed to a terminal or a log).
    advice = message.replace("4411-20931", "").replace("March 2024", "")
    assert [run for run in re.findall(r"\d{4,}", reason) if run in advice] == []


def test_a_birth_like_date_error_says_how_to_write_the_date_instead() -> None:
    with pytest.raises(ResolveRefused) as refused:
        check_reason("withdrew before coverage began (call 2024-03-02)", NOW)
    assert "as month and year only (e.g. 'called in March 2024'), or cite the ticket" in str(
        refused.value
    )


@pytest.mark.parametrize(
    "reason",
    [
        "insurer confirmed by phone, ticket 4411",
        "withdrew before coverage began (call log 0042)",
        "call 2026-02-27",  # within the last year: a call date
        "call 2025-03-02",  # exactly a year ago
        "call 02/27/2026",
        "call 3/2/26",
        "call 20260227",
        "called in March 2024",  # month and year: how to write an older date
        "DOB mismatch at the insurer, corrected, ticket 4411",  # about a birth date, no date
        "resent in ISA13 000001009",  # our control numbers cannot be SSNs (000...)
        "subscriber 300000017",  # group 00: no SSN
        "ticket 4411-20931",
        "12.50 premium difference",
        "may 2 people share a policy",
        "case 1234567890123",  # 13 digits: no phone, no SSN
    ],
)
def test_a_reason_that_is_only_operational_passes(reason: str) -> None:
    assert check_reason(reason, NOW) == reason
    assert personal_data(reason, NOW) is None


def test_what_could_be_an_ssn_follows_the_rules_of_issue() -> None:
    assert could_be_ssn("123456789") and could_be_ssn("500100001")
    assert not any(map(could_be_ssn, ["000123456", "666123456", "912345678", "123006789",
                                      "123450000"]))  # fmt: skip


def test_a_birth_like_date_is_before_2000_or_more_than_a_year_ago() -> None:
    today = NOW.date()
    assert is_birth_like(date(1999, 12, 31), today)
    assert is_birth_like(date(2025, 3, 1), today)
    assert not is_birth_like(date(2025, 3, 2), today)
    assert not is_birth_like(date(2026, 12, 1), today)  # the future: no birth date
    assert is_birth_like(date(1999, 12, 31), date(2000, 1, 2))  # before 2000, however recent


def test_stored_text_is_printed_with_its_control_characters_escaped() -> None:
    assert (
        printable("ops\n2024-01-01 resolved by admin") == "ops\\u000a2024-01-01 resolved by admin"
    )
    assert printable("\x1b[31mred") == "\\u001b[31mred"
    assert printable("plain ñ") == "plain ñ" and printable(None) == ""
