"""Seeded synthetic 834 files: invented people only, with deliberate errors on request.

Used by the demo, the benchmarks and the tests. Every person is generated from
syllables and never-issued SSNs (9xx), so nothing here can be a real member.
The generator streams: a 1,000,000-member file is never held in memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import BinaryIO

from acktrack.synthetic.writer import SegmentWriter, isa_elements
from acktrack.x12.delimiters import DEFAULT_DELIMITERS, Delimiters

_SYLLABLES = (
    "KES", "NEV", "QUIN", "SOR", "TALB", "HOLL", "GARR", "VEL", "MOR", "PRAX", "DUL", "BRE",
    "CAST", "FEN", "LOR", "MAB", "OST", "RHU", "WEX", "YAR", "ZOL", "TRIM", "ASH", "BEL",
)  # fmt: skip
_SUFFIXES = ("SHAM", "TON", "COTT", "STEAD", "FIELD", "WORTH", "BURY", "DALE", "MERE", "LOW")
_FIRST_NAMES = (
    "CAROL", "SARAH", "FRANK", "JEFFREY", "ERIC", "MARY", "DAVID", "ELIZABETH", "JOSHUA",
    "LARRY", "ANNA", "PAUL", "RUTH", "SAMUEL", "LINDA", "OMAR", "PRIYA", "WEI", "ROSA", "IVAN",
)  # fmt: skip
_STREETS = ("OAK", "MAPLE", "PINE", "WILLOW", "JUNIPER", "POPLAR", "CEDAR", "ELM", "BIRCH")
_STREET_TYPES = ("ST", "AVE", "DR", "CT", "PL", "LN")
_CITIES = (
    ("STONECREST", "VA", "23212", "51760"),
    ("CEDAR GLEN", "FL", "32882", "12095"),
    ("MILLHAVEN", "TX", "75010", "48113"),
    ("BELLMEADE", "TN", "37264", "47037"),
    ("RIVERBEND", "OH", "43004", "39049"),
    ("ASPEN HOLLOW", "AZ", "85001", "04013"),
)
_PLANS = (
    "12345OH0010001-01", "23456TX0020002-02", "34567FL0030003-01", "45678GA0040004-03",
    "56789NC0050005-01", "67890AZ0060006-02",
)  # fmt: skip
_METALS = ("BRONZE", "SILVER", "GOLD", "PLATINUM")

# Deliberate errors the generator can plant; ``name`` or ``name:N`` (N = member number).
ERRORS = {
    "bad_ins03": "INS03 = 099 (not a maintenance type)",
    "bad_ins02": "INS02 = 99 (not a relationship code)",
    "bad_hd03": "HD03 = XXX (not an insurance line)",
    "bad_dtp_date": "DTP*356 = 20241340 (no such date)",
    "missing_ref_0f": "REF*0F subscriber identifier left out",
    "missing_dtp_348": "DTP*348 benefit begin left out",
    "aptc_over_premium": "APTC AMT greater than PRE AMT TOT",
    "negative_premium": "PRE AMT 1 below zero",
    "bad_se_count": "SE01 one more than the real count",
    "se_control_mismatch": "SE02 differs from ST02",
    "bad_ge_count": "GE01 one more than the real count",
    "ge_control_mismatch": "GE02 differs from GS06",
    "bad_iea_count": "IEA01 one more than the real count",
    "iea_control_mismatch": "IEA02 differs from ISA13",
    "duplicate_st02": "the second set reuses the first set's ST02",
    "missing_se": "the last set has no SE",
    "truncate": "the file stops in the middle of the last member",
}
_MEMBER_ERRORS = frozenset(
    {"bad_ins03", "bad_ins02", "bad_hd03", "bad_dtp_date", "missing_ref_0f", "missing_dtp_348",
     "aptc_over_premium", "negative_premium"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Person:
    """An invented person. Names, SSN, birth date and address are the PHI canaries."""

    last_name: str
    first_name: str
    ssn: str
    birth_date: str
    gender: str
    street: str
    city: str
    state: str
    postal_code: str
    county: str


@dataclass(slots=True)
class GeneratedMember:
    ordinal: int  # 1-based inside its set
    number: int  # 1-based inside the file
    subscriber_id: str
    member_id: str  # REF*17 (exchange member id)
    is_subscriber: bool
    maintenance_type: str
    first_position: int
    last_position: int
    person: Person
    plan: str
    benefit_begin: str


@dataclass(slots=True)
class GeneratedSet:
    group_control: str
    transaction_control: str
    members: int = 0
    segments: int = 0
    member_detail: list[GeneratedMember] = field(default_factory=list)


@dataclass(slots=True)
class GeneratedFile:
    sender_id: str
    receiver_id: str
    interchange_control: str
    interchange_date: str
    interchange_time: str
    sets: list[GeneratedSet] = field(default_factory=list)
    members: int = 0

    @property
    def group_controls(self) -> list[str]:
        return sorted({item.group_control for item in self.sets}, key=int)

    def all_members(self) -> Iterable[tuple[GeneratedSet, GeneratedMember]]:
        for item in self.sets:
            for member in item.member_detail:
                yield item, member


@dataclass
class EnrollmentSpec:
    """What to generate. ``members`` counts INS loops (subscribers and dependents)."""

    seed: int = 1
    members: int = 10
    groups: int = 1
    sets_per_group: int = 1
    sender_id: str = "ACKTRACKEXCH"
    receiver_id: str = "HEALTHPLAN01"
    interchange_control: int = 1001
    first_group_control: int = 1
    first_transaction_control: int = 1
    sent_at: datetime = datetime(2024, 1, 15, 12, 0)
    delimiters: Delimiters = DEFAULT_DELIMITERS
    line_ending: str = "\n"
    maintenance: Mapping[str, float] = field(default_factory=lambda: {"021": 1.0})
    dependents: float = 0.35  # chance that a subscriber brings a family
    marketplace: bool = True  # REF*17 and 2750 premium/APTC reporting categories
    errors: Sequence[str] = ()
    acknowledgment_requested: bool = False
    usage: str = "P"  # ISA15: production, as a stack tracks by default (TrackedUsage)
    sponsor_name: str = "ACME FICTITIOUS EMPLOYER GROUP"
    payer_name: str = "EXAMPLE HEALTH PLAN OF NOWHERE"
    subscriber_id_start: int = 100000001
    coverage_start: date | None = None  # benefit begin (default: the 1st after sent_at)
    keep_members: bool = True  # collect GeneratedMember detail (turn off for huge files)

    def error_targets(self) -> dict[str, int | None]:
        targets: dict[str, int | None] = {}
        for entry in self.errors:
            name, _, number = entry.partition(":")
            if name not in ERRORS:
                known = ", ".join(sorted(ERRORS))
                raise ValueError(f"unknown deliberate error {name!r}; known: {known}")
            targets[name] = int(number) if number else None
        return targets


class _People:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def surname(self) -> str:
        return self.rng.choice(_SYLLABLES) + self.rng.choice(_SUFFIXES)

    def person(
        self,
        last_name: str,
        age_range: tuple[int, int],
        base: date,
        address: tuple[str, ...] | None = None,
    ) -> Person:
        rng = self.rng
        age_days = rng.randint(age_range[0] * 365, age_range[1] * 365)
        born = base - timedelta(days=age_days)
        if address is None:
            city, state, postal, county = rng.choice(_CITIES)
            street = f"{rng.randint(100, 9999)} {rng.choice(_STREETS)} {rng.choice(_STREET_TYPES)}"
            address = (street, city, state, postal, county)
        street, city, state, postal, county = address
        return Person(
            last_name=last_name,
            first_name=rng.choice(_FIRST_NAMES),
            ssn=f"9{rng.randint(0, 99):02d}{rng.randint(10, 99):02d}{rng.randint(0, 9999):04d}",
            birth_date=born.strftime("%Y%m%d"),
            gender=rng.choice("FM"),
            street=street,
            city=city,
            state=state,
            postal_code=postal,
            county=county,
        )


def first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def write_834(spec: EnrollmentSpec, out: BinaryIO) -> GeneratedFile:
    """Write one interchange described by ``spec`` to ``out``; return what was written."""
    rng = random.Random(spec.seed)
    people = _People(rng)
    targets = spec.error_targets()
    delimiters = spec.delimiters
    writer = SegmentWriter(out, delimiters, spec.line_ending)
    control = str(spec.interchange_control).rjust(9, "0")
    isa = isa_elements(
        sender_id=spec.sender_id,
        receiver_id=spec.receiver_id,
        control=control,
        when=spec.sent_at,
        delimiters=delimiters,
        acknowledgment_requested=spec.acknowledgment_requested,
        usage=spec.usage,
    )
    result = GeneratedFile(spec.sender_id, spec.receiver_id, control, isa[8], isa[9], members=0)
    writer.isa(isa)
    maintenance_codes = list(spec.maintenance)
    maintenance_weights = [spec.maintenance[code] for code in maintenance_codes]
    sets_total = spec.groups * spec.sets_per_group
    per_set = _split(spec.members, sets_total)
    coverage_start = spec.coverage_start or first_of_next_month(spec.sent_at.date())
    subscriber_number = spec.subscriber_id_start
    member_number = 0
    transaction_number = spec.first_transaction_control
    set_index = 0
    for group_index in range(spec.groups):
        group_control = str(spec.first_group_control + group_index)
        writer.segment(
            "GS",
            "BE",
            spec.sender_id,
            spec.receiver_id,
            spec.sent_at.strftime("%Y%m%d"),
            spec.sent_at.strftime("%H%M"),
            group_control,
            "X",
            "005010X220A1",
        )
        sets_in_group = 0
        for _ in range(spec.sets_per_group):
            st02 = f"{transaction_number:04d}"
            if "duplicate_st02" in targets and set_index == 1:
                st02 = f"{transaction_number - 1:04d}"
            transaction_number += 1
            generated = GeneratedSet(group_control, st02)
            writer.set_segments = 0
            writer.segment("ST", "834", st02, "005010X220A1")
            writer.segment(
                "BGN",
                "00",
                f"REF{spec.sent_at:%Y%m%d}{st02}",
                spec.sent_at.strftime("%Y%m%d"),
                spec.sent_at.strftime("%H%M"),
                "",
                "",
                "",
                "2",
            )
            writer.segment("REF", "38", "MASTERPOL0001")
            writer.segment("DTP", "007", "D8", spec.sent_at.strftime("%Y%m%d"))
            writer.segment("N1", "P5", spec.sponsor_name, "FI", "990000001")
            writer.segment("N1", "IN", spec.payer_name, "FI", "990000002")
            remaining = per_set[set_index]
            ordinal = 0
            while remaining > 0:
                family = 1
                if remaining > 1 and rng.random() < spec.dependents:
                    family = min(remaining, rng.randint(2, 4))
                remaining -= family
                subscriber_id = str(subscriber_number)
                subscriber_number += 1
                surname = people.surname()
                maintenance = rng.choices(maintenance_codes, maintenance_weights)[0]
                plan = rng.choice(_PLANS)
                level = "FAM" if family > 1 else "IND"
                begin = coverage_start.strftime("%Y%m%d")
                address: tuple[str, ...] | None = None
                for relative in range(family):
                    ordinal += 1
                    member_number += 1
                    is_subscriber = relative == 0
                    age = (25, 64) if is_subscriber else ((25, 64) if relative == 1 else (1, 17))
                    person = people.person(surname, age, spec.sent_at.date(), address)
                    address = (
                        person.street,
                        person.city,
                        person.state,
                        person.postal_code,
                        person.county,
                    )
                    member_id = f"E{rng.randint(1000000, 9999999)}"
                    first_position = writer.set_segments + 1
                    planted = {
                        name
                        for name, number in targets.items()
                        if name in _MEMBER_ERRORS and (number or 1) == member_number
                    }
                    _write_member(
                        writer,
                        rng,
                        person,
                        is_subscriber,
                        relative,
                        maintenance,
                        subscriber_id,
                        member_id,
                        plan,
                        level,
                        begin,
                        spec.marketplace,
                        planted,
                    )
                    generated.members += 1
                    if spec.keep_members:
                        generated.member_detail.append(
                            GeneratedMember(
                                ordinal,
                                member_number,
                                subscriber_id,
                                member_id,
                                is_subscriber,
                                maintenance,
                                first_position,
                                writer.set_segments,
                                person,
                                plan,
                                begin,
                            )
                        )
            count = writer.set_segments + 1
            if "bad_se_count" in targets:
                count += 1
            se02 = st02 if "se_control_mismatch" not in targets else f"{int(st02) + 900:04d}"
            generated.segments = writer.set_segments + 1
            is_last_set = set_index == sets_total - 1
            if "truncate" in targets and is_last_set:
                writer.flush()
                _truncate_last_member(out, writer)
                result.sets.append(generated)
                result.members += generated.members
                return result
            if not ("missing_se" in targets and is_last_set):
                writer.segment("SE", str(count), se02)
            result.sets.append(generated)
            result.members += generated.members
            sets_in_group += 1
            set_index += 1
        ge01 = sets_in_group + (1 if "bad_ge_count" in targets else 0)
        ge02 = (
            group_control if "ge_control_mismatch" not in targets else str(int(group_control) + 900)
        )
        writer.segment("GE", str(ge01), ge02)
    iea01 = spec.groups + (1 if "bad_iea_count" in targets else 0)
    iea02 = (
        control if "iea_control_mismatch" not in targets else str(int(control) + 1).rjust(9, "0")
    )
    writer.segment("IEA", str(iea01), iea02)
    writer.flush()
    return result


def _truncate_last_member(out: BinaryIO, writer: SegmentWriter) -> None:
    """Cut the (seekable) stream in the middle of its last segment."""
    position = out.tell()
    out.seek(max(0, position - 7))
    out.truncate()


def _write_member(
    writer: SegmentWriter,
    rng: random.Random,
    person: Person,
    is_subscriber: bool,
    relative: int,
    maintenance: str,
    subscriber_id: str,
    member_id: str,
    plan: str,
    level: str,
    begin: str,
    marketplace: bool,
    planted: set[str],
) -> None:
    segment = writer.segment
    relationship = "18" if is_subscriber else ("01" if relative == 1 else "19")
    if "bad_ins02" in planted:
        relationship = "99"
    ins03 = "099" if "bad_ins03" in planted else maintenance
    reason = {"021": "28", "024": "07", "001": "AI", "025": "41", "030": "XN"}.get(
        maintenance, "AI"
    )
    if is_subscriber:
        segment("INS", "Y", relationship, ins03, reason, "A", "", "", "FT")
    else:
        segment("INS", "N", relationship, ins03, reason, "A")
    if "missing_ref_0f" not in planted:
        segment("REF", "0F", subscriber_id)
    segment("REF", "1L", f"GRP{subscriber_id[-5:]}")
    if marketplace:
        segment("REF", "17", member_id)
    eligibility = "20241340" if "bad_dtp_date" in planted else begin
    segment("DTP", "356", "D8", eligibility)
    if maintenance == "024":
        segment("DTP", "357", "D8", begin)
    middle = rng.choice(("", "", "A", "J", "S"))
    segment("NM1", "IL", "1", person.last_name, person.first_name, middle, "", "", "34", person.ssn)
    if is_subscriber:
        segment("PER", "IP", "", "HP", f"{rng.randint(200, 989)}555{rng.randint(1000, 9999)}")
    segment("N3", person.street)
    segment("N4", person.city, person.state, person.postal_code, "", "CY", person.county)
    segment("DMG", "D8", person.birth_date, person.gender)
    line = "XXX" if "bad_hd03" in planted else "HLT"
    segment("HD", maintenance, "", line, plan, level)
    if "missing_dtp_348" not in planted:
        segment("DTP", "348", "D8", begin)
    if maintenance == "024":
        segment("DTP", "349", "D8", begin)
    if is_subscriber:
        segment("REF", "CE", rng.choice(_METALS))
    if marketplace:
        premium = round(rng.uniform(150, 900), 2)
        if "negative_premium" in planted:
            premium = -premium
        aptc = round(rng.uniform(0, max(premium, 0) * 0.9), 2)
        if "aptc_over_premium" in planted:
            aptc = round(abs(premium) + 125.0, 2)
        segment("LS", "2700")
        categories = [("PRE AMT 1", f"{premium:.2f}")]
        if is_subscriber:
            categories += [("PRE AMT TOT", f"{premium:.2f}"), ("APTC AMT", f"{aptc:.2f}")]
        for number, (name, value) in enumerate(categories, start=1):
            segment("LX", str(number))
            segment("N1", "75", name)
            segment("REF", "9X", value)
            segment("DTP", "007", "D8", begin)
        segment("LE", "2700")
