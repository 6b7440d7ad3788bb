"""The report as an email (MIME). Issue 4 makes this the full HTML report."""

from __future__ import annotations

from email.message import EmailMessage

from acktrack.tracking.report import Report


def subject(report: Report) -> str:
    s = report.summary
    if s["all_confirmed"]:
        return f"acktrack: all {s['members_sent']} member transactions confirmed"
    return (
        f"acktrack: {s['unconfirmed']} unconfirmed ({s['rejected']} rejected, {s['pending_overdue']} overdue) "
        f"of {s['members_sent']} sent"
    )


def build_email(report: Report, sender: str, recipients: list[str]) -> bytes:
    message = EmailMessage()
    message["Subject"] = subject(report)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(f"{subject(report)}\n")
    return message.as_bytes()
