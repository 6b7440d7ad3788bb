"""The report as plain text: the CLI's output and the email's text part."""

from __future__ import annotations

from collections import Counter

from acktrack.domain.family import KINDS
from acktrack.report.document import PartnerLine, ReportDocument, Summary
from acktrack.report.never_sent import never_sent_text
from acktrack.report.reconciliation import reconciliation_text
from acktrack.report.resolutions import resolutions_text
from acktrack.report.rhythm import rhythm_text
from acktrack.report.spool import SEVERITY
from acktrack.report.usage import usage_text

# The budget is the deployment's (FirstPassPeople), so the note names no number.
PARTIAL_NOTE = (
    "* first pass: of the people whose first attempt was sent in the window and answered, "
    "the share accepted as sent, counted over the window's first people only (the report's "
    "FirstPassPeople budget; acktrack stats counts everyone)"
)


def first_pass(partner: PartnerLine) -> str:
    """An insurer's first-pass acceptance ("-" until a first attempt was answered)."""
    rate = partner.get("first_pass_acceptance")
    if rate is None:
        return "-"
    return _percent(rate) + ("*" if partner.get("first_pass_partial") else "")


def waited(hours: float) -> str:
    """How long someone has waited, in the unit a person reads: hours, then days."""
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"


def plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def more_in_archive(total: int, limit: int) -> str:
    """What a list capped at ``limit`` rows leaves out of the email ("": nothing)."""
    more = total - max(limit, 0)
    return f"... and {more} more in the archive (the report's JSON)" if more > 0 else ""


def rejections_left_out(listed: int, total: int, limit: int) -> str:
    """What the email's rejections leave out ("": nothing): the archive's JSON lists the
    first rejected sets (``listed``); every rejected member is a row of it and of the CSV."""
    more = total - min(max(limit, 0), listed)
    if more <= 0:
        return ""
    if total > listed:
        return (f"... and {more:,} more rejected sets: the archived JSON lists the first "
                f"{listed:,}, and every rejected member is a row of the archived JSON and CSV")  # fmt: skip
    return more_in_archive(total, limit)


def left_out(listed: int, total: int, limit: int) -> str:
    """What a list shown up to ``limit`` leaves out ("": nothing), and where the archive's
    own list (``listed`` of ``total``) stops."""
    more = total - min(max(limit, 0), listed)
    if more <= 0:
        return ""
    return f"... and {more:,} more" + (
        f"; the archived JSON lists the first {listed:,}" if total > listed else ""
    )


def not_judged(report: ReportDocument) -> str:
    """Duplicate findings counted as ingest found them ("": every one judged again)."""
    count = report.get("duplicates_not_judged", 0)
    if not count:
        return ""
    judged = report.get("duplicates_judged", 0)
    return (f"{count:,} duplicate_enrollment finding{'s' if count != 1 else ''} past the first "
            f"{judged:,} {'are' if count != 1 else 'is'} counted as found at ingest, not judged "
            "again with today's answers")  # fmt: skip


def quality_counts(report: ReportDocument) -> Counter[str]:
    """Data-quality findings by kind: all of them, listed or not."""
    by_kind = report.get("data_quality_by_kind")
    if by_kind is not None:
        return Counter(by_kind)
    return Counter(item["kind"] for item in report.get("data_quality", []))


def _capped(lines: list[str], total: int, limit: int) -> list[str]:
    more = more_in_archive(total, limit)
    return [*lines[: max(limit, 0)], f"  {more}"] if more else lines


def headline(report: ReportDocument) -> list[str]:
    s = report["summary"]
    waiting = s.get("people_unconfirmed", 0)
    lines = [
        f"acktrack report as of {report['as_of'][:16].replace('T', ' ')} UTC (999 SLA {report['sla_hours']:g} h)",
        "",
        f"{'1 person' if waiting == 1 else f'{waiting} people'} not confirmed by their insurer "
        "(rejected, or no 999 past the SLA, and not resent or resolved since)",
        f"  closed without their own confirmation: {s.get('resolved_by_resend', 0)} member "
        f"transactions replaced by a confirmed resend, {s.get('resolved_by_operator', 0)} resolved "
        "by an operator",
        f"Member transactions tracked: {s['members_sent']}",
        f"  confirmed by 999:          {s['confirmed']}"
        + (
            f"  ({s['accepted_with_errors']} accepted with errors)"
            if s["accepted_with_errors"]
            else ""
        ),
        f"  rejected:                  {s['rejected']}",
        f"  overdue (no 999 > SLA):    {s['pending_overdue']}",
        f"  pending within SLA:        {s['pending_within_sla']}",
        f"  error rate:                {_percent(s['error_rate'])}",
        f"Sent in the last {s['window_days']} days: {s['window_sent']}, confirmed {s['window_accepted']}, "
        f"rejected {s['window_rejected']} ({_percent(s['window_error_rate'])})",
    ]
    first = s.get("first_pass_acceptance")
    if first is not None:
        lines.append(
            f"  people whose first attempt was accepted as sent: "
            f"{_percent(first)} of {s['first_attempts_answered']} answered"
        )
    if s.get("effectuation_sla_days"):
        lines.append(
            f"Effectuated by insurers: {s.get('effectuated', 0)}; accepted but not effectuated after "
            f"{s['effectuation_sla_days']} days: {s.get('not_effectuated', 0)}"
        )
    if s.get("data_quality_findings"):
        lines.append(
            f"Data-quality findings (last {s['window_days']} days): {s['data_quality_findings']}"
        )
    counts = (
        (s.get("never_sent", 0), "enrollment action never sent", "enrollment actions never sent"),
        (s.get("silent_insurers", 0), "insurer gone quiet", "insurers gone quiet"),
        (s.get("control_gaps", 0), "gap in control numbers", "gaps in control numbers"),
    )
    beyond = [plural(count, one, many) for count, one, many in counts if count]
    if beyond:
        lines.append("Where no file was: " + ", ".join(beyond) + " (below)")
    if s.get("all_confirmed"):
        lines.append(all_confirmed(s))
    return lines


def all_confirmed(s: Summary) -> str:
    """What "all confirmed" means today: every transaction, or every person once resends
    and operators closed what was rejected or never answered."""
    if s["confirmed"] == s["members_sent"]:
        return f"All {s['members_sent']} member transactions are confirmed."
    closed = s.get("resolved_by_resend", 0) + s.get("resolved_by_operator", 0)
    return (
        f"Everyone is confirmed: of {s['members_sent']} member transactions, the {closed} not "
        "confirmed were replaced by a confirmed resend or resolved by an operator."
    )


def render_text(report: ReportDocument, *, detail_limit: int = 50) -> str:
    lines = headline(report)
    partners = report.get("by_partner", [])
    if partners:
        lines += ["", "By insurer:"]
        width = max(len(p["partner"]) for p in partners)
        for p in partners:
            name = f" {p['payer_name']}" if p.get("payer_name") else ""
            lines.append(
                f"  {p['partner']:<{width}}  sent {p['members_sent']:>6}  confirmed {p['confirmed']:>6}  "
                f"rejected {p['rejected']:>5}  overdue {p['pending_overdue']:>5}  "
                f"pending {p['pending_within_sla']:>5}  error rate {_percent(p['error_rate']):>6}  "
                f"first pass {first_pass(p):>7}{name}"
            )
        if any(p.get("first_pass_partial") for p in partners):
            lines.append("  " + PARTIAL_NOTE)
    if report.get("table"):
        lines += ["", "Unconfirmed by insurer, status and age (members / sets):"]
        for cell in report["table"]:
            lines.append(
                f"  {cell['partner']:<16} {cell['status']:<20} {cell['age']:<10} {cell['members']:>6} / {cell['sets']}"
            )
    rejections = report.get("rejections", [])
    if rejections:
        count = report.get("rejections_total", len(rejections))
        lines += ["", f"Rejections ({count:,} transaction set{'s' if count != 1 else ''}):"]
        unlisted = rejections_left_out(len(rejections), count, detail_limit)
        for rejected in rejections[: max(detail_limit, 0)]:
            lines.append(
                f"  {rejected['partner']} ISA13 {rejected['interchange_control']} GS06 {rejected['group_control']} "
                f"ST02 {rejected['transaction_control']} ({rejected['members']} members)"
            )
            for verdict in rejected["verdicts"]:
                lines.append(f"    {verdict['ack']}")
                for error in verdict["errors"]:
                    member = error.get("member") or {}
                    owner = f" (member {member['ordinal']})" if member.get("ordinal") else ""
                    elements = ", ".join(
                        f"IK4 {e['code']} element {e.get('position')} ({e.get('reference')})"
                        for e in error.get("elements", [])
                    )
                    lines.append(
                        f"      IK3 {error.get('code')} {error.get('segment')} at position {error.get('position')}"
                        f"{owner}{': ' + elements if elements else ''}"
                    )
        lines += [f"  {unlisted}"] if unlisted else []
    # The window's lists: the first ``detail_limit`` rows of each, the rest in the archive.
    unmatched = report.get("unmatched_acks", [])
    if unmatched:
        lines += ["", f"Acknowledgments that match nothing sent ({len(unmatched)}):"]
        lines += _capped([f"  {ack['kind']} from {ack['partner']} for {ack['target_control']} "
                          f"({ack['state']}): {ack['reason']}" for ack in unmatched[:detail_limit]],
                         len(unmatched), detail_limit)  # fmt: skip
    quarantined = report.get("quarantined", [])
    if quarantined:
        lines += ["", f"Quarantined files ({len(quarantined)}):"]
        lines += _capped([f"  {kept['key']}: {kept['reason']}" for kept in quarantined[:detail_limit]],
                         len(quarantined), detail_limit)  # fmt: skip
    notices = report.get("notices", [])
    if notices:
        lines += ["", f"Notices ({len(notices)}):"]
        lines += _capped([f"  {notice['kind']}: {notice['detail']}" for notice in notices[:detail_limit]],
                         len(notices), detail_limit)  # fmt: skip
    rows = report.get("unconfirmed", [])
    total = report.get("unconfirmed_total", len(rows))
    if rows:
        lines += ["", f"Not confirmed: one row per person and coverage ({total}):"]
        rows = sorted(rows, key=lambda r: (SEVERITY.get(r["status"], 3), -r["age_hours"]))
        for row in rows[:detail_limit]:
            tries = row.get("attempts", 1)
            lines.append(
                f"  {row['partner']} {row['status']:<15} subscriber {row['subscriber_id'] or '-'} member "
                f"{row['member_id'] or '-'} INS03 {row['maintenance_type']} ({row['maintenance_meaning']}) "
                f"ISA13 {row['interchange_control']} GS06 {row['group_control']} ST02 {row['transaction_control']} "
                f"sent {row['sent_at'][:16]}{f' (attempt {tries})' if tries > 1 else ''} "
                f"waiting {waited(row['age_hours'])}: {row['reason']}"
            )
        if total > min(detail_limit, len(rows)):
            lines.append(
                f"  ... and {total - min(detail_limit, len(rows))} more (all rows: --json, or the CSV)"
            )
    lines += never_sent_text(report, detail_limit)
    lines += rhythm_text(report, detail_limit)
    quality = report.get("data_quality", [])
    if quality:
        counts = quality_counts(report)
        total = sum(counts.values())
        lines += ["", f"Data quality ({total:,} findings):"]
        for kind, count in sorted(counts.items()):
            lines.append(f"  {count:>5} {kind}: {KINDS.get(kind, kind)}")
        for item in quality[:detail_limit]:
            lines.append(
                f"    {item['partner']} subscriber {item['subscriber_id']} member {item['member_id'] or '-'} "
                f"INS03 {item['maintenance_type'] or '-'} ISA13 {item['interchange_control'] or '-'} "
                f"ST02 {item['transaction_control'] or '-'}: {item['kind']} ({item['detail']})"
            )
        lines += [f"    {note}" for note in (left_out(len(quality), total, detail_limit),
                                                 not_judged(report)) if note]  # fmt: skip
    lines += reconciliation_text(report.get("reconciliation"), detail_limit)
    lines += resolutions_text(report, detail_limit)
    lines += usage_text(report)
    return "\n".join(lines) + "\n"
