"""Properties: any valid delimiter set round-trips; any bytes give records or the typed error."""

from __future__ import annotations

import io
import string

from hypothesis import example, given
from hypothesis import strategies as st

from acktrack.x12 import Delimiters, Finding, MemberTransaction, UnreadableX12, read_x12
from tests.support import SAMPLES, generate, of_type

# Characters X12 data uses in our generated files can never be delimiters.
_IN_DATA = set(string.ascii_letters + string.digits + " .-")
_CANDIDATES = [chr(c) for c in range(1, 128) if chr(c) not in _IN_DATA and chr(c) not in "\r"]


@st.composite
def delimiter_sets(draw: st.DrawFn) -> Delimiters:
    separators = [c for c in _CANDIDATES if c != "\n"]  # a line break may only terminate
    chosen = draw(st.lists(st.sampled_from(separators), min_size=3, max_size=3, unique=True))
    terminator = draw(st.sampled_from([c for c in _CANDIDATES if c not in chosen]))
    return Delimiters(*chosen, terminator)


@given(
    delimiter_sets(),
    st.sampled_from(["", "\n", "\r\n"]),
    st.integers(1, 40),
    st.integers(0, 10_000),
)
def test_any_valid_delimiter_set_round_trips(
    delimiters: Delimiters, line_ending: str, count: int, seed: int
) -> None:
    if delimiters.segment == "\n" and line_ending:
        line_ending = ""  # a newline terminator followed by another newline is a blank segment
    data, generated = generate(
        members=count, seed=seed, delimiters=delimiters, line_ending=line_ending
    )
    found = list(read_x12(io.BytesIO(data), chunk_size=4096))
    assert of_type(found, Finding) == []
    got = of_type(found, MemberTransaction)
    expected = list(generated.all_members())
    assert [
        (m.subscriber_id, m.member_supplemental_id, m.first_position, m.last_position) for m in got
    ] == [(m.subscriber_id, m.member_id, m.first_position, m.last_position) for _, m in expected]
    assert [m.last_name for m in got] == [m.person.last_name for _, m in expected]


def _read_all(data: bytes) -> list[object]:
    try:
        return list(read_x12(io.BytesIO(data), chunk_size=4096))
    except UnreadableX12 as error:
        assert error.reason  # a specific, non-empty reason
        return []


@given(st.binary(max_size=3000))
@example(b"")
@example(b"ISA")
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _read_all(data)


_VALID = (SAMPLES / "834_5members.834").read_bytes()


@given(st.data())
def test_mutated_834s_never_raise_anything_else(data: st.DataObject) -> None:
    raw = bytearray(_VALID)
    for _ in range(data.draw(st.integers(1, 8))):
        action = data.draw(st.sampled_from(["flip", "cut", "dup", "drop", "insert"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if action == "flip" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del raw[at:]
        elif action == "dup":
            raw[at:at] = raw[at : at + data.draw(st.integers(1, 200))]
        elif action == "drop":
            del raw[at : at + data.draw(st.integers(1, 200))]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=50))
    _read_all(bytes(raw))


def test_unicode_digits_are_not_digits() -> None:
    """Found by `make fuzz`: '¹'.isdigit() is True but int('¹') raises. ISA10 '0¹00' is an
    invalid time (TA1 015), not a crash."""
    raw = _VALID.decode("latin-1")
    assert raw[77:81] == "1200"  # ISA10
    broken = (raw[:77] + "0\xb900" + raw[81:]).encode("latin-1")  # one byte, as the fuzzer made it
    found = [record for record in read_x12(io.BytesIO(broken)) if isinstance(record, Finding)]
    assert ("TA1", "015") in {(finding.scheme, finding.code) for finding in found}
