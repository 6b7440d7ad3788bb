"""Monthly reconciliation, field by field: the insurer's population against ours (pure).

Each member on either side gets, per field, an RCNO-style code: ``M`` match, ``I``
mismatch, ``U`` unmatched (only one side has the member), ``D`` does not apply (neither
side has a value), ``G`` the insurer's own id changed; and, acktrack's own state, not an
RCNO code, ``not_provided``: we hold a value the insurer's file does not give (an empty
cell, a column its extract lacks), which is not a discrepancy (``D`` in the RCNO file).
Personal fields (name, birth date, gender, SSN) are compared as keyed hashes
(``keyed_hash``): no value is kept or shown.

A member the insurer lists twice (the same key on the same coverage line) is held on its
first row, for the comparison and the confirmation alike; each later row is reported as a
``duplicate_at_insurer`` discrepancy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from acktrack.domain.hashing import Hashes
from acktrack.domain.typed import unsafe_character


class Code(StrEnum):
    MATCH = "M"
    MISMATCH = "I"
    UNMATCHED = "U"
    NOT_APPLICABLE = "D"
    ID_CHANGED = "G"
    NOT_PROVIDED = "not_provided"  # not an RCNO code: written D in the RCNO file

    @property
    def rcno(self) -> str:
        return "D" if self is Code.NOT_PROVIDED else self.value


class Side(StrEnum):
    BOTH = "both"
    MISSING_AT_INSURER = "missing_at_insurer"  # we hold it in force; the insurer does not
    INSURER_ONLY = "insurer_only"  # the insurer holds someone we never sent or ended
    DUPLICATE_AT_INSURER = "duplicate_at_insurer"  # a later row of a member listed twice


# The fields compared, in RCNO order. Personal ones are compared by keyed hash only.
FIELDS = ("plan", "benefit_begin", "benefit_end", "total_premium", "aptc", "relationship",
          "subscriber_indicator", "insurer_member_id", "insurer_policy_id", "name",
          "birth_date", "gender", "ssn")  # fmt: skip
PERSONAL = frozenset({"name", "birth_date", "gender", "ssn"})
INSURER_IDS = frozenset({"insurer_member_id", "insurer_policy_id"})
AMOUNTS = frozenset({"total_premium", "aptc"})
NOT_A_DISCREPANCY = frozenset({Code.MATCH, Code.NOT_APPLICABLE, Code.NOT_PROVIDED})


@dataclass(frozen=True, slots=True)
class PopulationMember:
    """One member in force as of a date, as one side holds it: identifiers, codes, dates,
    amounts, and keyed hashes of the personal fields."""

    subscriber_id: str
    member_id: str | None
    subscriber_indicator: str = ""
    relationship: str = ""
    plan: str | None = None
    benefit_begin: str | None = None
    benefit_end: str | None = None
    total_premium: str | None = None
    aptc: str | None = None
    insurer_member_id: str | None = None
    insurer_policy_id: str | None = None
    name: str | None = None  # keyed hash of last and first name
    birth_date: str | None = None  # keyed hash
    gender: str | None = None  # keyed hash
    ssn: str | None = None  # keyed hash
    line: str | None = field(default=None, compare=False)  # HD03 its coverage came from
    # Every key version's hashes (the fields above hold one version's): compared within one.
    hashes: Hashes = field(default_factory=dict, compare=False, hash=False)
    # The optional columns the insurer's extract does not carry: not provided, never compared.
    absent: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def key(self) -> tuple[str, str]:
        """Matched on subscriber id and member id (REF*17); without one, as the subscriber,
        or by relationship and name (two children of one family are two people)."""
        if self.member_id:
            return (self.subscriber_id, f"M:{self.member_id}")
        return (self.subscriber_id, f"{self.role}:{self.name or ''}")

    @property
    def role(self) -> str:
        return "SUBSCRIBER" if self.subscriber_indicator == "Y" else f"REL:{self.relationship}"


@dataclass(frozen=True, slots=True)
class FieldResult:
    field: str
    code: Code
    ours: str | None  # None for personal fields: never shown
    theirs: str | None


@dataclass(slots=True)
class Comparison:
    subscriber_id: str
    member_id: str | None
    side: Side
    fields: list[FieldResult] = field(default_factory=list)
    ours_key: tuple[str, str] | None = None  # our member's key, when we hold the member

    @property
    def matched(self) -> bool:
        return self.side == Side.BOTH and all(f.code in NOT_A_DISCREPANCY for f in self.fields)

    def discrepancies(self) -> list[FieldResult]:
        return [f for f in self.fields if f.code not in NOT_A_DISCREPANCY]


def _amount(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        value = Decimal(text.strip())
        return value.quantize(Decimal("0.01")) if value.is_finite() else None
    except InvalidOperation:
        return None


def _code(name: str, ours: str | None, theirs: str | None, absent: frozenset[str]) -> Code:
    if not ours and not theirs:
        return Code.NOT_APPLICABLE
    if not theirs and (name != "benefit_end" or name in absent):
        # Ours has a value the insurer's file does not give. An empty benefit end is a value
        # all the same (open-ended coverage): not provided only when the column is absent.
        return Code.NOT_PROVIDED
    if name in PERSONAL and not ours:
        return Code.NOT_APPLICABLE  # we never had it (sent before hashing, no SSN, ...)
    if name in INSURER_IDS:
        if not ours:
            return Code.NOT_APPLICABLE  # never told us its id: nothing to hold it against
        return Code.MATCH if ours == theirs else Code.ID_CHANGED
    if name in AMOUNTS:
        return Code.MATCH if _amount(ours) == _amount(theirs) else Code.MISMATCH
    return Code.MATCH if ours == theirs else Code.MISMATCH


def held_once(
    members: Iterable[PopulationMember],
) -> tuple[dict[tuple[str, str], PopulationMember], list[PopulationMember]]:
    """One member per key, and the rows that repeat one. A person with a record per insurance
    line is taken on the health line; the same key on the same line again is a duplicate:
    the first row stands (for the comparison and the confirmation alike), the later ones are
    returned to be reported."""
    found: dict[tuple[str, str], PopulationMember] = {}
    repeated: list[PopulationMember] = []
    for member in members:
        known = found.get(member.key)
        if known is None or (known.line != "HLT" and member.line == "HLT"):
            found[member.key] = member
        elif known.line == member.line:
            repeated.append(member)
    return found, repeated


def _order(member: PopulationMember | None) -> tuple[str, str]:
    assert member is not None
    return (
        member.subscriber_id,
        member.member_id or "",
    )


def in_version(member: PopulationMember, version: str) -> PopulationMember:
    """The member with its personal fields under one key version (None where it has none)."""
    kinds = member.hashes.get(version, {})
    return replace(member, name=kinds.get("name"), birth_date=kinds.get("birth_date"),
                   gender=kinds.get("gender"), ssn=kinds.get("ssn"))  # fmt: skip


def within_version(
    ours: PopulationMember, theirs: PopulationMember
) -> tuple[PopulationMember, PopulationMember]:
    """Both sides' personal fields under a key version both have (the newest of theirs);
    with none in common (a key rotated since ours was sent), neither is compared."""
    if not ours.hashes and not theirs.hashes:
        return ours, theirs
    common = [version for version in theirs.hashes if version in ours.hashes]
    version = common[0] if common else ""
    return in_version(ours, version), in_version(theirs, version)


def _result(name: str, code: Code, ours: str | None, theirs: str | None) -> FieldResult:
    if name in PERSONAL:
        return FieldResult(name, code, None, None)
    return FieldResult(name, code, ours, theirs)


def compare(
    ours: Iterable[PopulationMember], theirs: Iterable[PopulationMember]
) -> list[Comparison]:
    """Every member of either side, each field coded; sorted by subscriber and member.
    Matched on ``key``; then a member left on each side with the same subscriber id and role
    (one side lacking REF*17, say) is the same person."""
    (mine, _), (held, repeated) = held_once(ours), held_once(theirs)
    pairs = [(mine.pop(key), held.pop(key)) for key in sorted(mine.keys() & held.keys())]
    roles: dict[tuple[str, str], list[list[PopulationMember]]] = {}
    for number, members in enumerate((mine, held)):
        for member in members.values():
            roles.setdefault((member.subscriber_id, member.role), [[], []])[number].append(member)
    for left, right in roles.values():
        if len(left) == 1 and len(right) == 1:
            pairs.append((mine.pop(left[0].key), held.pop(right[0].key)))
    everyone: list[tuple[PopulationMember | None, PopulationMember | None]] = [
        *pairs,
        *((a, None) for a in mine.values()),
        *((None, b) for b in held.values()),
    ]
    everyone.sort(key=lambda pair: _order(pair[0] or pair[1]))
    results = []
    for a, b in everyone:
        anyone = a or b
        assert anyone is not None
        if a is None or b is None:
            side = Side.INSURER_ONLY if a is None else Side.MISSING_AT_INSURER
            fields = [_result(name, Code.UNMATCHED, getattr(a, name, None), getattr(b, name, None))
                      for name in FIELDS]  # fmt: skip
        else:
            side = Side.BOTH
            ours_v, theirs_v = within_version(a, b)
            fields = [_result(name, _code(name, getattr(ours_v, name), getattr(theirs_v, name),
                                          b.absent),
                              getattr(ours_v, name), getattr(theirs_v, name)) for name in FIELDS]  # fmt: skip
        results.append(Comparison(anyone.subscriber_id, anyone.member_id, side, fields,
                                  a.key if a is not None else None))  # fmt: skip
    for again in repeated:  # after its first row: sorted() is stable
        results.append(Comparison(again.subscriber_id, again.member_id, Side.DUPLICATE_AT_INSURER))
    results.sort(key=lambda c: (c.subscriber_id, c.member_id or ""))
    return results


@dataclass(slots=True)
class ReconciliationSummary:
    """One insurer file held against ours: counts and per-field code counts, nothing personal."""

    our_id: str
    partner: str
    as_of: str  # YYYYMMDD
    digest: str  # hash of the file version (bucket, key, version id): a redelivery is the same
    source: str  # audit_834 | extract
    received_at: str
    theirs: int = 0
    ours: int = 0
    matched: int = 0
    missing_at_insurer: int = 0
    insurer_only: int = 0
    confirmed: int = 0  # waiting enrollments the insurer's population confirmed
    by_field: dict[str, dict[str, int]] = field(default_factory=dict)
    discrepancies: int = 0  # rows written already (by the parts of a large file)
    chunks: int = 0  # their chunk items


def discrepancy_rows(
    partner: str, comparisons: Iterable[Comparison]
) -> list[dict[str, str | None]]:
    """A row per member held by one side only (field ``member``, code U, the side named) and
    per field that differs; values only for non-personal fields."""
    rows: list[dict[str, str | None]] = []
    for item in comparisons:
        who = {"partner": partner, "subscriber_id": item.subscriber_id, "member_id": item.member_id}
        if item.side != Side.BOTH:
            code = Code.MISMATCH if item.side == Side.DUPLICATE_AT_INSURER else Code.UNMATCHED
            rows.append({**who, "field": "member", "code": code.value,
                         "side": item.side.value, "ours": None, "theirs": None})  # fmt: skip
            continue
        for result in item.discrepancies():
            rows.append({**who, "field": result.field, "code": result.code.value,
                         "side": item.side.value, "ours": result.ours, "theirs": result.theirs})  # fmt: skip
    return rows


def tally(summary: ReconciliationSummary, comparisons: Iterable[Comparison]) -> None:
    """Count members per side and codes per field into ``summary``."""
    for item in comparisons:
        if item.side == Side.MISSING_AT_INSURER:
            summary.missing_at_insurer += 1
        elif item.side == Side.INSURER_ONLY:
            summary.insurer_only += 1
        elif item.side == Side.DUPLICATE_AT_INSURER:
            member = summary.by_field.setdefault("member", {})
            member[item.side.value] = member.get(item.side.value, 0) + 1
        elif item.matched:
            summary.matched += 1
        for result in item.fields:
            codes = summary.by_field.setdefault(result.field, {})
            codes[result.code.value] = codes.get(result.code.value, 0) + 1


# What needs action first: ours the insurer does not hold, then its ids changed, then fields
# that differ (and members it lists twice), then members only it holds.
ACTION_ORDER = {
    (Code.UNMATCHED.value, Side.MISSING_AT_INSURER.value): 0,
    (Code.ID_CHANGED.value, Side.BOTH.value): 1,
    (Code.MISMATCH.value, Side.BOTH.value): 2,
    (Code.MISMATCH.value, Side.DUPLICATE_AT_INSURER.value): 2,
    (Code.UNMATCHED.value, Side.INSURER_ONLY.value): 3,
}


def action_rank(row: dict[str, str | None]) -> int:
    """Where a discrepancy row stands in ``ACTION_ORDER`` (0 first)."""
    return ACTION_ORDER.get((row.get("code") or "", row.get("side") or ""), len(ACTION_ORDER))


RCNO_COLUMNS = ("subscriber_id", "member_id", "side", *FIELDS)
_FORMULA_STARTS = ("=", "+", "-", "@")


def rcno_cell(text: str | None) -> str:
    """An insurer's identifier as the RCNO file writes it: ``|``, ``\\`` and every control or
    format character (a line break, a tab) as ``\\uXXXX``, so no cell forges a column or a
    row; and a leading quote before what a spreadsheet would run as a formula, as the CSV
    report does (``report/cells.py``)."""
    if not text:
        return ""
    escaped = "".join(f"\\u{ord(c):04x}" if c in "|\\" or unsafe_character(c) else c
                      for c in text)  # fmt: skip
    lead = escaped.lstrip(" \u00a0")
    return "'" + escaped if lead.startswith(_FORMULA_STARTS) else escaped


def rcno_lines(comparisons: Iterable[Comparison]) -> Iterator[str]:
    """An RCNO-style pipe-delimited file: a header, then per member its identifiers (escaped:
    ``rcno_cell``), its side and one code per field (M, I, U, D, G; nothing on a duplicate's
    later row). Codes only: no value of any field."""
    yield "|".join(RCNO_COLUMNS) + "\n"
    for item in comparisons:
        codes = {result.field: result.code.rcno for result in item.fields}
        yield "|".join([rcno_cell(item.subscriber_id), rcno_cell(item.member_id), item.side.value,
                        *(codes.get(name, "") for name in FIELDS)]) + "\n"  # fmt: skip
