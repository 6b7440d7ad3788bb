"""Field-by-field reconciliation and the insurer's extract (pure): codes, hashes, refusals."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace

import pytest

from acktrack.domain.hashing import Keyring, keyed_hash
from acktrack.domain.population import (
    MAX_LINE_BYTES,
    MAX_ROWS,
    ExtractRefused,
    decoded_lines,
    is_audit,
    population_member,
    read_extract,
)
from acktrack.domain.reconciliation import (
    RCNO_COLUMNS,
    Code,
    PopulationMember,
    ReconciliationSummary,
    Side,
    compare,
    discrepancy_rows,
    held_once,
    rcno_lines,
    tally,
)
from acktrack.x12 import MemberTransaction
from tests.support import generate, members

KEY = b"k" * 32
KEYRING = Keyring.of(KEY)
HEADER = ("subscriber_id,member_id,insurer_member_id,insurer_policy_id,relationship,subscriber_indicator,"
          "plan_id,benefit_begin,benefit_end,total_premium,aptc,last_name,first_name,birth_date,gender,ssn")  # fmt: skip


def person(number: int, **changes: str | None) -> PopulationMember:
    values: dict[str, str | None] = {
        "plan": "12345VA0010001-01", "benefit_begin": "20240201", "total_premium": "450.00",
        "aptc": "300.00", "name": keyed_hash(KEY, "name", f"DOE{number} JANE"),
        "birth_date": keyed_hash(KEY, "birth_date", "19800101"),
        "gender": keyed_hash(KEY, "gender", "F"), "ssn": keyed_hash(KEY, "ssn", f"00000000{number}"),
    }  # fmt: skip
    values.update(changes)
    return PopulationMember(f"S{number}", f"E{number}", "Y", "18", **values)  # type: ignore[arg-type]


def codes(result: list, subscriber: str) -> dict[str, Code]:  # type: ignore[type-arg]
    (found,) = [c for c in result if c.subscriber_id == subscriber]
    return {f.field: f.code for f in found.fields}


def test_each_member_gets_its_code_on_the_right_field() -> None:
    ours = [person(n) for n in range(1, 6)]
    theirs = [
        person(1),
        person(2, plan="99999VA0010001-01"),
        person(3, benefit_begin="20240301"),
        person(4, name=keyed_hash(KEY, "name", "SMITH4 JANE")),
        # S5 missing at the insurer
        person(6),  # the insurer holds someone never sent
    ]
    result = compare(ours, theirs)
    sides = {c.subscriber_id: c.side for c in result}
    assert sides == {"S1": Side.BOTH, "S2": Side.BOTH, "S3": Side.BOTH, "S4": Side.BOTH,
                     "S5": Side.MISSING_AT_INSURER, "S6": Side.INSURER_ONLY}  # fmt: skip
    assert [c.subscriber_id for c in result if c.matched] == ["S1"]
    assert {
        f for f, c in codes(result, "S2").items() if c not in (Code.MATCH, Code.NOT_APPLICABLE)
    } == {"plan"}
    assert codes(result, "S3")["benefit_begin"] == Code.MISMATCH
    assert (
        codes(result, "S4")["name"] == Code.MISMATCH and codes(result, "S4")["plan"] == Code.MATCH
    )
    assert set(codes(result, "S5").values()) == {Code.UNMATCHED}
    assert set(codes(result, "S6").values()) == {Code.UNMATCHED}
    # Personal fields never carry a value, on either side.
    for comparison in result:
        for found in comparison.fields:
            if found.field in ("name", "birth_date", "gender", "ssn"):
                assert (found.ours, found.theirs) == (None, None)
    plan = next(
        f for f in next(c for c in result if c.subscriber_id == "S2").fields if f.field == "plan"
    )
    assert (plan.ours, plan.theirs) == ("12345VA0010001-01", "99999VA0010001-01")


def test_insurer_ids_changed_are_g_and_unknown_ones_do_not_apply() -> None:
    ours = [person(1, insurer_member_id="INS-1"), person(2)]
    theirs = [person(1, insurer_member_id="INS-9"), person(2, insurer_member_id="INS-2")]
    result = compare(ours, theirs)
    assert codes(result, "S1")["insurer_member_id"] == Code.ID_CHANGED
    assert codes(result, "S2")["insurer_member_id"] == Code.NOT_APPLICABLE
    assert codes(result, "S1")["benefit_end"] == Code.NOT_APPLICABLE  # neither side has one


def test_amounts_compare_as_money() -> None:
    result = compare([person(1, aptc="300")], [person(1, aptc="300.00")])
    assert codes(result, "S1")["aptc"] == Code.MATCH


def test_keyed_hashes_normalise_and_depend_on_the_key() -> None:
    assert keyed_hash(KEY, "name", "O'Brien  Mary") == keyed_hash(KEY, "name", "OBRIEN MARY")
    assert keyed_hash(KEY, "ssn", "000-00-0001") == keyed_hash(KEY, "ssn", "000000001")
    assert keyed_hash(KEY, "name", "OBRIEN MARY") != keyed_hash(b"x" * 32, "name", "OBRIEN MARY")
    assert keyed_hash(KEY, "ssn", "") is None


def _extract(delimiter: str) -> list[str]:
    rows = [
        ["S1", "E1", "INS-1", "POL-1", "18", "Y", "12345VA0010001-01", "2024-02-01", "", "450", "300",
         "DOE1", "JANE", "1980-01-01", "F", "000-00-0001"],
        ["S1", "E2", "", "", "19", "N", "12345VA0010001-01", "20240201", "20241231", "0", "0",
         "DOE1", "JIM", "20150101", "M", ""],
    ]  # fmt: skip
    return [HEADER.replace(",", delimiter)] + [delimiter.join(row) for row in rows]


def test_csv_and_pipe_extracts_read_the_same() -> None:
    comma, pipe = read_extract(_extract(","), KEYRING), read_extract(_extract("|"), KEYRING)
    assert comma == pipe and len(comma) == 2
    first = comma[0]
    assert (first.benefit_begin, first.total_premium, first.insurer_policy_id) == (
        "20240201", "450.00", "POL-1",
    )  # fmt: skip
    assert first.name == keyed_hash(KEY, "name", "DOE1 JANE", first.subscriber_id)
    assert comma[1].ssn is None and comma[1].benefit_end == "20241231"
    assert "JANE" not in repr(comma) and "1980" not in repr(comma)  # only hashes are kept


def test_a_malformed_extract_is_refused_with_line_numbers_and_no_personal_values() -> None:
    lines = _extract(",")
    lines[1] = lines[1].replace("2024-02-01", "2024-13-45").replace("1980-01-01", "01/01/1980")
    lines.append("S3,E3,,,18,Q,PLAN,20240201,,1,1,X,Y,19900101,F,1")
    lines.append("S4,E4,too,few")
    with pytest.raises(ExtractRefused) as refused:
        read_extract(lines, KEYRING)
    assert [line for line, _ in refused.value.errors] == [2, 4, 5]
    text = str(refused.value)
    assert "line 2: benefit_begin is not a date" in text
    assert "line 4: subscriber_indicator must be Y or N" in text
    assert "line 5: 4 fields where the header names 16" in text
    assert "01/01/1980" not in text and "JANE" not in text


def test_an_extract_without_the_required_columns_is_refused_on_line_1() -> None:
    with pytest.raises(
        ExtractRefused,
        match="line 1: the first line must name the columns; plan_id, benefit_begin missing",
    ):
        read_extract(["subscriber_id,member_id,relationship,subscriber_indicator"], KEYRING)


def _as_extract(population: list[MemberTransaction], delimiter: str) -> list[str]:
    """The same people as an insurer's extract: what a CSV export of its system would hold."""
    lines = [HEADER.replace(",", delimiter)]
    for m in population:
        coverage = m.coverages[0]
        ssn = m.member_identifier if m.member_identifier_qualifier == "34" else ""
        amounts = m.reporting_categories
        premium = next(
            (amounts[n] for n in ("PRE AMT TOT", "TOT RES AMT", "PRE AMT 1") if n in amounts), ""
        )
        row = [m.subscriber_id or "", m.member_supplemental_id or "", m.carrier_member_id or "",
               coverage.internal_control or "", m.relationship, m.subscriber_indicator, coverage.plan,
               coverage.benefit_begin or "", coverage.benefit_end or "", premium,
               m.reporting_categories.get("APTC AMT", ""), m.last_name or "", m.first_name or "",
               m.birth_date or "", m.gender or "", ssn]  # fmt: skip
        lines.append(delimiter.join(row))
    return lines


@pytest.mark.parametrize("delimiter", [",", "|"])
def test_an_extract_and_an_audit_834_of_the_same_people_read_the_same(delimiter: str) -> None:
    data, _ = generate(members=12, seed=81)
    population = members(data)
    from_834 = [population_member(m, KEYRING) for m in population]
    from_extract = read_extract(_as_extract(population, delimiter), KEYRING)
    assert from_834 == from_extract
    assert all(c.matched for c in compare(from_834, from_extract))
    assert all(p.name and p.birth_date and p.ssn for p in from_834)  # hashed, all present
    for m in population:  # no personal value is kept, only its keyed hash
        assert m.last_name not in repr(from_834) and m.birth_date not in repr(from_834)


def test_an_audit_834_is_one_whose_bgn08_is_verify_or_replace() -> None:
    assert is_audit("4") and is_audit("RX") and is_audit(" rx ")
    assert not is_audit("2") and not is_audit("")


def test_an_extract_with_a_header_only_or_a_runaway_quote_is_refused() -> None:
    header = _extract(",")[0]
    with pytest.raises(ExtractRefused, match="line 1: no member after the header"):
        read_extract([header], KEYRING)
    runaway = [header, 'S1,"E1' + "x" * 1_000]
    with pytest.raises(ExtractRefused, match="line 2: not readable as CSV") as refused:
        read_extract(runaway, KEYRING)
    assert "xxxx" not in str(refused.value)


def test_the_same_value_in_two_families_hashes_apart() -> None:
    """A hash links nothing across families: the same birth date in two families differs."""
    assert keyed_hash(KEY, "birth_date", "19800101", "S1") != keyed_hash(
        KEY, "birth_date", "19800101", "S2"
    )
    assert keyed_hash(KEY, "birth_date", "1980-01-01", "S1") == keyed_hash(
        KEY, "birth_date", "19800101", "S1"
    )


def test_a_member_id_on_one_side_only_is_still_one_person() -> None:
    ours = PopulationMember(subscriber_id="S1", member_id="E1", subscriber_indicator="Y",
                            relationship="18", plan="P1", benefit_begin="20240101")  # fmt: skip
    theirs = PopulationMember(subscriber_id="S1", member_id=None, subscriber_indicator="Y",
                              relationship="18", plan="P1", benefit_begin="20240101")  # fmt: skip
    (result,) = compare([ours], [theirs])
    assert result.side == Side.BOTH and result.matched


def test_two_children_without_member_ids_are_two_people_and_a_second_line_is_not_a_second_person() -> (
    None
):
    def child(name: str, plan: str = "P1", line: str = "HLT") -> PopulationMember:
        return PopulationMember(subscriber_id="S1", member_id=None, subscriber_indicator="N",
                                relationship="19", plan=plan, benefit_begin="20240101",
                                name=keyed_hash(KEY, "name", name, "S1"), line=line)  # fmt: skip

    ours = [child("ANN"), child("BEN")]
    theirs = [child("ANN"), child("BEN", plan="D1", line="DEN"), child("BEN")]
    results = compare(ours, theirs)
    assert [(r.side, r.matched) for r in results] == [(Side.BOTH, True), (Side.BOTH, True)]


def test_a_personal_field_one_side_never_had_does_not_apply() -> None:
    base = {"subscriber_id": "S1", "member_id": "E1", "subscriber_indicator": "Y",
            "relationship": "18", "plan": "P1", "benefit_begin": "20240101"}  # fmt: skip
    (result,) = compare([PopulationMember(**base)], [PopulationMember(**base, ssn="00aa")])
    assert {f.field: f.code for f in result.fields}["ssn"] == Code.NOT_APPLICABLE


# -- hardening, round three: the extract's shape, its encoding, the insurer's duplicates, what
# it does not provide, and the RCNO file's cells ----------------------------------------------


def _bytes_read(data: bytes, max_rows: int = MAX_ROWS) -> tuple[str, int]:
    """Read ``data`` as an extract is read (a buffered stream of its bytes): the refusal, and
    how many bytes were taken from the stream."""
    raw = io.BytesIO(data)
    with pytest.raises(ExtractRefused) as refused:
        read_extract(decoded_lines(io.BufferedReader(raw)), KEYRING, max_rows)  # type: ignore[arg-type]
    return str(refused.value), raw.tell()


def test_a_line_that_never_ends_is_refused_by_its_number_having_read_one_line_limit() -> None:
    header, row = _extract(",")[:2]
    never_ends = (header + "," + "x" * 20_000_000).encode()  # a header with no line break
    reason, taken = _bytes_read(never_ends)
    assert "line 1: longer than 65,536 bytes" in reason and "xxx" not in reason
    assert taken <= MAX_LINE_BYTES + 16 * 1024  # the line limit and a read-ahead buffer
    long_data_line = f"{header}\n{row}\n{row[:10]}{'y' * 20_000_000}".encode()
    reason, taken = _bytes_read(long_data_line)
    assert "line 3: longer than 65,536 bytes" in reason and "yyy" not in reason
    assert taken <= len(header) + 2 * len(row) + MAX_LINE_BYTES + 16 * 1024


def test_an_extract_over_the_row_limit_stops_at_the_first_line_past_it_and_says_what_to_do() -> (
    None
):
    header, row = _extract(",")[:2]
    given = 0

    def lines() -> Iterator[str]:
        nonlocal given
        for line in [header] + [row.replace("S1", f"S{n}") for n in range(1, 1_000)]:
            given += 1
            yield line

    with pytest.raises(ExtractRefused) as refused:
        read_extract(lines(), KEYRING, max_rows=3)
    assert given == 5  # the header, three members, and the line past the limit: no more
    text = str(refused.value)
    assert (
        "line 5: more than 3 lines after the header: one invocation holds at most 3 members" in text
    )
    assert "send this population as an audit 834" in text


LATIN = "ÉLODIE"  # in Latin-1 and Windows-1252: C9; in UTF-8: C3 89


def _one_person(first_name: str, encoding: str) -> bytes:
    header, row = _extract(",")[:2]
    return f"{header}\n{row.replace('JANE', first_name)}\n".encode(encoding)


def test_a_latin_1_extract_is_read_as_latin_1_and_a_file_in_two_encodings_is_refused() -> None:
    (utf8,) = read_extract(decoded_lines(io.BytesIO(_one_person(LATIN, "utf-8"))), KEYRING)
    (latin,) = read_extract(decoded_lines(io.BytesIO(_one_person(LATIN, "latin-1"))), KEYRING)
    (plain,) = read_extract(decoded_lines(io.BytesIO(_one_person("ELODIE", "ascii"))), KEYRING)
    assert utf8.name == latin.name == plain.name is not None  # never a replacement character
    mixed = _one_person(LATIN, "utf-8") + _one_person(LATIN, "latin-1").split(b"\n")[1]
    reason, _ = _bytes_read(mixed)
    assert "line 3: not UTF-8, where an earlier line was" in reason
    reason, _ = _bytes_read(_one_person("JANE", "ascii").replace(b"JANE", b"J\x81NE"))
    assert "line 2: neither UTF-8 nor Latin-1 (Windows-1252)" in reason


def test_accents_fold_alike_in_an_extract_and_in_our_834() -> None:
    data, _ = generate(members=1, seed=83)
    (sent,) = members(data)
    ours = population_member(sent._replace(first_name="ELODIE"), KEYRING)
    extract = _as_extract([sent._replace(first_name=LATIN.lower().capitalize())], ",")
    for encoding in ("utf-8", "latin-1"):
        lines = decoded_lines(io.BytesIO("\n".join(extract).encode(encoding)))
        (theirs,) = read_extract(lines, KEYRING)
        (result,) = compare([ours], [theirs])
        assert {f.field: f.code for f in result.fields}["name"] == Code.MATCH, encoding


def test_a_member_the_insurer_lists_twice_is_held_on_its_first_row_and_reported() -> None:
    first, again = person(1, plan="99999VA0010001-01"), person(1)
    held, repeated = held_once([first, again])
    assert list(held.values()) == [first] and repeated == [again]
    results = compare([person(1)], [first, again])
    assert [c.side for c in results] == [Side.BOTH, Side.DUPLICATE_AT_INSURER]
    assert {f.field: f.code for f in results[0].fields}["plan"] == Code.MISMATCH  # the first
    rows = discrepancy_rows("HP", results)
    assert [(r["field"], r["code"], r["side"]) for r in rows] == [
        ("plan", "I", "both"), ("member", "I", "duplicate_at_insurer"),
    ]  # fmt: skip
    assert list(rcno_lines(results))[2] == "S1|E1|duplicate_at_insurer" + "|" * 13 + "\n"


def test_an_audit_834_that_lists_a_member_twice_follows_the_same_rule() -> None:
    data, _ = generate(members=2, seed=84)
    sent = members(data)
    ours = [population_member(m, KEYRING) for m in sent]
    twice = [sent[0]._replace(last_name="OTHER"), *sent]  # the first row differs
    results = compare(ours, [population_member(m, KEYRING) for m in twice])
    sides = [(c.member_id, c.side) for c in results]
    assert sides.count((sent[0].member_supplemental_id, Side.DUPLICATE_AT_INSURER)) == 1
    (kept,) = [c for c in results if c.side == Side.BOTH and c.member_id == sides[0][0]]
    assert {f.field: f.code for f in kept.fields}["name"] == Code.MISMATCH


def test_what_the_insurer_does_not_provide_is_not_provided_never_a_discrepancy() -> None:
    header, row = _extract(",")[:2]
    cells = dict(zip(header.split(","), row.split(","), strict=True))
    cells["insurer_member_id"] = ""  # an empty cell
    del cells["total_premium"], cells["aptc"], cells["ssn"]  # columns the extract lacks
    lines = [",".join(cells), ",".join(cells.values())]
    (theirs,) = read_extract(lines, KEYRING)
    ssn = keyed_hash(KEY, "ssn", "000000001", "S1")
    hashes = {version: {**kinds, "ssn": ssn} for version, kinds in theirs.hashes.items()}
    ours = replace(theirs, insurer_member_id="INS-1", total_premium="450.00", aptc="300.00",
                   ssn=ssn, hashes=hashes, benefit_end="20241231")  # fmt: skip
    (result,) = compare([ours], [theirs])
    found = {f.field: f.code for f in result.fields}
    for name in ("insurer_member_id", "total_premium", "aptc", "ssn"):
        assert found[name] == Code.NOT_PROVIDED, name
    # An empty benefit end is a value (open-ended) while the column is there: a mismatch.
    assert found["benefit_end"] == Code.MISMATCH
    assert [r["field"] for r in discrepancy_rows("HP", [result])] == ["benefit_end"]
    without_end = [",".join(n for n in cells if n != "benefit_end"),
                   ",".join(v for n, v in cells.items() if n != "benefit_end")]  # fmt: skip
    (result,) = compare([ours], read_extract(without_end, KEYRING))
    assert result.matched and not result.discrepancies()
    summary = ReconciliationSummary("US", "HP", "20240301", "d", "extract", "now")
    tally(summary, [result])
    assert summary.by_field["aptc"] == {"not_provided": 1} and summary.matched == 1
    line = list(rcno_lines([result]))[1].rstrip("\n").split("|")
    assert set(line[3:]) == {"M", "D"}  # RCNO has no code for it: D, does not apply


def test_the_rcno_file_escapes_identifiers_that_would_forge_a_row_a_column_or_a_formula() -> None:
    forged = [
        replace(person(1), subscriber_id="S1|M|M", member_id="E1\nS9|E9|both"),
        replace(person(2), subscriber_id='=HYPERLINK("http://x")', member_id=" @SUM(A1)"),
        replace(person(3), subscriber_id="S3\\u007c", member_id="E3\r\u2028"),
    ]
    lines = list(rcno_lines(compare(forged, forged)))
    assert len(lines) == 4 and all(line.endswith("\n") for line in lines)
    cells = [line.rstrip("\n").split("|") for line in lines]
    assert all(len(row) == len(RCNO_COLUMNS) for row in cells)
    assert cells[1][:2] == ['\'=HYPERLINK("http://x")', "' @SUM(A1)"]
    assert cells[2][:2] == ["S1\\u007cM\\u007cM", "E1\\u000aS9\\u007cE9\\u007cboth"]
    assert cells[3][:2] == ["S3\\u005cu007c", "E3\\u000d\\u2028"]
