"""824 Application Advice (005010X186A1): the synthetic writer and the reader agree, an 824
reads without findings in any delimiters, hostile ones stay bounded, TED02 is neutralised."""

from __future__ import annotations

import io
import json
import string
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acktrack.synthetic.advice import AdviceItemSpec, write_824
from acktrack.x12 import (
    AdviceError,
    ApplicationAdvice,
    Delimiters,
    Finding,
    GroupAcknowledgment,
    TransactionEnd,
    UnreadableX12,
    read_x12,
)
from acktrack.x12 import codes as x12_codes
from acktrack.x12 import limits as x12_limits
from acktrack.x12.describe import describe
from acktrack.x12.limits import Limits
from acktrack.x12.text import neutral_text, unsafe_character
from tests.support import codes, of_type, records

SENT = datetime(2024, 1, 16, 8, 30)
ISA = "ISA*00*          *00*          *ZZ*HEALTHPLAN01   *ZZ*ACKTRACKEXCH   *240116*0830*^*00501*000000077*0*P*:~"


def advice_file(items: list[AdviceItemSpec], **options: Any) -> bytes:
    out = io.BytesIO()
    write_824(
        out,
        sender_id="HEALTHPLAN01",
        receiver_id="ACKTRACKEXCH",
        interchange_control=options.pop("interchange_control", 77),
        sent_at=SENT,
        items=items,
        **options,
    )
    return out.getvalue()


def by_hand(body: str, functional_id: str = "AG") -> bytes:
    """One 824 set around ``body`` (whole segments), with a correct SE01."""
    count = body.count("~") + 2
    return (
        ISA + f"GS*{functional_id}*HEALTHPLAN01*ACKTRACKEXCH*20240116*0830*77*X*005010X186A1~"
        "ST*824*0001*005010X186A1~" + body + f"SE*{count}*0001~GE*1*77~IEA*1*000000077~"
    ).encode()


def read_items(data: bytes, **options: Any) -> list[tuple[Any, ...]]:
    (advice,) = of_type(records(data, **options), ApplicationAdvice)
    return [
        (item.verdict, item.group_control, item.transaction_control, item.reference,
         tuple(item.errors), item.subscriber_id, item.member_id)
        for item in advice.items
    ]  # fmt: skip


def expected_items(items: list[AdviceItemSpec]) -> list[tuple[Any, ...]]:
    return [
        (item.verdict, item.group_control, item.transaction_control, item.reference,
         tuple(AdviceError(code, message) for code, message in item.errors),
         item.subscriber_id, item.member_id)
        for item in items
    ]  # fmt: skip


ITEMS = [
    AdviceItemSpec("TA", "1001", "0001", "BGN0001"),
    AdviceItemSpec(
        "TR", "1001", "0002", "BGN0002",
        errors=(("024", "SUBSCRIBER NOT FOUND"), ("A7", "COVERAGE DATES OVERLAP")),
        subscriber_id="SUB000002", member_id="MEM000002",
    ),
    AdviceItemSpec("TE", "", "", "BGN0003", errors=(("009", "PLAN CODE RETIRED"),)),
    AdviceItemSpec("IR", "1002", "0004", "BGN0004", subscriber_id="SUB000004"),
]  # fmt: skip


# -- round trip ---------------------------------------------------------------------------


def test_an_824_round_trips_through_the_writer_and_the_reader() -> None:
    data = advice_file(ITEMS, reference="ADVICE-7")
    found = records(data)
    assert of_type(found, Finding) == []
    (advice,) = of_type(found, ApplicationAdvice)
    assert read_items(data) == expected_items(ITEMS)
    assert (advice.purpose, advice.reference, advice.date, advice.time) == (
        "00", "ADVICE-7", "20240116", "0830",
    )  # fmt: skip
    assert (advice.submitter_id, advice.recipient_id) == ("HEALTHPLAN01", "ACKTRACKEXCH")
    assert (advice.sender_id, advice.receiver_id) == ("HEALTHPLAN01", "ACKTRACKEXCH")
    assert (advice.header.set_id, advice.header.implementation) == ("824", "005010X186A1")
    assert advice.header.group is not None and advice.header.group.functional_id == "AG"
    assert [item.set_type for item in advice.items] == ["834"] * 4
    assert [item.reference_qualifier for item in advice.items] == ["TN"] * 4
    assert [item.position for item in advice.items] == [5, 6, 11, 13]
    assert (advice.items_dropped, [item.errors_dropped for item in advice.items]) == (0, [0] * 4)
    # The counted segments agree with what the writer declared in SE01.
    (end,) = of_type(found, TransactionEnd)
    assert end.segments == int(end.declared_segments or 0) == 15
    assert end.enrollment is None and end.members == 0


def test_verdicts_say_rejected_or_accepted_with_errors() -> None:
    verdicts = ["TA", "TE", "TR", "BA", "BE", "BR", "IA", "IE", "IR", "GR", "TP", "TC", "TH"]
    items = [AdviceItemSpec(verdict, "1", f"{n:04d}", "R") for n, verdict in enumerate(verdicts)]
    (advice,) = of_type(records(advice_file(items)), ApplicationAdvice)
    assert [item.verdict for item in advice.items if item.rejected] == ["TR", "BR", "IR", "GR"]
    assert [item.verdict for item in advice.items if item.accepted_with_errors] == [
        "TE", "BE", "IE",
    ]  # fmt: skip
    assert [item.verdict for item in advice.rejected_items] == ["TR", "BR", "IR", "GR"]


# Values the writer can write in any delimiter set the tests use.
_SAFE = string.ascii_uppercase + string.digits
_MESSAGE = string.ascii_letters + string.digits + " .,/()#=+-@'\"" + "éñ"
_controls = st.text(_SAFE, min_size=4, max_size=9)
_items = st.builds(
    AdviceItemSpec,
    verdict=st.sampled_from(sorted(x12_codes.APPLICATION_VERDICT)),
    group_control=st.one_of(st.just(""), st.text(string.digits, min_size=1, max_size=9)),
    transaction_control=st.one_of(st.just(""), _controls),
    reference=st.text(_SAFE, min_size=1, max_size=30),
    errors=st.lists(
        st.tuples(st.text(_SAFE, min_size=1, max_size=3), st.text(_MESSAGE, max_size=260)),
        max_size=4,
    ).map(tuple),
    subscriber_id=st.one_of(st.none(), st.text(_SAFE, min_size=1, max_size=20)),
    member_id=st.one_of(st.none(), st.text(_SAFE, min_size=1, max_size=20)),
)


def _shown(message: str) -> str:
    """TED02 as the reader keeps it, spelled out apart from ``neutral_text``."""
    if len(message) > 200:
        message = message[:197] + "..."
    return "'" + message if message.lstrip(" ").startswith(("=", "+", "-", "@")) else message


@given(st.lists(_items, min_size=1, max_size=12), st.sampled_from(["~", "\n", "|"]))
def test_any_items_round_trip(items: list[AdviceItemSpec], terminator: str) -> None:
    delimiters = Delimiters("*", "^", ":", terminator)
    data = advice_file(items, delimiters=delimiters, line_ending="" if terminator == "\n" else "\n")
    found = records(data, chunk_size=4096)
    assert of_type(found, Finding) == []
    (advice,) = of_type(found, ApplicationAdvice)
    assert [
        (item.verdict, item.group_control, item.transaction_control, item.reference,
         item.subscriber_id, item.member_id)
        for item in advice.items
    ] == [
        (item.verdict, item.group_control, item.transaction_control, item.reference,
         item.subscriber_id, item.member_id)
        for item in items
    ]  # fmt: skip
    assert [[tuple(error) for error in item.errors] for item in advice.items] == [
        [(code, _shown(message)) for code, message in item.errors] for item in items
    ]
    assert all(len(error.message) <= 201 for item in advice.items for error in item.errors)


# -- delimiters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delimiters", "line_ending"),
    [
        (Delimiters("*", "^", ":", "\n"), ""),  # a line break terminates each segment
        (Delimiters("|", "^", ">", "~"), "\r\n"),
        (Delimiters("\x1d", "\x1f", "\x1c", "\x1e"), ""),  # ASCII separators, no line breaks
        (Delimiters("+", "!", "}", "'"), "\n"),
    ],
    ids=["newline", "pipe-crlf", "ascii-separators", "edifact-like"],
)
def test_an_824_reads_the_same_in_any_delimiters(delimiters: Delimiters, line_ending: str) -> None:
    data = advice_file(ITEMS, delimiters=delimiters, line_ending=line_ending)
    assert delimiters.element.encode() in data[:4]
    found = records(data, chunk_size=4096)
    assert of_type(found, Finding) == []
    assert read_items(data, chunk_size=4096) == expected_items(ITEMS)


# -- findings -----------------------------------------------------------------------------


def test_an_824_beside_an_834_and_a_999_gives_no_finding_and_changes_neither() -> None:
    from tests.unit.x12.test_acknowledgments import ack999

    ack = ack999("AK1*BE*12*005010X220A1~AK2*834*0001*005010X220A1~IK5*A~AK9*A*1*1*1~")
    found = records(ack + advice_file(ITEMS, interchange_control=78))
    assert of_type(found, Finding) == []
    (group_ack,) = of_type(found, GroupAcknowledgment)
    assert [(one.control, one.status) for one in group_ack.sets] == [("0001", "A")]
    assert len(of_type(found, ApplicationAdvice)) == 1


def test_a_damaged_824_gives_findings_none_fatal() -> None:
    body = (
        "TED*024*BEFORE ANY LOOP~N1*41*PLAN*46*HEALTHPLAN01~"
        "OTI*ZZ*TN*R1****1*0001*834~TED*1*X~BGN*00*A*20240116~BGN*00*B*20240116~"
    )
    found = records(by_hand(body))
    assert [(f.scheme, f.code, f.severity) for f in of_type(found, Finding)] == [
        ("IK3", "2", "error"),  # TED outside an OTI loop
        ("IK4", "7", "error"),  # OTI01 ZZ is no verdict
        ("IK3", "5", "error"),  # a second BGN
    ]
    (advice,) = of_type(found, ApplicationAdvice)
    assert advice.reference == "A"
    assert [(item.verdict, item.errors) for item in advice.items] == [
        ("ZZ", [AdviceError("1", "X")])
    ]
    assert codes(of_type(records(by_hand("N1*41*PLAN~")), Finding)) == [("IK3", "3"), ("IK3", "3")]


def test_an_824_in_the_wrong_group_is_an_error_not_fatal() -> None:
    found = of_type(records(by_hand("BGN*00*A*20240116~OTI*TA*TN*R~", "FA")), Finding)
    assert [(f.scheme, f.code, f.severity) for f in found] == [("IK5", "6", "error")]


# -- TED02 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
        ("+1-800-CALL", "'+1-800-CALL"),
        ("  @SUM(A1)", "'  @SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("\x1b[31mRED\u202eTXT", "\\u001b[31mRED\\u202eTXT"),
        ("MEMBER NOT FOUND", "MEMBER NOT FOUND"),
        ("A" * 200, "A" * 200),
        ("B" * 5000, "B" * 197 + "..."),
        ("\x07" * 40, "\\u0007" * 32 + "..."),  # cut on a character, never inside an escape
    ],
)
def test_ted02_is_clipped_and_neutralised(message: str, kept: str) -> None:
    body = f"BGN*00*A*20240116~OTI*TR*TN*R1~TED*024*{message}~"
    (advice,) = of_type(records(by_hand(body)), ApplicationAdvice)
    assert advice.items[0].errors == [AdviceError("024", kept)]
    assert neutral_text(message, 200) == kept


def test_ted02_messages_stay_out_of_parse_output_unless_asked() -> None:
    items = [AdviceItemSpec("TR", "5", "0002", "R2", (("024", "DOE JANE 19800101"),), "SUB9")]
    data = advice_file(items)
    for as_json in (False, True):
        out = io.StringIO()
        summary = describe(io.BytesIO(data), out, name="a.824", as_json=as_json)
        assert summary.advices == 1
        assert "DOE JANE" not in out.getvalue()
        assert "SUB9" in out.getvalue()
        shown = io.StringIO()
        describe(io.BytesIO(data), shown, name="a.824", as_json=as_json, show_phi=True)
        assert "DOE JANE 19800101" in shown.getvalue()
    text = io.StringIO()
    describe(io.BytesIO(data), text, name="a.824")
    assert "ST02 0002" in text.getvalue() and "transaction set rejected" in text.getvalue()
    parsed = io.StringIO()
    describe(io.BytesIO(data), parsed, name="a.824", as_json=True)
    (advice,) = json.loads(parsed.getvalue())["acknowledgments"]
    assert advice["type"] == "824"
    assert advice["items"][0]["errors"] == [{"code": "024", "message": "***"}]
    assert advice["items"][0]["rejected"] is True


# -- bounds -------------------------------------------------------------------------------


@pytest.fixture
def scaled(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    def scale(**changes: int) -> None:
        monkeypatch.setattr(x12_limits, "LIMITS", Limits(**changes))

    yield scale


def _hostile(loops: int, teds: int, message: bytes = b"BAD DATA") -> bytes:
    """One 824 set: ``loops`` OTI loops (each with a REF*0F) of ``teds`` TEDs each."""
    ted = b"TED*024*" + message + b"~"
    body = b"BGN*00*A*20240116~" + b"".join(
        b"OTI*TR*TN*R%d*A*B*20240116*0830*1*%04d*834~REF*0F*S%d~" % (n, n % 10_000, n) + ted * teds
        for n in range(loops)
    )
    count = body.count(b"~") + 2
    return (
        ISA.encode() + b"GS*AG*HEALTHPLAN01*ACKTRACKEXCH*20240116*0830*77*X*005010X186A1~"
        b"ST*824*0001*005010X186A1~" + body + b"SE*%d*0001~GE*1*77~IEA*1*000000077~" % count
    )  # fmt: skip


def test_loops_and_errors_past_the_caps_are_counted_not_kept(
    scaled: Callable[..., None],
) -> None:
    scaled(advice_items=50, advice_errors=5)
    found = records(_hostile(loops=200, teds=20))
    (advice,) = of_type(found, ApplicationAdvice)
    assert (len(advice.items), advice.items_dropped) == (50, 150)
    assert {len(item.errors) for item in advice.items} == {5}
    assert {item.errors_dropped for item in advice.items} == {15}
    assert [item.reference for item in advice.items] == [f"R{n}" for n in range(50)]
    assert advice.items[-1].subscriber_id == "S49"
    truncated = [f for f in of_type(found, Finding) if f.code == "advice_truncated"]
    assert [(f.severity, f.detail) for f in truncated] == [
        ("warning", "150 OTI loops beyond the first 50 were counted, not kept"),
        ("warning", "750 TED segments beyond 5 in an OTI loop were counted, not kept"),
    ]
    assert [f for f in of_type(found, Finding) if f.severity in ("error", "fatal")] == []
    # Under the caps, nothing is dropped and nothing is said.
    (small,) = of_type(records(_hostile(loops=50, teds=5)), ApplicationAdvice)
    assert (len(small.items), small.items_dropped, small.items[0].errors_dropped) == (50, 0, 0)


def test_an_824_counts_against_what_a_file_may_hold(scaled: Callable[..., None]) -> None:
    """Every 824 segment counts: a set of 10,000 loops with 200 structures allowed is
    refused at the 200th, as a 999 is."""
    scaled(structures=200)
    found = records(_hostile(loops=10_000, teds=1))
    fatal = [f.code for f in of_type(found, Finding) if f.severity == "fatal"]
    assert fatal == ["too_many_structures"]
    assert sum(len(advice.items) for advice in of_type(found, ApplicationAdvice)) <= 200


def _peak(path: Path) -> tuple[list[Any], int]:
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            found = list(read_x12(stream))
        return found, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_hostile_824_is_read_in_bounded_memory(
    tmp_path: Path, scaled: Callable[..., None]
) -> None:
    """Ten times the loops and ten times the errors, each with a 20 KB message: the reader's
    peak stays where the caps put it (20 loops of 3 errors of 40 characters), not with the
    file (about 120 MB of messages unread into memory)."""
    scaled(advice_items=20, advice_errors=3, message_chars=40)
    big = "X" * 20_000
    small_path, large_path = tmp_path / "small.824", tmp_path / "large.824"
    small_path.write_bytes(_hostile(loops=60, teds=10, message=big.encode()))
    large_path.write_bytes(_hostile(loops=600, teds=10, message=big.encode()))
    small, small_peak = _peak(small_path)
    large, large_peak = _peak(large_path)
    (advice,) = of_type(large, ApplicationAdvice)
    assert (len(advice.items), advice.items_dropped) == (20, 580)
    assert all(len(error.message) == 40 for item in advice.items for error in item.errors)
    assert large_path.stat().st_size > 100 << 20
    assert large_peak < 8 << 20  # a few 1 MiB reads, never the file
    assert large_peak < small_peak * 2 + (1 << 20)
    assert of_type(small, ApplicationAdvice)[0].items_dropped == 40


@given(st.data())
def test_mutated_824s_never_raise_anything_else(data: st.DataObject) -> None:
    items = [*ITEMS, AdviceItemSpec("TR", "9", "0009", "R9", (("1", "A MESSAGE TO DAMAGE"),) * 3)]
    raw = bytearray(advice_file(items))
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    try:
        found = list(read_x12(io.BytesIO(bytes(raw)), chunk_size=4096))
    except UnreadableX12 as error:
        assert error.reason
        return
    # Whatever a damaged byte became, a kept message holds no control or format character.
    messages = [
        e.message for a in of_type(found, ApplicationAdvice) for i in a.items for e in i.errors
    ]
    assert not [m for m in messages if any(unsafe_character(c) for c in m) or len(m) > 201]
