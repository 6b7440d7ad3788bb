"""The functions' CloudWatch metrics (EMF): per file, overall and per insurer (an insurer id
is not PHI), and the report's backlog."""

from __future__ import annotations

from typing import TYPE_CHECKING

from acktrack.domain.ports import Outcome
from acktrack.domain.status import FileOutcome

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics

    from acktrack.report.document import PartnerLine, Summary


_PARTNER_METRICS = {
    "sent": "MembersSent",
    "accepted": "MembersAccepted",
    "rejected": "MembersRejected",
    "effectuated": "MembersEffectuated",
    "findings": "DataQualityFindings",
}


def insurer_metric(
    metrics: Metrics, name: str, value: float, insurer: str, unit: str = "Count"
) -> None:
    """One EMF metric with an insurer dimension (an insurer id is not PHI)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(
        name=name, unit=MetricUnit(unit), value=value, namespace=metrics.namespace,
        default_dimensions=metrics.default_dimensions,
    ) as metric:  # fmt: skip
        metric.add_dimension(name="insurer", value=insurer[:250])


def file_metrics(metrics: Metrics | None, outcome: Outcome) -> None:
    if metrics is None:
        return
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_metric(name="FilesProcessed", unit=MetricUnit.Count, value=1)
    if outcome.outcome == FileOutcome.QUARANTINED:
        metrics.add_metric(name="FilesQuarantined", unit=MetricUnit.Count, value=1)
    if "hash_key_unavailable" in outcome.notices:  # tracking goes on; hashing waits
        metrics.add_metric(name="HashKeyUnavailable", unit=MetricUnit.Count, value=1)
    if outcome.other_usage:  # in no other figure: test files on a production stack, say
        metrics.add_metric(name="FilesOfOtherUsage", unit=MetricUnit.Count, value=1)
    if outcome.members:
        metrics.add_metric(name="MembersTracked", unit=MetricUnit.Count, value=outcome.members)
    if outcome.duplicates:
        metrics.add_metric(
            name="DuplicateInterchanges", unit=MetricUnit.Count, value=outcome.duplicates
        )
    if outcome.applied:
        metrics.add_metric(
            name="AcknowledgmentsApplied", unit=MetricUnit.Count, value=outcome.applied
        )
    if outcome.unmatched:
        metrics.add_metric(
            name="AcknowledgmentsUnmatched", unit=MetricUnit.Count, value=outcome.unmatched
        )
    totals: dict[str, float] = {}
    for partner, values in sorted(outcome.by_partner.items()):
        for key, name in _PARTNER_METRICS.items():
            if values.get(key):
                insurer_metric(metrics, name, values[key], partner)
                totals[name] = totals.get(name, 0) + values[key]
    for name, value in totals.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for partner, seconds in outcome.ack_seconds:  # from the 834's envelope time to the first 999
        insurer_metric(metrics, "TimeToAcknowledgment", seconds, partner, unit="Seconds")
        metrics.add_metric(name="TimeToAcknowledgment", unit=MetricUnit.Seconds, value=seconds)


def report_metrics(metrics: Metrics, summary: Summary, by_partner: list[PartnerLine]) -> None:
    """The backlog as of the report, overall and per insurer (the alarms read these)."""
    from aws_lambda_powertools.metrics import MetricUnit

    overall = {
        "MembersUnconfirmed": summary["unconfirmed"],
        "MembersPending": summary["pending_overdue"] + summary["pending_within_sla"],
        "MembersPendingOverdue": summary["pending_overdue"],
        "MembersNotEffectuated": summary.get("not_effectuated", 0),
        "PeopleUnconfirmed": summary.get("people_unconfirmed", 0),
        "ResolvedByResend": summary.get("resolved_by_resend", 0),
        "ResolvedByOperator": summary.get("resolved_by_operator", 0),
        "InsurersSilent": summary.get("silent_insurers", 0),  # its alarm: InsurerSilentAlarm
        "ControlGaps": summary.get("control_gaps", 0),
        "NeverSent": summary.get("never_sent", 0),
    }
    for name, value in overall.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.add_metric(
        name="RejectionRate", unit=MetricUnit.Percent, value=100 * summary["window_error_rate"]
    )
    for entry in by_partner:
        partner = entry["partner"]
        insurer_metric(metrics, "MembersPending",
                       entry["pending_overdue"] + entry["pending_within_sla"], partner)  # fmt: skip
        insurer_metric(metrics, "MembersPendingOverdue", entry["pending_overdue"], partner)
        insurer_metric(metrics, "MembersNotEffectuated", entry.get("not_effectuated", 0), partner)
        insurer_metric(
            metrics, "RejectionRate", 100 * entry["window_error_rate"], partner, "Percent"
        )
