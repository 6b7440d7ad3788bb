"""Delimiters, read from the fixed-width ISA segment, never assumed."""

from __future__ import annotations

from typing import NamedTuple

from acktrack.x12.errors import UnreadableX12

ISA_LENGTH = 106
# Positions of the element separator inside a fixed-width ISA (index 3 defines it).
_ISA_SEPARATOR_POSITIONS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
_ISA_ELEMENT_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


class Delimiters(NamedTuple):
    element: str
    repetition: str | None
    component: str
    segment: str

    def validate(self) -> None:
        """Raise UnreadableX12 unless the four delimiters can frame X12 data."""
        chosen = [self.element, self.component, self.segment]
        if self.repetition is not None:
            chosen.append(self.repetition)
        for char in chosen:
            if len(char) != 1 or not char.isascii() or char.isalnum() or char == " ":
                raise UnreadableX12(
                    "the ISA declares a letter, digit, space or non-ASCII character as a delimiter"
                )
        if len(set(chosen)) != len(chosen):
            raise UnreadableX12("the ISA declares the same character for two delimiters")
        separators = [self.element, self.component, self.repetition or ""]
        if any(char in ("\r", "\n") for char in separators):
            raise UnreadableX12(
                "the ISA declares a line break as a separator (only a terminator may be one)"
            )


DEFAULT_DELIMITERS = Delimiters(element="*", repetition="^", component=":", segment="~")


def parse_isa(raw: str) -> tuple[list[str], Delimiters, bool]:
    """Split an ISA segment (including its terminator) into elements and delimiters.

    ``raw`` starts with ``ISA``. Returns (elements, delimiters, fixed_width). A
    non-fixed-width ISA is read leniently when its 16 elements can be found; the
    caller records a finding for it.
    """
    if len(raw) < 4 or not raw.startswith("ISA"):
        raise UnreadableX12("the file does not start with an ISA segment")
    separator = raw[3]
    fixed = len(raw) >= ISA_LENGTH and all(raw[i] == separator for i in _ISA_SEPARATOR_POSITIONS)
    if fixed:
        component = raw[104]
        terminator = raw[105]
        body = raw[:103]
    else:
        # Lenient: find the 16th separator; ISA16 and the terminator follow it.
        index = -1
        for _ in range(16):
            index = raw.find(separator, index + 1)
            if index < 0:
                raise UnreadableX12("the ISA segment is incomplete (fewer than 16 elements)")
        if len(raw) < index + 3:
            raise UnreadableX12("the ISA segment is incomplete (no segment terminator)")
        component = raw[index + 1]
        terminator = raw[index + 2]
        body = raw[:index]
    elements = body.split(separator)
    if len(elements) != 16:
        raise UnreadableX12("the ISA segment does not have 16 elements")
    elements.append(component)
    version = elements[12]
    repetition = elements[11] if version >= "00402" else None
    delimiters = Delimiters(separator, None, component, terminator)
    delimiters.validate()
    if repetition is not None and _usable_repetition(repetition, delimiters):
        delimiters = delimiters._replace(repetition=repetition)
    return elements, delimiters, fixed


def _usable_repetition(candidate: str, delimiters: Delimiters) -> bool:
    """False for ISA11 values senders write out of habit (``U``, a space) or that clash.

    The file is then read with no repetition separator; the reader warns.
    """
    try:
        delimiters._replace(repetition=candidate).validate()
    except UnreadableX12:
        return False
    return True


def widths_ok(elements: list[str]) -> bool:
    """True when every ISA element has its fixed width."""
    return all(
        len(value) == width for value, width in zip(elements[1:], _ISA_ELEMENT_WIDTHS, strict=False)
    )
