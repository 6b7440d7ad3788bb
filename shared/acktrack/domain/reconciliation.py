"""Monthly reconciliation, field by field: the insurer's population against ours (pure).

Each member on either side gets, per field, an RCNO-style code: ``M`` match, ``I``
mismatch, ``U`` unmatched (only one side has the member), ``D`` does not apply (neither
side has a value), ``G`` the insurer's own id changed. Personal fields (name, birth date,
gender, SSN) are compared as keyed hashes (``keyed_hash``): no value is kept or shown.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum


class Code(StrEnum):
    MATCH = "M"
    MISMATCH = "I"
    UNMATCHED = "U"
    NOT_APPLICABLE = "D"
    ID_CHANGED = "G"


class Side(StrEnum):
    BOTH = "both"
    MISSING_AT_INSURER = "missing_at_insurer"  # we hold it in force; the insurer does not
    INSURER_ONLY = "insurer_only"  # the insurer holds someone we never sent or ended


# The fields compared, in RCNO order. Personal ones are compared by keyed hash only.
FIELDS = ("plan", "benefit_begin", "benefit_end", "total_premium", "aptc", "relationship",
          "subscriber_indicator", "insurer_member_id", "insurer_policy_id", "name",
          "birth_date", "gender", "ssn")  # fmt: skip
PERSONAL = frozenset({"name", "birth_date", "gender", "ssn"})
INSURER_IDS = frozenset({"insurer_member_id", "insurer_policy_id"})
AMOUNTS = frozenset({"total_premium", "aptc"})


def keyed_hash(key: bytes, kind: str, value: str | None) -> str | None:
    """HMAC-SHA256 of a normalised personal value (None when there is none): equal people
    give equal hashes under one stack's key, and the hash reveals nothing without it."""
    normal = normalise(kind, value)
    if not normal:
        return None
    return hmac.new(key, f"{kind}\x1f{normal}".encode(), hashlib.sha256).hexdigest()


def normalise(kind: str, value: str | None) -> str:
    """Names: letters only, upper case; dates: YYYYMMDD digits; SSN: digits; gender: M/F/U."""
    text = (value or "").strip()
    if kind in ("last_name", "first_name", "name"):
        return re.sub(r"[^A-Z]", "", text.upper())
    if kind in ("birth_date", "ssn"):
        return re.sub(r"\D", "", text)
    if kind == "gender":
        return text[:1].upper()
    return text


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

    @property
    def key(self) -> tuple[str, str]:
        """Matched on subscriber id and member id (REF*17), else subscriber or relationship."""
        if self.member_id:
            return (self.subscriber_id, f"M:{self.member_id}")
        who = "SUBSCRIBER" if self.subscriber_indicator == "Y" else f"REL:{self.relationship}"
        return (self.subscriber_id, who)


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

    @property
    def matched(self) -> bool:
        return self.side == Side.BOTH and all(
            f.code in (Code.MATCH, Code.NOT_APPLICABLE) for f in self.fields
        )

    def discrepancies(self) -> list[FieldResult]:
        return [f for f in self.fields if f.code not in (Code.MATCH, Code.NOT_APPLICABLE)]


def _amount(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        return Decimal(text.strip()).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _code(name: str, ours: str | None, theirs: str | None) -> Code:
    if not ours and not theirs:
        return Code.NOT_APPLICABLE
    if name in INSURER_IDS:
        if not ours:
            return Code.NOT_APPLICABLE  # never told us its id: nothing to hold it against
        return Code.MATCH if ours == theirs else Code.ID_CHANGED
    if name in AMOUNTS:
        return Code.MATCH if _amount(ours) == _amount(theirs) else Code.MISMATCH
    return Code.MATCH if ours == theirs else Code.MISMATCH


def _result(name: str, code: Code, ours: str | None, theirs: str | None) -> FieldResult:
    if name in PERSONAL:
        return FieldResult(name, code, None, None)
    return FieldResult(name, code, ours, theirs)


def compare(
    ours: Iterable[PopulationMember], theirs: Iterable[PopulationMember]
) -> list[Comparison]:
    """Every member of either side, each field coded; sorted by subscriber and member."""
    mine = {member.key: member for member in ours}
    held = {member.key: member for member in theirs}
    results = []
    for key in sorted(mine.keys() | held.keys()):
        a, b = mine.get(key), held.get(key)
        anyone = a or b
        assert anyone is not None
        if a is None or b is None:
            side = Side.INSURER_ONLY if a is None else Side.MISSING_AT_INSURER
            fields = [_result(name, Code.UNMATCHED, getattr(a, name, None), getattr(b, name, None))
                      for name in FIELDS]  # fmt: skip
        else:
            side = Side.BOTH
            fields = [_result(name, _code(name, getattr(a, name), getattr(b, name)),
                              getattr(a, name), getattr(b, name)) for name in FIELDS]  # fmt: skip
        results.append(Comparison(anyone.subscriber_id, anyone.member_id, side, fields))
    return results
