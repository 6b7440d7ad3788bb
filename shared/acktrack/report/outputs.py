"""The report rendered once, in one pass, for every output: the archived JSON's head and
tail (its rows go between them, streamed or copied from the batches' pieces), the CSV's
header (the same), the archived HTML, the resolutions CSV, and the email made from them.

A batch renders its own rows as pieces of the JSON and the CSV (``json_piece``,
``csv_piece``), so the archive is assembled from them in order without rendering a row
twice."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from acktrack.report.cells import safe_cell
from acktrack.report.detail_csv import CSV_COLUMNS
from acktrack.report.document import ReportDocument
from acktrack.report.email import build_email, render_html
from acktrack.report.model import Report
from acktrack.report.never_sent import csv_rows
from acktrack.report.resolutions import resolutions_csv

_ROWS = "\u0000rows\u0000"


@dataclass(frozen=True, slots=True)
class Outputs:
    document: ReportDocument  # the most urgent rows and their total (what the email shows)
    json_head: bytes  # the archived JSON up to its rows' "[" ...
    json_tail: bytes  # ... and after them
    csv_header: bytes
    csv_tail: bytes  # after the rows: the expected actions never sent
    html: bytes  # the archived HTML (links are the email's own)
    resolutions: bytes  # the window's operator resolutions as CSV
    timezone: str
    detail_rows: int

    def email(self, sender: str, recipients: list[str], *, detail: bytes | None,
              csv_link: str | None, csv_location: str | None,
              resolutions_location: str | None) -> bytes:  # fmt: skip
        """The MIME message; ``detail``: the CSV to attach (None: too large, linked)."""
        return build_email(
            self.document, sender, recipients, timezone=self.timezone,
            attach_csv=detail is not None, csv_link=csv_link, csv_location=csv_location,
            detail_rows=self.detail_rows, detail=detail, resolutions=self.resolutions,
            resolutions_location=resolutions_location,
        )  # fmt: skip


def render(report: Report, *, timezone: str, detail_rows: int) -> Outputs:
    document = report.to_json(rows=False)
    whole = dict(document)
    whole.pop("unconfirmed_total", None)
    head, tail = json.dumps({**whole, "unconfirmed": _ROWS}, indent=1).split(json.dumps(_ROWS))
    return Outputs(
        document=document,
        json_head=head.encode() + b"[",
        json_tail=b"\n ]" + tail.encode(),
        csv_header=csv_header(),
        csv_tail=csv_piece(csv_rows(document)),
        html=render_html(document, timezone=timezone, detail_rows=detail_rows).encode(),
        resolutions=resolutions_csv(document),
        timezone=timezone,
        detail_rows=detail_rows,
    )


def json_piece(rows: Iterable[dict[str, Any]]) -> bytes:
    """Rows as a piece of the archived JSON's list: each after ``,\\n  `` (the first piece of
    the list is read from its second byte: ``JSON_FIRST_SKIP``)."""
    return b"".join(b",\n  " + json.dumps(row).encode() for row in rows)


JSON_FIRST_SKIP = 1  # the "," before the list's first row


def csv_header() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([name for name, _ in CSV_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode()


def csv_piece(rows: Iterable[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(row.get(field)) for _, field in CSV_COLUMNS])
    return buffer.getvalue().encode()
