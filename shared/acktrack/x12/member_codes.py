"""834 code-list checks: INS and HD code values against the X220 lists in ``codes``."""

from __future__ import annotations

from typing import NamedTuple

from acktrack.x12 import codes
from acktrack.x12.records import Coverage, MemberTransaction

INDICATORS = frozenset({"Y", "N"})  # INS01 subscriber indicator


class CodeError(NamedTuple):
    """A code element outside its list: where it is in its segment, and its value."""

    element: int
    reference: str  # data element number
    detail: str
    value: str


def ins_code_errors(member: MemberTransaction) -> list[CodeError]:
    """INS01, INS02, INS03 and INS05 values that are not in their code lists."""
    errors: list[CodeError] = []
    if member.subscriber_indicator not in INDICATORS:
        errors.append(CodeError(1, "1073", "INS01 must be Y or N", member.subscriber_indicator))
    if member.relationship not in codes.RELATIONSHIP:
        errors.append(CodeError(2, "1069", "INS02 is not a relationship code", member.relationship))
    if member.maintenance_type not in codes.MAINTENANCE_TYPE:
        errors.append(
            CodeError(3, "875", "INS03 is not a maintenance type code", member.maintenance_type)
        )
    if member.benefit_status not in codes.BENEFIT_STATUS:
        errors.append(
            CodeError(5, "1216", "INS05 is not a benefit status code", member.benefit_status)
        )
    return errors


def coverage_code_errors(coverage: Coverage) -> list[CodeError]:
    """HD01, HD03 and (when present) HD05 values that are not in their code lists."""
    errors: list[CodeError] = []
    if coverage.maintenance_type not in codes.COVERAGE_MAINTENANCE_TYPE:
        errors.append(
            CodeError(1, "875", "HD01 is not a maintenance type code", coverage.maintenance_type)
        )
    if coverage.insurance_line not in codes.INSURANCE_LINE:
        errors.append(
            CodeError(3, "1205", "HD03 is not an insurance line code", coverage.insurance_line)
        )
    if coverage.coverage_level and coverage.coverage_level not in codes.COVERAGE_LEVEL:
        errors.append(
            CodeError(5, "1207", "HD05 is not a coverage level code", coverage.coverage_level)
        )
    return errors
