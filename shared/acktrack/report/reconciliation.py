"""The report's reconciliation section: the insurer populations that arrived in the window,
each held against ours, its counts per code in the order of what needs action first, and
its discrepancy rows in that order (identifiers, codes, and values of non-personal fields
only)."""

from __future__ import annotations

from typing import Any

from acktrack.domain.ports import ReportSource
from acktrack.domain.reconciliation import FIELDS, Code, Side, action_rank
from acktrack.report.cells import printable
from acktrack.x12.records import iso_date

ROWS_KEPT = 10_000  # discrepancy rows in the report; the RCNO file in the archive has every member


def collect_reconciliation(store: ReportSource, since: str) -> tuple[dict[str, Any], int]:
    """The section, and the items read for it."""
    files: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    total = reads = 0
    for item in store.reconciliations(since):
        reads += 1
        files.append({
            "partner": item.partner, "as_of": iso_date(item.as_of), "source": item.source,
            "received_at": item.received_at, "theirs": int(item.theirs), "ours": int(item.ours),
            "matched": int(item.matched), "discrepancies": int(item.discrepancies),
            "missing_at_insurer": int(item.missing_at_insurer),
            "insurer_only": int(item.insurer_only), "confirmed": int(item.confirmed),
            "by_field": dict(item.by_field or {}), "rcno_key": item.rcno_key,
        })  # fmt: skip
        files[-1]["by_code"] = by_code(files[-1])
        total += int(item.discrepancies)
        if len(rows) < ROWS_KEPT and int(item.discrepancies):
            reads += int(item.chunks)
            for row in store.discrepancy_rows(item):
                if len(rows) >= ROWS_KEPT:
                    break
                rows.append(dict(row))
    files.sort(key=lambda f: (f["partner"], f["as_of"], f["received_at"]))
    rows.sort(key=lambda r: (action_rank(r), r["partner"], r["subscriber_id"], r["member_id"] or "",
                             r["field"]))  # fmt: skip
    return {"files": files, "discrepancies": rows, "discrepancies_total": total}, reads


def by_code(file: dict[str, Any]) -> dict[str, int]:
    """Discrepancies per code, what needs action first: ours missing at the insurer (U), its
    ids changed (G), fields that differ (I), members it lists twice (I), members only it
    holds (U); then what it did not provide, which is no discrepancy."""
    fields = file.get("by_field") or {}

    def total(code: str) -> int:
        return sum(int((fields.get(name) or {}).get(code, 0)) for name in FIELDS)

    return {
        "missing_at_insurer": int(file["missing_at_insurer"]),
        "insurer_id_changed": total(Code.ID_CHANGED.value),
        "field_mismatch": total(Code.MISMATCH.value),
        "duplicate_at_insurer": int(
            (fields.get("member") or {}).get(Side.DUPLICATE_AT_INSURER.value, 0)
        ),
        "insurer_only": int(file["insurer_only"]),
        "not_provided": total(Code.NOT_PROVIDED.value),
    }


COUNT_WORDS = {
    "missing_at_insurer": "missing at the insurer (U)",
    "insurer_id_changed": "insurer id changed (G)",
    "field_mismatch": "fields differing (I)",
    "duplicate_at_insurer": "listed twice by the insurer (I)",
    "insurer_only": "only at the insurer (U)",
    "not_provided": "fields the insurer did not provide (no discrepancy)",
}


def counts_line(file: dict[str, Any]) -> str:
    """The counts per code in action order, the ones that are not zero."""
    counts = file.get("by_code") or by_code(file)
    said = [f"{counts[name]} {words}" for name, words in COUNT_WORDS.items() if counts.get(name)]
    return "by what needs action first: " + ("; ".join(said) if said else "nothing")


def match_rate(file: dict[str, Any]) -> float | None:
    """Members on both sides with every field matching, over every member of either side
    (the insurer's, plus ours it does not hold)."""
    members = int(file["theirs"]) + int(file["missing_at_insurer"])
    return round(int(file["matched"]) / members, 4) if members else None


FIELD_NAMES = {
    "member": "the member",
    "plan": "plan (HD04)",
    "benefit_begin": "benefit begin",
    "benefit_end": "benefit end",
    "total_premium": "total premium",
    "aptc": "APTC",
    "relationship": "relationship (INS02)",
    "subscriber_indicator": "subscriber indicator (INS01)",
    "insurer_member_id": "insurer member id (REF*23)",
    "insurer_policy_id": "insurer policy id (REF*X9)",
    "name": "name (compared as keyed hashes)",
    "birth_date": "birth date (keyed hashes)",
    "gender": "gender (keyed hashes)",
    "ssn": "SSN (keyed hashes)",
}
CODE_NAMES = {"M": "match", "I": "mismatch", "U": "unmatched", "D": "does not apply",
              "G": "insurer id changed", "not_provided": "not provided by the insurer"}  # fmt: skip


def file_line(file: dict[str, Any]) -> str:
    rate = match_rate(file)
    return (
        f"{file['partner']} population as of {file['as_of']} ({file['source']}): theirs "
        f"{file['theirs']}, ours {file['ours']}, matched {file['matched']}"
        + (f" ({rate * 100:.1f}%)" if rate is not None else "")
        + f", {file['missing_at_insurer']} missing at the insurer, {file['insurer_only']} only at "
        f"the insurer, {file['discrepancies']} discrepancies, {file['confirmed']} waiting "
        "enrollments confirmed"
    )


def row_text(row: dict[str, Any]) -> str:
    values = (
        f": ours {printable(row['ours']) or '-'}, theirs {printable(row['theirs']) or '-'}"
        if row.get("ours") is not None or row.get("theirs") is not None
        else ""
    )
    where = f" ({row['side'].replace('_', ' ')})" if row["side"] != "both" else ""
    return (
        f"{printable(row['partner'])} subscriber {printable(row['subscriber_id'])} member "
        f"{printable(row['member_id']) or '-'}: "
        f"{FIELD_NAMES.get(row['field'], row['field'])} {row['code']} "
        f"({CODE_NAMES.get(row['code'], row['code'])}){where}{values}"
    )


def populations(count: int) -> str:
    return f"{count} insurer population{'s' if count != 1 else ''}"


def reconciliation_text(section: dict[str, Any] | None, limit: int) -> list[str]:
    """The text part's section (nothing when no population arrived in the window)."""
    if not section or not section.get("files"):
        return []
    lines = ["", f"Monthly reconciliation ({populations(len(section['files']))}):"]
    for file in section["files"]:
        lines += [f"  {file_line(file)}", f"    {counts_line(file)}"]
    rows = section.get("discrepancies", [])
    lines += [f"    {row_text(row)}" for row in rows[:limit]]
    total = int(section.get("discrepancies_total", len(rows)))
    if total > min(limit, len(rows)):
        lines.append(
            f"    ... and {total - min(limit, len(rows))} more (the RCNO file and the JSON)"
        )
    return lines
