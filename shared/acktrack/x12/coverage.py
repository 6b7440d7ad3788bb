"""Loop 2300 of an 834 member: one ``Coverage`` per HD, with its DTP dates and REF numbers."""

from __future__ import annotations

from typing import Any

from acktrack.x12.dates import valid_period
from acktrack.x12.records import Coverage

# Coverage field index for each DTP and REF qualifier the loop carries.
COVERAGE_DATES = {"348": 5, "349": 6}  # benefit begin, benefit end
COVERAGE_REFS = {"CE": 7, "1L": 8, "X9": 9}  # class of contract, policy, internal control
_PADDING = [""] * 10
_new = tuple.__new__  # builds a NamedTuple record in one C call


def coverage_fields(hd_segment: str, sep: str, position: int) -> list[Any]:
    """The ``Coverage`` fields an HD segment gives; the loop's DTP and REF fill in the rest."""
    hd = hd_segment.split(sep)
    hd.extend(_PADDING[: max(0, 6 - len(hd))])
    return [hd[1], hd[3], hd[4], hd[5], position, None, None, None, None, None]


def canonical_coverage(
    hd_text: str, children: str | None, position: int, term: str, sep: str
) -> Coverage | None:
    """The one 2300 loop of a member in X220 order: HD01 onwards and its child segments.

    None when a DTP date is invalid (the exact reader then places the finding).
    """
    hd = hd_text.split(sep)
    if len(hd) < 5:
        hd.extend(_PADDING[: 5 - len(hd)])
    begin = end = class_of_contract = policy_number = internal_control = None
    if children:
        for child in children.split(term)[1:]:
            elements = child.split(sep)
            if len(elements) < 3:
                continue
            tag, qualifier = elements[0], elements[1]
            if tag == "DTP":
                if len(elements) < 4 or not valid_period(elements[2], elements[3]):
                    return None
                if qualifier == "348":
                    begin = elements[3]
                elif qualifier == "349":
                    end = elements[3]
            elif tag == "REF":
                if qualifier == "CE":
                    class_of_contract = elements[2]
                elif qualifier == "1L":
                    policy_number = elements[2]
                elif qualifier == "X9":
                    internal_control = elements[2]
    return _new(Coverage, (
        hd[0], hd[2], hd[3], hd[4], position,
        begin, end, class_of_contract, policy_number, internal_control,
    ))  # fmt: skip
