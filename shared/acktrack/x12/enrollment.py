"""834 (005010X220A1) body reader: one MemberTransaction per INS loop.

This is the hot path for 100,000-member files. A Python loop per segment costs more
than the whole budget, so the body is cut into members on ``~INS*`` and each member's
fields are found with ``str.find`` and small regex ``findall`` calls over its text,
scoped to its loops (2000, 2100A, 2300, 2700/2750).
Loop 2300 is read in ``coverage``, code values checked in ``member_codes``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from acktrack.x12 import codes
from acktrack.x12.coverage import (
    COVERAGE_DATES,
    COVERAGE_REFS,
    canonical_coverage,
    coverage_fields,
)
from acktrack.x12.dates import valid_date, valid_period
from acktrack.x12.delimiters import Delimiters
from acktrack.x12.findings import Finding
from acktrack.x12.limits import Budget, Limits, current, kept_value
from acktrack.x12.member_codes import INDICATORS, coverage_code_errors, ins_code_errors
from acktrack.x12.member_layout import member_patterns
from acktrack.x12.records import Coverage, EnrollmentSet, MemberTransaction, TransactionHeader

__all__ = ["EnrollmentReader", "valid_date", "valid_period"]

_MEMBER_NAME = frozenset({"IL", "74"})  # NM101 of loop 2100A (member, or corrected member)
_DATES_KEPT = 10_000  # valid dates remembered (a cache: a hostile file's dates do not pile up)
_PADDING = [""] * 10
_new = tuple.__new__  # builds a NamedTuple record in one C call


class EnrollmentReader:
    """Consumes the body of one 834 set and yields members and findings.

    ``feed(text, start, end)`` takes whole segments ``text[start:end]`` (each ending
    with the terminator). A member is emitted when the next INS, or ``flush`` at SE,
    shows it is complete. A member longer than ``limits.loop_chars`` is not held: its
    segments are counted, a fatal ``loop_too_long`` finding names it, and no record is
    made of it (in the index pass too, so the file is refused before anything is written).
    """

    def __init__(
        self,
        header: TransactionHeader,
        delimiters: Delimiters,
        build_members: bool = True,
        *,
        limits: Limits | None = None,
        budget: Budget | None = None,
    ) -> None:
        limits = limits or current()
        self._loop_chars = limits.loop_chars
        self._header_limit = limits.header_bytes  # what may come before the first INS
        self._header_left = self._header_limit
        self._value_chars = limits.value_chars
        self._budget = budget or Budget(limits.structures)
        self._dropped = 0  # segments of the open member, once it is too long to hold
        self.enrollment = EnrollmentSet(header=header)
        self.position = 1  # segments counted so far, ST = 1
        self.members = 0
        self._patterns = member_patterns(delimiters)
        self._build = build_members
        self._open: str | None = None  # text of the member still being read (no INS prefix)
        self._findings: list[Finding] = []
        self._dates: set[str] = set()  # valid DTP values seen in this set

    # -- streaming --------------------------------------------------------------------

    def resume(self, header_segments: tuple[str, ...], position: int, members: int) -> None:
        """Start in the middle of the set: its header, and what came before the cut."""
        for segment in header_segments:
            self._header_segment(segment.split(self._patterns.sep))
        self._findings = []  # the range that holds the header reports its findings
        self.position = position
        self.members = members

    def feed(
        self, text: str, start: int, end: int
    ) -> Generator[MemberTransaction | Finding, None, None]:
        patterns = self._patterns
        term = patterns.term
        if len(self._dates) > _DATES_KEPT:
            self._dates.clear()
        pieces = (term + text[start : end - 1]).split(patterns.ins)
        head = pieces[0][1:]
        if head:
            if self._dropped:
                self._dropped += head.count(term) + 1
            elif self._open is not None:
                self._open += term + head
                if len(self._open) > self._loop_chars:
                    yield self._drop_open()
            else:
                self._header_left -= len(head) + 1
                if self._header_left >= 0:
                    for segment in head.split(term):
                        self.position += 1
                        self._header_segment(segment.split(patterns.sep))
                else:  # too long to be a set header: counted, not read
                    if self._header_left + len(head) + 1 >= 0:  # the first time only
                        yield self._header_too_long()
                    self.position += head.count(term) + 1
        build = self._build
        limit = self._loop_chars
        for index in range(1, len(pieces)):
            previous = self._open
            self._open = pieces[index]
            if previous is None:
                continue
            self.members += 1
            first = self.position + 1
            if self._dropped:
                self.position += self._dropped
                self._dropped = 0
                continue
            self.position += previous.count(term) + 1
            if len(previous) > limit:
                yield self._loop_too_long(first, self.members)
            elif build:
                yield self._member(previous, first, self.position)
                if self._findings:
                    yield from self._findings
                    self._findings = []

    def flush(self) -> Generator[MemberTransaction | Finding, None, None]:
        """Emit the member still open at SE (or when the set ends without one)."""
        previous = self._open
        self._open = None
        if previous is not None:
            self.members += 1
            first = self.position + 1
            if self._dropped:
                self.position += self._dropped
                self._dropped = 0
            else:
                self.position += previous.count(self._patterns.term) + 1
                if len(previous) > self._loop_chars:
                    yield self._loop_too_long(first, self.members)
                elif self._build:
                    yield self._member(previous, first, self.position)
        if self._findings:
            yield from self._findings
            self._findings = []

    def _header_too_long(self) -> Finding:
        return self._fatal(
            codes.HEADER_TOO_LONG,
            f"the set's segments before its first INS are longer than "
            f"{self._header_limit:,} characters; they were not read",
            segment_id="ST",
            segment_position=1,
        )

    def _drop_open(self) -> Finding:
        """The open member went over the limit: count its segments from now on, hold nothing."""
        assert self._open is not None
        self._dropped = self._open.count(self._patterns.term) + 1
        self._open = ""
        return self._loop_too_long(self.position + 1, self.members + 1)

    def _loop_too_long(self, position: int, ordinal: int) -> Finding:
        return self._fatal(
            codes.LOOP_TOO_LONG,
            f"member {ordinal:,} (the INS loop at segment {position:,}) is longer than "
            f"{self._loop_chars:,} characters; it was not read",
            segment_id="INS",
            segment_position=position,
            loop_id="2000",
            member_ordinal=ordinal,
        )

    def _fatal(self, code: str, detail: str, **where: Any) -> Finding:
        """A bound this set went over: a fatal finding (the file is quarantined), counted
        against the file's structures."""
        self._budget.take()
        header = self.enrollment.header
        return Finding(
            scheme="ACK",
            code=code,
            severity="fatal",
            detail=detail,
            interchange_control=header.interchange.control,
            group_control=header.group_control,
            transaction_control=header.control,
            **where,
        )

    # -- findings ---------------------------------------------------------------------

    def _finding(
        self,
        scheme: str,
        code: str,
        detail: str,
        segment_id: str,
        loop_id: str,
        position: int,
        element_position: int | None = None,
        reference: str | None = None,
        bad_value: str | None = None,
    ) -> None:
        header = self.enrollment.header
        self._findings.append(
            Finding(
                scheme=scheme,  # type: ignore[arg-type]
                code=code,
                severity="error",
                detail=detail,
                interchange_control=header.interchange.control,
                group_control=header.group_control,
                transaction_control=header.control,
                segment_id=segment_id,
                segment_position=position,
                loop_id=loop_id,
                element_position=element_position,
                element_reference=reference,
                bad_value=bad_value,
                member_ordinal=self.members if segment_id != "BGN" else None,
            )
        )

    def _code_finding(
        self, segment_id: str, loop_id: str, position: int, element: int, reference: str,
        detail: str, value: str,
    ) -> None:  # fmt: skip
        self._finding(
            "IK4", "7", detail, segment_id, loop_id, position, element, reference, value[:8]
        )

    # -- one member -------------------------------------------------------------------

    def _member(self, piece: str, first: int, last: int) -> MemberTransaction:
        """Build one member from its text (everything after ``INS*``, no terminators at the ends)."""
        p = self._patterns
        match = p.canonical.match(piece)
        if match is None:
            return self._member_exact(piece, first, last)
        (
            ins_text,
            refs,
            dtps,
            name_text,
            demographics_text,
            hd_text,
            hd_children,
            categories_text,
        ) = match.groups()
        sep = p.sep
        dates = self._dates
        subscriber_id = group_policy = supplemental = carrier = None
        if refs:
            for item in refs.split(p.ref_split)[1:]:
                qualifier, _, value = item.partition(sep)
                if sep in value:
                    value = value.partition(sep)[0]
                if qualifier == "0F":
                    if subscriber_id is None:
                        subscriber_id = value
                elif qualifier == "1L":
                    group_policy = value
                elif qualifier == "17":
                    supplemental = value
                elif qualifier == "23":
                    carrier = value
        eligibility_begin = eligibility_end = employment_begin = effective = None
        if dtps:
            for item in dtps.split(p.dtp_split)[1:]:
                elements = item.split(sep)
                if len(elements) < 3 or not (
                    (elements[2] in dates and elements[1] == "D8")
                    or valid_period(elements[1], elements[2])
                ):
                    return self._member_exact(piece, first, last)  # it places the finding
                value = elements[2]
                if elements[1] == "D8":
                    dates.add(value)
                qualifier = elements[0]
                if qualifier == "356":
                    eligibility_begin = value
                elif qualifier == "357":
                    eligibility_end = value
                elif qualifier == "336":
                    employment_begin = value
                elif qualifier == "303":
                    effective = value
        name = name_text.split(sep)
        if len(name) < 8:
            name.extend(_PADDING[: 8 - len(name)])
        birth_date = gender = marital = None
        if demographics_text is not None:
            demographics = demographics_text.split(sep)
            if len(demographics) < 4:
                demographics.extend(_PADDING[: 4 - len(demographics)])
            birth_date = demographics[1] or None
            if (
                birth_date is not None
                and not (
                    len(birth_date) == 8
                    and (birth_date.isascii() and birth_date.isdigit())
                    and "01" <= birth_date[4:6] <= "12"
                    and "01" <= birth_date[6:8] <= "28"
                )
                and not valid_date(birth_date)
            ):
                return self._member_exact(piece, first, last)
            gender = demographics[2] or None
            marital = demographics[3] or None
        coverages: tuple[Coverage, ...] = ()
        if hd_text is not None:
            coverage = canonical_coverage(
                hd_text, hd_children, first + piece.count(p.term, 0, match.start(6)), p.term, sep
            )
            if coverage is None:
                return self._member_exact(piece, first, last)  # it places the finding
            if (
                coverage.maintenance_type not in codes.COVERAGE_MAINTENANCE_TYPE
                or coverage.insurance_line not in codes.INSURANCE_LINE
                or (coverage.coverage_level and coverage.coverage_level not in codes.COVERAGE_LEVEL)
            ):
                self._check_coverage(coverage)
            coverages = (coverage,)
        categories = dict(p.category.findall(categories_text)) if categories_text else {}
        ins = ins_text.split(sep)
        if len(ins) < 5:
            ins.extend(_PADDING[: 5 - len(ins)])
        member = _new(MemberTransaction, (
            self.enrollment, self.members, first, last,
            ins[0], ins[1], ins[2], ins[3], ins[4],
            subscriber_id, group_policy, supplemental, carrier,
            eligibility_begin, eligibility_end, employment_begin, effective,
            name[1] or None, name[2] or None, name[3] or None, name[7] or None, name[6] or None,
            birth_date, gender, marital, coverages, categories,
        ))  # fmt: skip
        if (
            ins[0] not in INDICATORS
            or ins[1] not in codes.RELATIONSHIP
            or ins[2] not in codes.MAINTENANCE_TYPE
            or ins[4] not in codes.BENEFIT_STATUS
        ):
            self._check_ins(member, first)
        if subscriber_id is None:
            self._missing_subscriber_ref(piece, first)
        return member

    def _member_exact(self, piece: str, first: int, last: int) -> MemberTransaction:
        """The exact reader: a loop over the member's segments, any layout.

        Locals only, one constructor call, each segment split only when it carries a field.
        """
        p = self._patterns
        term, sep = p.term, p.sep
        dates = self._dates
        # The 2700/2750 reporting categories close the loop: one findall reads them.
        ls_at = piece.find(p.ls)
        if ls_at >= 0:
            segments = piece[:ls_at].split(term)
            categories = dict(p.category.findall(piece, ls_at))
        else:
            segments = piece.split(term)
            categories = {}
        ins = segments[0].split(sep)
        ins.extend(_PADDING[: max(0, 6 - len(ins))])
        subscriber_id = group_policy = supplemental = carrier = None
        eligibility_begin = eligibility_end = employment_begin = effective = None
        last_name = first_name = middle_name = identifier_qualifier = identifier = None
        birth_date = gender = marital = None
        coverages: list[Coverage] = []
        coverage: list[Any] | None = None  # Coverage fields, collected until the loop ends
        loop = 2000
        has_name = False
        tag_hd, tag_lx = p.tag_hd, p.tag_lx
        for index in range(1, len(segments)):
            segment = segments[index]
            tag = segment[:3]
            if tag == "REF":
                if loop == 2000:
                    elements = segment.split(sep)
                    if len(elements) > 2:
                        qualifier = elements[1]
                        if qualifier == "0F":
                            if subscriber_id is None:
                                subscriber_id = elements[2]
                        elif qualifier == "17":
                            supplemental = elements[2]
                        elif qualifier == "1L":
                            group_policy = elements[2]
                        elif qualifier == "23":
                            carrier = elements[2]
                elif loop == 2300 and coverage is not None:
                    elements = segment.split(sep)
                    if len(elements) > 2:
                        slot = COVERAGE_REFS.get(elements[1])
                        if slot is not None:
                            coverage[slot] = elements[2]
            elif tag == "DTP":
                if loop not in (2000, 2300):
                    continue
                elements = segment.split(sep)
                if len(elements) < 4:
                    elements.extend(_PADDING[: 4 - len(elements)])
                value = elements[3]
                ok = value in dates and elements[2] == "D8"
                if not ok:
                    ok = valid_period(elements[2], value)
                    if ok and elements[2] == "D8":
                        dates.add(value)
                qualifier = elements[1]
                if not ok:
                    self._finding(
                        "IK4",
                        "8" if value else "1",
                        f"DTP*{qualifier[:3]} date is invalid",
                        "DTP",
                        str(loop),
                        first + index,
                        3,
                        "1251",
                    )
                elif loop == 2000:
                    if qualifier == "356":
                        eligibility_begin = value
                    elif qualifier == "357":
                        eligibility_end = value
                    elif qualifier == "336":
                        employment_begin = value
                    elif qualifier == "303":
                        effective = value
                elif coverage is not None:
                    slot = COVERAGE_DATES.get(qualifier)
                    if slot is not None:
                        coverage[slot] = value
            elif tag == "NM1":
                elements = segment.split(sep)
                if loop == 2000 and len(elements) > 1 and elements[1] in _MEMBER_NAME:
                    loop = 2100
                    has_name = True
                    elements.extend(_PADDING[: max(0, 10 - len(elements))])
                    last_name = elements[3] or None
                    first_name = elements[4] or None
                    middle_name = elements[5] or None
                    identifier_qualifier = elements[8] or None
                    identifier = elements[9] or None
                elif loop in (2000, 2100):
                    loop = 2101  # another 2100 loop (mailing address, custodial parent...)
                else:
                    loop = 2310
            elif tag == "DMG":
                if loop == 2100:
                    elements = segment.split(sep)
                    elements.extend(_PADDING[: max(0, 5 - len(elements))])
                    birth_date = elements[2] or None
                    gender = elements[3] or None
                    marital = elements[4] or None
                    if birth_date is not None and not valid_date(birth_date):
                        self._finding(
                            "IK4",
                            "8",
                            "DMG02 birth date is invalid",
                            "DMG",
                            "2100A",
                            first + index,
                            2,
                            "1251",
                        )
            elif tag == tag_hd:
                loop = 2300
                if coverage is not None:
                    coverages.append(Coverage(*coverage))
                coverage = coverage_fields(segment, sep, first + index)
                self._check_coverage(Coverage(*coverage))
            elif tag == "DSB":
                loop = 2200
            elif tag == "COB" or (tag == tag_lx and loop == 2300):
                loop = 2310
        if coverage is not None:
            coverages.append(Coverage(*coverage))
        member = MemberTransaction(
            enrollment=self.enrollment,
            ordinal=self.members,
            first_position=first,
            last_position=last,
            subscriber_indicator=ins[0],
            relationship=ins[1],
            maintenance_type=ins[2],
            maintenance_reason=ins[3],
            benefit_status=ins[4],
            subscriber_id=subscriber_id,
            group_policy_number=group_policy,
            member_supplemental_id=supplemental,
            carrier_member_id=carrier,
            eligibility_begin=eligibility_begin,
            eligibility_end=eligibility_end,
            employment_begin=employment_begin,
            maintenance_effective=effective,
            last_name=last_name,
            first_name=first_name,
            middle_name=middle_name,
            member_identifier=identifier,
            member_identifier_qualifier=identifier_qualifier,
            birth_date=birth_date,
            gender=gender,
            marital_status=marital,
            coverages=tuple(coverages),
            reporting_categories=categories,
        )
        if (
            ins[0] not in INDICATORS
            or ins[1] not in codes.RELATIONSHIP
            or ins[2] not in codes.MAINTENANCE_TYPE
            or ins[4] not in codes.BENEFIT_STATUS
        ):
            self._check_ins(member, first)
        if subscriber_id is None:
            self._missing_subscriber_ref(piece, first)
        if not has_name:
            self._finding(
                "IK3", "3", "NM1 member name (loop 2100A) is missing", "NM1", "2100A", first
            )
        return member

    def _missing_subscriber_ref(self, piece: str, first: int) -> None:
        """REF*0F is required: report it where a translator notices, after the REF block."""
        prefix = "REF" + self._patterns.sep
        segments = piece.split(self._patterns.term)
        after = 1
        while after < len(segments) and segments[after].startswith(prefix):
            after += 1
        self._finding(
            "IK3", "3", "REF*0F subscriber identifier is missing", "REF", "2000", first + after
        )

    def _check_ins(self, member: MemberTransaction, position: int) -> None:
        for error in ins_code_errors(member):
            self._code_finding("INS", "2000", position, *error)

    def _check_coverage(self, coverage: Coverage) -> None:
        for error in coverage_code_errors(coverage):
            self._code_finding("HD", "2300", coverage.position, *error)

    # -- set header (BGN, REF*38, 1000A/1000B) ----------------------------------------------

    def _header_segment(self, elements: list[str]) -> None:
        """A segment between ST and the first INS; its values are kept for the set."""
        enrollment = self.enrollment
        tag = elements[0]
        size = len(elements)
        chars = self._value_chars

        def value(number: int) -> str:
            return kept_value(elements[number], chars) if size > number else ""

        if tag == "BGN":
            enrollment.purpose = value(1)
            enrollment.reference = value(2)
            enrollment.created_date = value(3)
            enrollment.created_time = value(4)
            enrollment.action = value(8)
            if enrollment.purpose not in codes.BGN_PURPOSE and self._budget.take():
                self._finding(
                    "IK4",
                    "7",
                    "BGN01 is not a purpose code",
                    "BGN",
                    "",
                    self.position,
                    1,
                    "353",
                    enrollment.purpose[:4],
                )
        elif tag == "REF":
            if size > 2 and elements[1] == "38":
                enrollment.master_policy = value(2)
        elif tag == "N1" and size > 2:
            if elements[1] == "P5":
                enrollment.sponsor_name, enrollment.sponsor_id = value(2), value(4)
            elif elements[1] == "IN":
                enrollment.payer_name, enrollment.payer_id = value(2), value(4)
