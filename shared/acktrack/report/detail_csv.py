"""The detail CSV: one row per open enrollment (the report's people not confirmed), and the
never-sent actions after them. UTF-8 with a BOM, so Excel reads it right; cells that a
spreadsheet would run as formulas are neutralised (``cells.safe_cell``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import IO, Any

from acktrack.report.cells import safe_cell
from acktrack.report.document import ReportDocument
from acktrack.report.never_sent import csv_rows

CSV_COLUMNS = (
    ("insurer", "partner"),
    ("insurer_name", "payer_name"),
    ("status", "status"),
    ("reason", "reason"),
    ("subscriber_id", "subscriber_id"),
    ("member_id", "member_id"),
    ("maintenance_type", "maintenance_type"),
    ("maintenance_meaning", "maintenance_meaning"),
    ("interchange_control", "interchange_control"),
    ("group_control", "group_control"),
    ("transaction_control", "transaction_control"),
    ("member_in_set", "member_ordinal"),
    ("sent_at", "sent_at"),
    ("age_hours", "age_hours"),
    ("insurance_line", "insurance_line"),
    ("attempts", "attempts"),
    ("first_sent_at", "first_sent_at"),
)


def detail_csv(report: ReportDocument) -> bytes:
    """One row per open enrollment (UTF-8 with a BOM, so Excel reads it right)."""
    buffer = io.BytesIO()
    write_csv([*report.get("unconfirmed", []), *csv_rows(report)], buffer)
    return buffer.getvalue()


def write_csv(rows: Iterable[Mapping[str, Any]], out: IO[bytes]) -> int:
    """The detail CSV written row by row to ``out``; returns its size in bytes."""
    return write_columns(CSV_COLUMNS, rows, out)


def write_columns(
    columns: tuple[tuple[str, str], ...], rows: Iterable[Mapping[str, Any]], out: IO[bytes]
) -> int:
    """A CSV of ``columns`` (header, field) written row by row to ``out``: UTF-8 with a BOM,
    formula-like cells neutralised; its size in bytes."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        text.write("\ufeff")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([name for name, _ in columns])
        for row in rows:
            writer.writerow([safe_cell(row.get(field)) for _, field in columns])
        text.flush()
        return int(out.tell())
    finally:
        text.detach()  # the caller owns ``out``
