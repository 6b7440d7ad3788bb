"""Structured findings: what is wrong with a file, in the codes an insurer would send back.

A finding never carries PHI: only codes, control numbers, segment ids and positions,
and (for code elements only) the offending code value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from acktrack.x12 import codes

# Which acknowledgment vocabulary a finding's code belongs to.
Scheme = Literal["TA1", "AK9", "IK5", "IK3", "IK4", "ACK"]
# fatal: the file cannot be trusted as a whole (premature end, unreadable trailer data).
# error: the insurer would likely reject the interchange, group or set.
# warning: worth knowing, not a rejection on its own.
# notice: how the file was read (its layout), nothing wrong with its content.
Severity = Literal["fatal", "error", "warning", "notice"]

_TABLES = {
    "TA1": codes.TA1_NOTE,
    "AK9": codes.AK9_ERROR,
    "IK5": codes.IK5_ERROR,
    "IK3": codes.IK3_ERROR,
    "IK4": codes.IK4_ERROR,
    "ACK": codes.READING,
}


@dataclass(frozen=True, slots=True)
class Finding:
    scheme: Scheme
    code: str
    severity: Severity
    detail: str
    interchange_control: str | None = None
    group_control: str | None = None
    transaction_control: str | None = None
    segment_id: str | None = None
    segment_position: int | None = None  # counted from ST = 1 inside a set, else in the file
    loop_id: str | None = None
    element_position: int | None = None
    element_reference: str | None = None
    bad_value: str | None = None  # only ever a code value, never personal data
    member_ordinal: int | None = None  # 1-based INS loop number inside the set

    @property
    def meaning(self) -> str:
        table = _TABLES.get(self.scheme)
        return codes.describe(table, self.code) if table else self.detail

    @property
    def level(self) -> str:
        """interchange, group, transaction or member."""
        if self.member_ordinal is not None:
            return "member"
        if self.transaction_control is not None:
            return "transaction"
        if self.group_control is not None:
            return "group"
        return "interchange"

    def to_dict(self) -> dict[str, Any]:
        data = {key: value for key, value in asdict(self).items() if value is not None}
        data["meaning"] = self.meaning
        return data

    def summary(self) -> str:
        where = []
        if self.interchange_control:
            where.append(f"ISA13 {self.interchange_control}")
        if self.group_control:
            where.append(f"GS06 {self.group_control}")
        if self.transaction_control:
            where.append(f"ST02 {self.transaction_control}")
        if self.segment_id:
            position = f"@{self.segment_position}" if self.segment_position else ""
            where.append(f"{self.segment_id}{position}")
        if self.element_position:
            where.append(f"element {self.element_position}")
        location = ", ".join(where)
        return f"{self.severity} {self.scheme} {self.code} ({self.meaning}): {self.detail} [{location}]"
