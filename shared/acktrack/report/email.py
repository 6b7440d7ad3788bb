"""The daily report as an email: text and HTML alternatives, and the detail as CSV.

Safe to forward: no names, SSNs, birth dates or addresses anywhere, only what an
operations team needs to act. CSV cells that a spreadsheet would run as a formula
are neutralised. The HTML is plain tables with inline styles (no scripts, no images)
so it reads the same in mail clients and browsers.
"""

from __future__ import annotations

import html
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from zoneinfo import ZoneInfo

from acktrack.domain.family import KINDS
from acktrack.report.detail_csv import detail_csv
from acktrack.report.document import PartnerLine, ReportDocument, Summary
from acktrack.report.never_sent import meaning
from acktrack.report.reconciliation import (
    CODE_NAMES,
    FIELD_NAMES,
    counts_line,
    file_line,
    populations,
)
from acktrack.report.resolutions import resolutions_csv, resolutions_table
from acktrack.report.rhythm import gap_line
from acktrack.report.spool import SEVERITY
from acktrack.report.text import (
    PARTIAL_NOTE,
    all_confirmed,
    first_pass,
    left_out,
    more_in_archive,
    not_judged,
    plural,
    quality_counts,
    rejections_left_out,
    render_text,
    waited,
)
from acktrack.report.usage import USAGE_NAMES

EMAIL_DETAIL_ROWS = 500  # the EmailDetailRows parameter's default


def most_urgent(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The most severe first, then the longest waiting."""
    return sorted(rows, key=lambda r: (SEVERITY.get(r["status"], 3), -r["age_hours"]))


def people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def subject(report: ReportDocument, timezone: str = "UTC") -> str:
    """The subject names the report's date where the team reads it (``timezone``)."""
    s = report["summary"]
    day = datetime.fromisoformat(report["as_of"]).astimezone(ZoneInfo(timezone)).date().isoformat()
    if s["members_sent"] == 0:
        return f"acktrack {day}: no member transactions tracked yet"
    if s.get("all_confirmed"):
        if s["confirmed"] == s["members_sent"]:
            return f"acktrack {day}: all {s['members_sent']} member transactions confirmed"
        return f"acktrack {day}: everyone confirmed ({s['members_sent']} member transactions sent)"
    extras = []
    if s.get("not_effectuated"):
        extras.append(f"{s['not_effectuated']} not effectuated")
    if s.get("never_sent"):
        extras.append(f"{plural(s['never_sent'], 'action')} never sent")
    if s.get("silent_insurers"):
        extras.append(plural(s["silent_insurers"], "insurer") + " silent")
    if s.get("control_gaps"):
        extras.append(plural(s["control_gaps"], "gap") + " in control numbers")
    if s.get("data_quality_findings"):
        extras.append(f"{s['data_quality_findings']} data-quality findings")
    if s["unmatched_acks"]:
        extras.append(f"{plural(s['unmatched_acks'], 'unmatched ack')}")
    if s["quarantined"]:
        extras.append(f"{plural(s['quarantined'], 'file')} quarantined")
    tail = f"; {', '.join(extras)}" if extras else ""
    waiting = s.get("people_unconfirmed", 0)
    return (
        f"acktrack {day}: {people(waiting)} not confirmed by their insurer "
        f"({s['members_sent']} member transactions sent){tail}"
    )


def build_email(
    report: ReportDocument,
    sender: str,
    recipients: list[str],
    *,
    timezone: str = "UTC",
    attach_csv: bool = True,
    csv_link: str | None = None,
    csv_location: str | None = None,
    detail_rows: int = EMAIL_DETAIL_ROWS,
    detail: bytes | None = None,
    resolutions: bytes | None = None,
    resolutions_location: str | None = None,
) -> bytes:
    """The MIME message: text/plain and text/html alternatives, plus the CSV when it fits
    (and the window's operator resolutions as a CSV of their own, when there are some).
    Too large to attach: the CSV's S3 location is named and ``csv_link`` (the console,
    a login needed) links it."""
    message = EmailMessage()
    message["Subject"] = subject(report, timezone)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="acktrack.local")
    text = render_text(report, detail_limit=detail_rows)
    if not attach_csv:
        where = csv_location or "see the reports bucket"
        text += f"\nThe detail is too large to attach. It is archived at {where}"
        text += f" (open it signed in to the AWS console: {csv_link})\n" if csv_link else "\n"
        if resolutions_location and report["summary"].get("resolutions"):
            text += f"The operators' resolutions are archived at {resolutions_location}\n"
    message.set_content(text)
    message.add_alternative(
        render_html(
            report, timezone=timezone, csv_link=None if attach_csv else csv_link,
            csv_location=None if attach_csv else csv_location, detail_rows=detail_rows,
        ),
        subtype="html",
    )  # fmt: skip
    if attach_csv:
        message.add_attachment(
            detail if detail is not None else detail_csv(report),
            maintype="text",
            subtype="csv",
            filename=f"unconfirmed-{report['as_of'][:10]}.csv",
        )
        if report["summary"].get("resolutions"):
            message.add_attachment(
                resolutions if resolutions is not None else resolutions_csv(report),
                maintype="text", subtype="csv", filename=f"resolutions-{report['as_of'][:10]}.csv",
            )  # fmt: skip
    return message.as_bytes()


# -- HTML -----------------------------------------------------------------------------------

_FONT = "font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1f2933"
_CELL = "padding:6px 10px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top"
_HEAD = "padding:6px 10px;border-bottom:2px solid #9aa5b1;text-align:left;background:#f5f7fa;font-weight:bold"
_NUMBER = _CELL + ";text-align:right"
COLORS = {"confirmed": "#2f9e44", "rejected": "#e03131", "overdue": "#f08c00", "pending": "#adb5bd"}


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f'<th style="{_HEAD}">{_e(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="{_NUMBER if i in numeric else _CELL}">{cell}</td>'
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;width:100%;margin:6px 0 18px 0;{_FONT}">'
        f"<tr>{head}</tr>{body}</table>"
    )


def insurer_bar(partner: PartnerLine, width: int = 240) -> str:
    """A bar of styled cells: confirmed, rejected, overdue, pending, proportional to members."""
    total = max(partner["members_sent"], 1)
    parts = [
        ("confirmed", partner["confirmed"]),
        ("rejected", partner["rejected"]),
        ("overdue", partner["pending_overdue"]),
        ("pending", partner["pending_within_sla"]),
    ]
    cells = "".join(
        f'<td title="{name}: {count}" style="width:{max(1, round(width * count / total))}px;height:12px;'
        f'background:{COLORS[name]};padding:0;font-size:1px;line-height:1px">&nbsp;</td>'
        for name, count in parts
        if count
    )
    if not cells:
        cells = f'<td style="width:{width}px;height:12px;background:#e4e7eb;padding:0;font-size:1px">&nbsp;</td>'
    return f'<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>{cells}</tr></table>'


def _headline_cells(summary: Summary) -> str:
    figures = [
        ("people unconfirmed", summary.get("people_unconfirmed", 0), COLORS["rejected"]),
        ("sent", summary["members_sent"], "#1f2933"),
        ("confirmed", summary["confirmed"], COLORS["confirmed"]),
        ("rejected", summary["rejected"], COLORS["rejected"]),
        ("overdue", summary["pending_overdue"], COLORS["overdue"]),
        ("pending within SLA", summary["pending_within_sla"], "#52606d"),
        ("not effectuated", summary.get("not_effectuated", 0), COLORS["overdue"]),
        (
            "error rate",
            _percent(summary["error_rate"]),
            COLORS["rejected"] if summary["rejected"] else "#1f2933",
        ),
    ]
    cells = "".join(
        f'<td style="padding:10px 14px;border:1px solid #e4e7eb;text-align:center;{_FONT}">'
        f'<div style="font-size:24px;font-weight:bold;color:{color}">{_e(value)}</div>'
        f'<div style="font-size:12px;color:#52606d">{_e(label)}</div></td>'
        for label, value, color in figures
    )
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:collapse;margin:8px 0 18px 0"><tr>{cells}</tr></table>'
    )


def render_html(
    report: ReportDocument,
    *,
    timezone: str = "UTC",
    csv_link: str | None = None,
    csv_location: str | None = None,
    detail_rows: int = EMAIL_DETAIL_ROWS,
) -> str:
    summary = report["summary"]
    as_of = datetime.fromisoformat(report["as_of"]).astimezone(ZoneInfo(timezone))
    parts: list[str] = []
    if summary["members_sent"] and summary.get("all_confirmed"):
        banner, color = all_confirmed(summary), COLORS["confirmed"]
    elif summary.get("people_unconfirmed"):
        banner = (
            f"{people(summary['people_unconfirmed'])} not confirmed by their insurer. Member "
            f"transactions: {summary['rejected']} rejected, {summary['pending_overdue']} with no 999 "
            f"after {report['sla_hours']:g} hours."
        )
        if summary.get("not_effectuated"):
            banner += (
                f" {summary['not_effectuated']} accepted additions are not effectuated after "
                f"{summary['effectuation_sla_days']} days."
            )
        color = COLORS["rejected"]
    else:
        banner, color = (
            "Nothing is overdue or rejected; see below for what needs attention.",
            COLORS["overdue"],
        )
    parts.append(
        f'<div style="{_FONT};padding:10px 14px;border-left:6px solid {color};background:#f5f7fa;'
        f'margin-bottom:12px;font-size:16px"><b>{_e(banner)}</b></div>'
    )
    parts.append(_headline_cells(summary))
    parts.append(
        f'<p style="{_FONT}">Sent in the last {summary["window_days"]} days: <b>{summary["window_sent"]}</b>, '
        f"confirmed {summary['window_accepted']}, rejected {summary['window_rejected']} "
        f"(error rate {_percent(summary['window_error_rate'])})."
        + (
            f" First attempts accepted as sent: {_percent(first)} "
            f"of {summary['first_attempts_answered']} people answered."
            if (first := summary.get("first_pass_acceptance")) is not None
            else ""
        )
        + "</p>"
    )
    closed = (summary.get("resolved_by_resend", 0), summary.get("resolved_by_operator", 0))
    if any(closed):
        parts.append(
            f'<p style="{_FONT}">Closed without their own confirmation: {closed[0]} member transactions '
            f"replaced by a confirmed resend, {closed[1]} resolved by an operator.</p>"
        )
    partners = report.get("by_partner", [])
    if partners:
        rows = [
            [
                f'<b>{_e(p["partner"])}</b><br><span style="color:#52606d;font-size:12px">{_e(p["payer_name"])}</span>',
                _e(p["members_sent"]),
                _e(p["confirmed"]),
                _e(p["rejected"]),
                _e(p["pending_overdue"]),
                _e(p["pending_within_sla"]),
                _e(_percent(p["error_rate"])),
                _e(first_pass(p)),
                insurer_bar(p),
            ]
            for p in partners
        ]
        parts.append(_section("By insurer"))
        parts.append(
            _table(
                [
                    "Insurer",
                    "Sent",
                    "Confirmed",
                    "Rejected",
                    "Overdue",
                    "Pending",
                    "Error rate",
                    "First pass",
                    "",
                ],
                rows,
                {1, 2, 3, 4, 5, 6, 7},
            )
        )
        legend = " ".join(
            f'<span style="display:inline-block;width:10px;height:10px;background:{c}"></span> {n}'
            for n, c in COLORS.items()
        )
        if any(p.get("first_pass_partial") for p in partners):
            legend += " &nbsp; " + _e(PARTIAL_NOTE)
        parts.append(f'<p style="{_FONT};font-size:12px;color:#52606d">{legend}</p>')
    if report.get("table"):
        parts.append(_section("Unconfirmed by insurer, status and age"))
        parts.append(
            _table(
                ["Insurer", "Status", "Age", "Members", "Sets"],
                [
                    [
                        _e(c["partner"]),
                        _e(c["status"]),
                        _e(c["age"]),
                        _e(c["members"]),
                        _e(c["sets"]),
                    ]
                    for c in report["table"]
                ],
                {3, 4},
            )
        )
    if report.get("rejections"):
        count = report.get("rejections_total", len(report["rejections"]))
        parts.append(_section(f"Rejections ({count:,} transaction set{'s' if count != 1 else ''})"))
        rows = []
        for item in report["rejections"][: max(detail_rows, 0)]:
            verdicts = "<br>".join(
                _e(v["ack"]) + _errors_html(v["errors"]) for v in item["verdicts"]
            )
            rows.append(
                [
                    _e(item["partner"]),
                    _e(
                        f"{item['interchange_control']} / {item['group_control']} / "
                        f"{item['transaction_control']}"
                    ),
                    _e(item["members"]),
                    verdicts,
                ]
            )
        parts.append(_table(["Insurer", "ISA13 / GS06 / ST02", "Members", "Why"], rows, {2}))
        more = rejections_left_out(len(report["rejections"]), count, detail_rows)
        parts += [f'<p style="{_FONT}">{_e(more)}</p>'] if more else []
    # The window's lists, each capped at ``detail_rows`` (the archived JSON holds every row).
    unmatched, quarantined = report.get("unmatched_acks", []), report.get("quarantined", [])
    notices = report.get("notices", [])
    parts += _list(f"Acknowledgments that match nothing sent ({len(unmatched)})",
                   ["Kind", "From", "For", "State", "Why", "File"],
                   [[a["kind"], a["partner"], a["target_control"], a["state"], a["reason"], a["key"]]
                    for a in unmatched[:detail_rows]], len(unmatched), detail_rows)  # fmt: skip
    parts += _list(f"Quarantined files ({len(quarantined)})", ["File", "Why", "Copy"],
                   [[q["key"], q["reason"], q["quarantine_key"]] for q in quarantined[:detail_rows]],
                   len(quarantined), detail_rows)  # fmt: skip
    parts += _list(f"Notices ({len(notices)})", ["Kind", "What", "Files"],
                   [[n["kind"], n["detail"], ", ".join(n["keys"])] for n in notices[:detail_rows]],
                   len(notices), detail_rows)  # fmt: skip
    rows_all = most_urgent(report.get("unconfirmed", []))
    total = report.get("unconfirmed_total", len(rows_all))
    if rows_all:
        shown = rows_all[:detail_rows]
        parts.append(_section(f"People not confirmed ({total} open enrollments)"))
        parts.append(
            _table(
                [
                    "Insurer",
                    "Status",
                    "Subscriber",
                    "Member",
                    "INS03",
                    "ISA13 / GS06 / ST02",
                    "Sent",
                    "Attempts",
                    "Waiting",
                    "Why",
                ],
                [
                    [
                        _e(r["partner"]),
                        _status(r["status"]),
                        _e(r["subscriber_id"]),
                        _e(r["member_id"]),
                        _e(f"{r['maintenance_type']} {r['maintenance_meaning']}"),
                        _e(
                            f"{r['interchange_control']} / {r['group_control']} / {r['transaction_control']}"
                        ),
                        _e(r["sent_at"][:16].replace("T", " ")),
                        _e(r.get("attempts", 1)),
                        _e(waited(r["age_hours"])),
                        _e(r["reason"]),
                    ]
                    for r in shown
                ],
                {7, 8},
            )
        )
        if total > len(shown):
            parts.append(
                f'<p style="{_FONT}">… and {total - len(shown)} more in the CSV '
                "(the archived report holds every row).</p>"
            )
    parts += _never_sent(report, detail_rows)
    silent, found = report.get("silent_insurers", []), report.get("control_gaps", [])
    parts += _list(f"Insurers gone quiet ({len(silent)})",
                   ["Insurer", "Silent since", "Quiet (h)", "Usual interval (h)", "Awaiting answer"],
                   [[s["partner"], s["silent_since"][:16].replace("T", " "), s["quiet_hours"],
                     s["usual_interval_hours"], s["awaiting_answer"]] for s in silent[:detail_rows]],
                   len(silent), detail_rows)  # fmt: skip
    parts += _list(f"Gaps in control numbers ({len(found)})", ["Gap"],
                   [[gap_line(g)] for g in found[:detail_rows]], len(found), detail_rows)  # fmt: skip
    quality = report.get("data_quality", [])
    if quality:
        counts = quality_counts(report)
        total = sum(counts.values())
        parts.append(_section(f"Data quality ({total:,} findings)"))
        parts.append(
            _table(["Check", "Findings", "What it means"],
                   [[_e(kind), _e(count), _e(KINDS.get(kind, kind))] for kind, count in sorted(counts.items())], {1})
        )  # fmt: skip
        parts.append(
            _table(
                ["Insurer", "Subscriber", "Member", "INS03", "ISA13 / GS06 / ST02", "Check", "Detail"],
                [[_e(q["partner"]), _e(q["subscriber_id"]), _e(q["member_id"]), _e(q["maintenance_type"]),
                  _e(f"{q['interchange_control']} / {q['group_control']} / {q['transaction_control']}"),
                  _e(q["kind"]), _e(q["detail"])] for q in quality[:detail_rows]],
            )
        )  # fmt: skip
        unshown = left_out(len(quality), total, detail_rows)
        parts += [
            f'<p style="{_FONT}">{_e(note)}</p>' for note in (unshown, not_judged(report)) if note
        ]
    section = report.get("reconciliation") or {}
    if section.get("files"):
        parts.append(_section(f"Monthly reconciliation ({populations(len(section['files']))})"))
        parts += [f'<p style="{_FONT}">{_e(file_line(file))}; {_e(counts_line(file))}.</p>'
                  for file in section["files"]]  # fmt: skip
        rows = section.get("discrepancies", [])[:detail_rows]
        if rows:
            parts.append(_table(
                ["Insurer", "Subscriber", "Member", "Field", "Code", "Ours", "Theirs"],
                [[_e(r["partner"]), _e(r["subscriber_id"]), _e(r["member_id"] or "-"),
                  _e(FIELD_NAMES.get(r["field"], r["field"])),
                  _e(f"{r['code']} {CODE_NAMES.get(r['code'], '')}"
                     + (f" ({r['side'].replace('_', ' ')})" if r["side"] != "both" else "")),
                  _e(r["ours"] or "-"), _e(r["theirs"] or "-")] for r in rows],
            ))  # fmt: skip
    listed = resolutions_table(report, detail_rows)
    if listed:
        title, headers, rows, more = listed
        parts += [_section(title), _table(headers, [[_e(c) for c in row] for row in rows])]
        parts += [f'<p style="{_FONT}">{_e(more)}</p>'] if more else []
    apart = report.get("other_usage", [])
    if apart:
        parts.append(
            _section("Kept apart: another usage (ISA15) than this stack tracks, in no figure")
        )
        parts.append(_table(
            ["Insurer", "Usage", "Files", "Interchanges", "Member transactions", "Acknowledgments"],
            [[_e(a["partner"]), _e(USAGE_NAMES.get(a["usage"], a["usage"])), _e(a["files"]),
              _e(a["interchanges"]), _e(a["members"]), _e(a["acknowledgments"])] for a in apart],
            {2, 3, 4, 5},
        ))  # fmt: skip
    if csv_link or csv_location:
        where = f" It is archived at <code>{_e(csv_location)}</code>." if csv_location else ""
        link = (
            f' <a href="{_e(csv_link)}">Open it in the AWS console</a> (sign-in required).'
            if csv_link
            else ""
        )
        parts.append(
            f'<p style="{_FONT}"><b>The detail is too large to attach.</b>{where}{link}</p>'
        )
    footer = (
        f"Report as of {as_of:%Y-%m-%d %H:%M %Z}. A transaction set is confirmed by a 999 (IK5 A or E); a TA1 "
        f"rejection rejects every member. Overdue means no 999 within {report['sla_hours']:g} hours of sending. "
        "This email carries member identifiers and control numbers only: no names, SSNs, birth dates or addresses."
    )
    body = "".join(parts)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{_e(subject(report, timezone))}</title></head>"
        f'<body style="margin:0;padding:16px;background:#ffffff;{_FONT}">'
        f'<h1 style="font-size:20px;margin:0 0 8px 0">acktrack: unconfirmed enrollments, {as_of:%A %d %B %Y}</h1>'
        f"{body}"
        f'<p style="{_FONT};font-size:12px;color:#52606d;margin-top:24px">{_e(footer)}</p>'
        "</body></html>"
    )


def _list(
    title: str, headers: list[str], rows: list[list[Any]], total: int, limit: int
) -> list[str]:
    """A list of the report's window as a titled table of its first rows ([]: empty)."""
    if not total:
        return []
    more = more_in_archive(total, limit)
    return [_section(title), _table(headers, [[_e(cell) for cell in row] for row in rows]),
            *([f'<p style="{_FONT}">{_e(more)}</p>'] if more else [])]  # fmt: skip


def _never_sent(report: ReportDocument, detail_rows: int) -> list[str]:
    """Expected actions no 834 sent by their due time, after the people not confirmed."""
    total = report["summary"].get("never_sent", 0)
    if not total:
        return []
    listed = report.get("never_sent", [])
    counts = ", ".join(f"{line['partner']} {line['never_sent']}"
                       for line in report.get("never_sent_by_partner", []))  # fmt: skip
    return _list(
        f"Never sent: enrollment actions with no 834 by their due time ({total}; {counts})",
        ["Insurer", "Subscriber", "Member", "INS03", "Action", "Due"],
        [[a["partner"], a["subscriber_id"], a["member_id"] or "-",
          f"{a['maintenance_type']} {meaning(a)}", a["action_id"],
          a["expected_by"][:16].replace("T", " ")] for a in listed[:detail_rows]],
        total, detail_rows,
    )  # fmt: skip


def _section(title: str) -> str:
    return f'<h2 style="font-size:16px;margin:18px 0 4px 0;{_FONT};font-size:16px">{_e(title)}</h2>'


def _status(status: str) -> str:
    color = {"rejected": COLORS["rejected"], "rejected_after_accept": COLORS["rejected"],
             "overdue": COLORS["overdue"]}.get(status, "#7048e8")  # fmt: skip
    return f'<span style="color:{color};font-weight:bold">{_e(status.replace("_", " "))}</span>'


def _errors_html(errors: list[dict[str, Any]]) -> str:
    lines = []
    for error in errors:
        member = error.get("member") or {}
        owner = f" (member {member['ordinal']})" if member.get("ordinal") else ""
        elements = "; ".join(
            f"IK4 {e.get('code')} in element {e.get('position')} ({e.get('reference')})"
            + (f" value {e['value']!r}" if e.get("value") else "")
            for e in error.get("elements", [])
        )
        lines.append(
            f"<br>&nbsp;&nbsp;IK3 {_e(error.get('code'))} at {_e(error.get('segment'))} segment "
            f"{_e(error.get('position'))}{_e(owner)}{': ' + _e(elements) if elements else ''}"
        )
    return "".join(lines)
