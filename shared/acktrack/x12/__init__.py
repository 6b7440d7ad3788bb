"""Streaming X12 reading for 834, 999/997, 824 and TA1: records and findings, never PHI in errors."""

from acktrack.x12.advice_records import AdviceError, AdviceItem, ApplicationAdvice
from acktrack.x12.delimiters import DEFAULT_DELIMITERS, Delimiters
from acktrack.x12.errors import UnreadableX12
from acktrack.x12.findings import Finding
from acktrack.x12.reader import Record, X12Reader, read_x12
from acktrack.x12.records import (
    Coverage,
    ElementError,
    EnrollmentSet,
    GroupAcknowledgment,
    GroupEnd,
    GroupHeader,
    InterchangeAcknowledgment,
    InterchangeEnd,
    InterchangeHeader,
    MemberTransaction,
    SegmentError,
    SetAcknowledgment,
    TransactionEnd,
    TransactionHeader,
)
from acktrack.x12.tokenizer import Segment, SegmentReader, iter_segments

__all__ = [
    "DEFAULT_DELIMITERS",
    "AdviceError",
    "AdviceItem",
    "ApplicationAdvice",
    "Coverage",
    "Delimiters",
    "ElementError",
    "EnrollmentSet",
    "Finding",
    "GroupAcknowledgment",
    "GroupEnd",
    "GroupHeader",
    "InterchangeAcknowledgment",
    "InterchangeEnd",
    "InterchangeHeader",
    "MemberTransaction",
    "Record",
    "Segment",
    "SegmentError",
    "SegmentReader",
    "SetAcknowledgment",
    "TransactionEnd",
    "TransactionHeader",
    "UnreadableX12",
    "X12Reader",
    "iter_segments",
    "read_x12",
]
