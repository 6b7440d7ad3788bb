"""`acktrack resolve --from-csv FILE`: many resolutions at once, all or none.

The file is UTF-8 CSV (a spreadsheet's byte-order mark is fine) whose first line names the
columns ``insurer_id,subscriber_id,member_id,reason`` (in any order, no other column); each
further line is one resolution: ``member_id`` empty closes every open enrollment of the
subscriber with that insurer. Every row is checked first (its text as ``acktrack resolve``
checks it, then against the table: the insurer, the subscriber and the member tracked, and
something open to close), and so is the whole file (no two rows closing the same member
transaction); nothing is written unless every row is valid. At most ``MAX_ROWS`` rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass

from acktrack.ingest.resolution import Plan, Planner, Resolved, ResolveRefused, record, would

COLUMNS = ("insurer_id", "subscriber_id", "member_id", "reason")
MAX_ROWS = 10_000
ERRORS_SHOWN = 20  # bad rows named one by one; past that, a count


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # the row's line in the file (the header is line 1)
    insurer_id: str
    subscriber_id: str
    member_id: str | None
    reason: str


class BulkRefused(ResolveRefused):
    """Some rows (or the file) are not valid: nothing was written. One line per problem."""

    def __init__(self, problems: list[str], rows: int = 0) -> None:
        shown = problems[:ERRORS_SHOWN]
        if len(problems) > ERRORS_SHOWN:
            shown.append(f"... and {len(problems) - ERRORS_SHOWN} more rows refused")
        self.problems = shown
        summary = (
            f"{len(problems)} of {rows} rows refused; nothing was written"
            if rows
            else "nothing was written"
        )
        super().__init__(summary)


@dataclass(frozen=True, slots=True)
class Rows:
    """A file's rows as read, and the lines that could not be read as rows."""

    rows: list[Row]
    problems: list[tuple[int, str]]  # (line, why)


def read_rows(lines: Iterable[str]) -> Rows:
    """The file's rows, each with its line number, and the lines that are no row (the wrong
    number of fields); BulkRefused for a file that cannot be read at all (no header, an
    unknown or missing column, too many rows, nothing after the header, broken quoting)."""
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # blank lines before the header
        if header is None:
            raise BulkRefused([f"the file is empty: its first line must name the columns "
                               f"{','.join(COLUMNS)}"])  # fmt: skip
        names = [cell.strip().lstrip("\ufeff").lower() for cell in header]
        unknown = [name for name in names if name not in COLUMNS]
        missing = [name for name in COLUMNS if name not in names]
        if unknown or missing or len(set(names)) != len(names):
            raise BulkRefused([
                f"line {reader.line_num}: the header must name exactly the columns "
                f"{','.join(COLUMNS)} (in any order)"
                + (f"; unknown: {', '.join(repr(n) for n in unknown)}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            ])  # fmt: skip
        at = {name: names.index(name) for name in COLUMNS}
        found = Rows([], [])
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(found.rows) + len(found.problems) >= MAX_ROWS:
                raise BulkRefused([
                    f"the file has more than {MAX_ROWS:,} rows: split it into files of "
                    f"{MAX_ROWS:,} rows at most"
                ])  # fmt: skip
            if len(cells) != len(names):
                found.problems.append((reader.line_num, f"{len(cells)} fields, the header names "
                                       f"{len(names)} (quote a reason that holds a comma)"))  # fmt: skip
                continue
            member = cells[at["member_id"]].strip()
            found.rows.append(Row(reader.line_num, cells[at["insurer_id"]],
                                  cells[at["subscriber_id"]], member or None,
                                  cells[at["reason"]]))  # fmt: skip
    except csv.Error as error:
        raise BulkRefused([f"line {reader.line_num}: not readable as CSV ({error})"]) from None
    if not found.rows and not found.problems:
        raise BulkRefused(["the file has a header and no rows: nothing to resolve"])
    return found


@dataclass(frozen=True, slots=True)
class BulkPlan:
    rows: list[tuple[Row, Plan]]


def plan_rows(planner: Planner, found: Rows) -> BulkPlan:
    """Every row planned against the table; BulkRefused naming each bad row (its line number
    and why) when any is, so that nothing is written. Two rows closing the same member
    transaction (the same row twice, or a subscriber's row and one of its members') are
    refused too: say it once."""
    planned: list[tuple[Row, Plan]] = []
    problems = list(found.problems)
    closes: dict[tuple[str, str], int] = {}  # member transaction -> the line closing it
    for row in found.rows:
        try:
            plan = planner.plan(partner=row.insurer_id, subscriber_id=row.subscriber_id,
                                reason=row.reason, member_id=row.member_id)  # fmt: skip
        except ResolveRefused as refused:
            problems.append((row.line, _as_column(str(refused))))
            continue
        earlier = sorted({closes[ref] for ref in plan.refs if ref in closes})
        if earlier:
            problems.append((row.line, f"closes what line {earlier[0]} closes already (the same "
                             "open enrollments); keep one of the two rows"))  # fmt: skip
            continue
        closes.update(dict.fromkeys(plan.refs, row.line))
        planned.append((row, plan))
    if problems:
        raise BulkRefused([f"line {line}: {why}" for line, why in sorted(problems)],
                          len(found.rows) + len(found.problems))  # fmt: skip
    return BulkPlan(planned)


def _as_column(message: str) -> str:
    """The use case names the command's options; a file's rows have columns."""
    return message.replace("--reason", "reason").replace("(reason)", "(the reason column)")


def apply(planner: Planner, bulk: BulkPlan, *, dry_run: bool = False) -> list[tuple[Row, Resolved]]:
    """Write every planned row (or, with ``dry_run``, say what each would close)."""
    return [
        (row, would(plan) if dry_run else record(planner.store, plan)) for row, plan in bulk.rows
    ]
