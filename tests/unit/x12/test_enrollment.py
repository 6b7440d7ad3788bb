"""834 member records: every field, unusual layouts, findings, and the fast path agreeing with the exact one."""

from __future__ import annotations

import io
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acktrack.x12 import Finding, MemberTransaction, TransactionEnd, read_x12
from acktrack.x12.delimiters import DEFAULT_DELIMITERS
from acktrack.x12.enrollment import EnrollmentReader
from acktrack.x12.records import InterchangeHeader, TransactionHeader
from tests.support import SAMPLES, codes, findings, generate, members, of_type, records

HEADER = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240115*1200*^*00501*000000001*0*T*:~"
    "GS*BE*SENDER*RECEIVER*20240115*1200*7*X*005010X220A1~"
    "ST*834*0001*005010X220A1~BGN*00*REF1*20240115*1200****2~N1*P5*SPONSOR*FI*1~N1*IN*PAYER*FI*2~"
)


def wrap(*member_segments: str) -> bytes:
    body = "~".join(member_segments) + "~"
    count = 4 + body.count("~") + 1  # ST, BGN, two N1, the members, SE
    return (HEADER + body + f"SE*{count}*0001~GE*1*7~IEA*1*000000001~").encode()


CANONICAL = (
    "INS*Y*18*021*28*A***FT", "REF*0F*S1", "REF*1L*G1", "REF*17*M1", "DTP*356*D8*20240201",
    "NM1*IL*1*LAST*FIRST*MID***34*900000001", "N3*1 MAIN ST", "N4*TOWN*VA*22000", "DMG*D8*19800101*F*M",
    "HD*021**HLT*PLAN1*IND", "DTP*348*D8*20240201", "REF*CE*GOLD",
    "LS*2700", "LX*1", "N1*75*PRE AMT 1", "REF*9X*100.00", "DTP*007*D8*20240201", "LE*2700",
)  # fmt: skip


def test_every_field_of_a_canonical_member() -> None:
    (member,) = members(wrap(*CANONICAL))
    assert member.to_dict(show_phi=True) | {"sent_at": None} == {
        "sender_id": "SENDER", "receiver_id": "RECEIVER", "interchange_control": "000000001",
        "group_control": "7", "transaction_control": "0001", "sent_at": None, "ordinal": 1,
        "segment_positions": [5, 22], "purpose": "00", "action": "2",
        "sponsor": {"name": "SPONSOR", "id": "1"}, "payer": {"name": "PAYER", "id": "2"},
        "subscriber_indicator": "Y", "relationship": "18", "maintenance_type": "021",
        "maintenance_reason": "28", "benefit_status": "A", "subscriber_id": "S1",
        "group_policy_number": "G1", "member_supplemental_id": "M1", "carrier_member_id": None,
        "eligibility_begin": "2024-02-01", "eligibility_end": None, "employment_begin": None,
        "maintenance_effective": None,
        "name": {"last": "LAST", "first": "FIRST", "middle": "MID"},
        "member_identifier_qualifier": "34", "member_identifier": "900000001",
        "birth_date": "1980-01-01", "gender": "F", "marital_status": "M",
        "coverages": [{
            "maintenance_type": "021", "insurance_line": "HLT", "plan": "PLAN1", "coverage_level": "IND",
            "benefit_begin": "2024-02-01", "benefit_end": None, "class_of_contract": "GOLD",
            "policy_number": None, "internal_control": None,
        }],
        "reporting_categories": {"PRE AMT 1": "100.00"},
    }  # fmt: skip


def test_phi_is_masked_unless_asked_for() -> None:
    (member,) = members(wrap(*CANONICAL))
    masked = member.to_dict()
    assert masked["name"] == {"last": "***", "first": "***", "middle": "***"}
    assert masked["member_identifier"] == "***" and masked["birth_date"] == "***"
    assert masked["subscriber_id"] == "S1"  # operations needs identifiers
    text = str(masked)
    for secret in ("LAST", "FIRST", "900000001", "1980"):
        assert secret not in text


def test_insurer_sent_ids_two_coverages_and_other_loops() -> None:
    segments = (
        "INS*Y*18*001*AI*A", "REF*0F*S1", "REF*23*CARRIER9", "REF*ZZ*OTHER", "DTP*303*D8*20240301",
        "DTP*357*D8*20241231", "NM1*IL*1*LAST*FIRST", "DMG*D8*19800101*M",
        "NM1*31*1", "N3*PO BOX 1", "N4*TOWN*VA*22000",  # 2100C mailing address
        "HD*001**HLT*PLAN1*FAM", "DTP*348*D8*20240101", "DTP*349*D8*20241231", "REF*X9*POLICY77",
        "LX*1", "NM1*P3*1*DOC", "DTP*348*D8*19990101",  # 2310 provider: its DTP is not the coverage's
        "HD*021**DEN*DPLAN*IND", "DTP*348*D8*20240301", "REF*1L*DGRP",
    )  # fmt: skip
    (member,) = members(wrap(*segments))
    assert member.carrier_member_id == "CARRIER9"
    assert (member.maintenance_effective, member.eligibility_end) == ("20240301", "20241231")
    health, dental = member.coverages
    assert (health.benefit_begin, health.benefit_end, health.internal_control) == (
        "20240101",
        "20241231",
        "POLICY77",
    )
    assert (dental.insurance_line, dental.benefit_begin, dental.policy_number) == (
        "DEN",
        "20240301",
        "DGRP",
    )
    assert member.last_position - member.first_position + 1 == len(segments)


def test_cancellation_versus_termination() -> None:
    cancel = members(wrap("INS*Y*18*024*07*A", "REF*0F*S1", "NM1*IL*1*A*B", "HD*024**HLT*P*IND",
                          "DTP*348*D8*20240201", "DTP*349*D8*20240201"))[0]  # fmt: skip
    terminate = members(wrap("INS*Y*18*024*07*A", "REF*0F*S1", "NM1*IL*1*A*B", "HD*024**HLT*P*IND",
                             "DTP*348*D8*20240201", "DTP*349*D8*20240630"))[0]  # fmt: skip
    assert cancel.coverages[0].is_cancellation is True
    assert terminate.coverages[0].is_cancellation is False


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        (("INS*X*18*021*28*A", "REF*0F*S1", "NM1*IL*1*A*B"), [("IK4", "7", "INS", 5, 1, "1073")]),
        (("INS*Y*99*021*28*A", "REF*0F*S1", "NM1*IL*1*A*B"), [("IK4", "7", "INS", 5, 2, "1069")]),
        (("INS*Y*18*021*28*Z", "REF*0F*S1", "NM1*IL*1*A*B"), [("IK4", "7", "INS", 5, 5, "1216")]),
        (("INS*Y*18*021*28*A", "NM1*IL*1*A*B"), [("IK3", "3", "REF", 6, None, None)]),
        (("INS*Y*18*021*28*A", "REF*0F*S1"), [("IK3", "3", "NM1", 5, None, None)]),
        (("INS*Y*18*021*28*A", "REF*0F*S1", "DTP*356*D8*20240230", "NM1*IL*1*A*B"),
         [("IK4", "8", "DTP", 7, 3, "1251")]),
        (("INS*Y*18*021*28*A", "REF*0F*S1", "DTP*356*D8", "NM1*IL*1*A*B"), [("IK4", "1", "DTP", 7, 3, "1251")]),
        (("INS*Y*18*021*28*A", "REF*0F*S1", "NM1*IL*1*A*B", "DMG*D8*19801301*F"),
         [("IK4", "8", "DMG", 8, 2, "1251")]),
        (("INS*Y*18*021*28*A", "REF*0F*S1", "NM1*IL*1*A*B", "HD*021**XXX*P*ZZZ", "DTP*348*D8*20241301"),
         [("IK4", "7", "HD", 8, 3, "1205"), ("IK4", "7", "HD", 8, 5, "1207"), ("IK4", "8", "DTP", 9, 3, "1251")]),
    ],
)  # fmt: skip
def test_member_findings_point_at_the_segment(
    segments: tuple[str, ...], expected: list[tuple[object, ...]]
) -> None:
    found = findings(wrap(*segments))
    assert [
        (
            f.scheme,
            f.code,
            f.segment_id,
            f.segment_position,
            f.element_position,
            f.element_reference,
        )
        for f in found
    ] == expected
    assert all(f.member_ordinal == 1 for f in found)


def test_bad_values_never_carry_personal_data() -> None:
    found = findings(wrap("INS*Y*18*021*28*A", "REF*0F*S1", "NM1*IL*1*A*B", "DMG*D8*19801301*F"))
    assert all(f.bad_value is None for f in found if f.segment_id == "DMG")
    assert "19801301" not in str([f.to_dict() for f in found])


def test_index_pass_counts_members_without_building_them() -> None:
    data, generated = generate(members=57, sets_per_group=3, seed=2)
    found = records(data, members=False)
    assert of_type(found, MemberTransaction) == []
    assert [end.members for end in of_type(found, TransactionEnd)] == [
        s.members for s in generated.sets
    ]
    assert of_type(found, Finding) == []


def _reader() -> EnrollmentReader:
    interchange = InterchangeHeader(
        "ZZ",
        "S",
        "ZZ",
        "R",
        "240101",
        "1200",
        "000000001",
        "00501",
        False,
        "T",
        DEFAULT_DELIMITERS,
        0,
        1,
    )
    return EnrollmentReader(
        TransactionHeader("834", "0001", "005010X220A1", interchange, None), DEFAULT_DELIMITERS
    )


_optional = st.sampled_from
member_layouts = st.fixed_dictionaries(
    {
        "indicator": _optional(["Y", "N", "X"]),
        "relationship": _optional(["18", "01", "19", "99"]),
        "maintenance": _optional(["021", "024", "001", "099"]),
        "refs": st.lists(_optional(["REF*0F*S1", "REF*1L*G1", "REF*17*M1", "REF*23*C1", "REF*ZZ*X"]), max_size=5),
        "dates": st.lists(_optional(["DTP*356*D8*20240201", "DTP*357*D8*20240231", "DTP*303*D8*20240301",
                                     "DTP*336*RD8*20240101-20240201", "DTP*356*D8"]), max_size=3),
        "name": _optional([None, "NM1*IL*1*L*F*M***34*900000001", "NM1*74*1*L*F", "NM1*IL*1*L"]),
        "extra": st.lists(_optional(["PER*IP**HP*1", "N3*ADDR", "N4*C*S*Z", "DMG*D8*19800101*F",
                                     "DMG*D8*19800231*M", "NM1*31*1", "DSB*1"]), max_size=4),
        "coverages": st.lists(st.tuples(_optional(["021", "024", "ZZZ"]), _optional(["HLT", "DEN", "XXX"]),
                                        st.lists(_optional(["DTP*348*D8*20240201", "DTP*349*D8*20240201",
                                                            "REF*CE*GOLD", "REF*X9*P1", "REF*1L*G2",
                                                            "AMT*P3*10"]), max_size=3)), max_size=2),
        "categories": st.lists(_optional(["PRE AMT 1", "APTC AMT", "CSR AMT"]), max_size=3, unique=True),
    }
)  # fmt: skip


@given(member_layouts)
def test_fast_path_agrees_with_the_exact_reader(layout: dict[str, object]) -> None:
    segments = [f"{layout['indicator']}*{layout['relationship']}*{layout['maintenance']}*28*A"]
    segments += layout["refs"]  # type: ignore[operator]
    segments += layout["dates"]  # type: ignore[operator]
    if layout["name"]:
        segments.append(layout["name"])  # type: ignore[arg-type]
    segments += layout["extra"]  # type: ignore[operator]
    for maintenance, line, children in layout["coverages"]:  # type: ignore[attr-defined]
        segments.append(f"HD*{maintenance}**{line}*PLAN*IND")
        segments += children
    segments += _categories(layout["categories"])  # type: ignore[arg-type]
    _assert_fast_and_exact_agree(segments)


def _categories(names: list[str]) -> list[str]:
    """A 2700 loop: one 2750 reporting category per name."""
    if not names:
        return []
    segments = ["LS*2700"]
    for number, name in enumerate(names, 1):
        segments += [f"LX*{number}", f"N1*75*{name}", f"REF*9X*{number}.00", "DTP*007*D8*20240201"]
    return [*segments, "LE*2700"]


def _assert_fast_and_exact_agree(segments: list[str], *, fast_path: bool = False) -> None:
    """The member built by the fast path equals the exact reader's, findings included."""
    piece = "~".join(segments)
    fast_reader, exact_reader = _reader(), _reader()
    if fast_path:
        assert fast_reader._patterns.canonical.match(piece) is not None  # the fast path, every time
    fast = fast_reader._member(piece, 10, 10 + len(segments) - 1)
    exact = exact_reader._member_exact(piece, 10, 10 + len(segments) - 1)
    assert fast.to_dict(show_phi=True) == exact.to_dict(show_phi=True)
    assert [c.position for c in fast.coverages] == [c.position for c in exact.coverages]
    assert fast_reader._findings == exact_reader._findings


def test_the_sample_members_take_the_fast_path() -> None:
    reader = _reader()
    data = (SAMPLES / "834_5members.834").read_text()
    pieces = data.replace("\n", "").split("~INS*")[1:]
    for piece in pieces:
        member_text = piece.split("~SE*")[0]
        assert reader._patterns.canonical.match(member_text) is not None


def test_streaming_from_a_non_seekable_stream() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self._data.read(min(size, 777) if size > 0 else 777)

    data, _ = generate(members=200, seed=6)
    got = [r for r in read_x12(Pipe(data), chunk_size=4096) if isinstance(r, MemberTransaction)]  # type: ignore[arg-type]
    assert len(got) == 200 and got[-1].ordinal == 200
    assert codes(findings(data)) == []


_DAY = st.dates(date(2000, 1, 1), date(2030, 12, 31)).map(lambda d: d.strftime("%Y%m%d"))
canonical_layouts = st.fixed_dictionaries(
    {
        "ins": st.sampled_from(["Y*18*021*28*A", "N*19*021*28*A", "Y*18*024*07*T", "N*01*001*AI*A"]),
        "refs": st.lists(st.sampled_from(["0F*S1", "17*M1", "1L*G1", "23*C1"]), max_size=4),
        "dates": st.lists(st.tuples(st.sampled_from(["356", "357", "303", "336"]), _DAY), max_size=3),
        "contact": st.lists(st.sampled_from(["PER*IP**HP*1", "N3*ADDR", "N4*C*S*Z"]), max_size=3),
        "birth": st.one_of(st.none(), _DAY),
        "coverage": st.one_of(st.none(), st.tuples(
            st.sampled_from(["021", "024", "001"]), st.sampled_from(["HLT", "DEN", "VIS"]),
            st.lists(st.tuples(st.sampled_from(["348", "349"]), _DAY), max_size=2),
            st.lists(st.sampled_from(["CE*GOLD", "X9*P1", "1L*G2"]), max_size=2))),
        "categories": st.lists(st.sampled_from(["PRE AMT 1", "APTC AMT", "CSR AMT"]), max_size=3, unique=True),
    }
)  # fmt: skip


@given(canonical_layouts)
def test_members_laid_out_as_x220_orders_them_take_the_fast_path_and_agree(
    layout: dict[str, object],
) -> None:
    """The other property mostly exercises the exact reader; this one, the fast path."""
    segments = [str(layout["ins"])]
    segments += [f"REF*{ref}" for ref in layout["refs"]]  # type: ignore[attr-defined]
    segments += [f"DTP*{q}*D8*{day}" for q, day in layout["dates"]]  # type: ignore[attr-defined]
    segments.append("NM1*IL*1*L*F*M***34*900000001")
    segments += layout["contact"]  # type: ignore[operator]
    if layout["birth"]:
        segments.append(f"DMG*D8*{layout['birth']}*F")
    if layout["coverage"]:
        maintenance, line, dates, refs = layout["coverage"]  # type: ignore[misc]
        segments.append(f"HD*{maintenance}**{line}*PLAN*IND")
        segments += [f"DTP*{q}*D8*{day}" for q, day in dates] + [f"REF*{ref}" for ref in refs]
    segments += _categories(layout["categories"])  # type: ignore[arg-type]
    _assert_fast_and_exact_agree(segments, fast_path=True)
