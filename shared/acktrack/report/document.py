"""The daily report as it is archived (JSON) and rendered: ``Report.to_json`` makes it; the
text, HTML, CSV and email renderers read it, and `acktrack report` and replay print it.
Types only: at run time each part is a plain dict."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class Counts(TypedDict):
    """Member transactions sent, answered and open, overall or for one insurer."""

    members_sent: int
    confirmed: int
    accepted: int
    accepted_with_errors: int
    rejected: int
    pending_overdue: int
    pending_within_sla: int
    error_rate: float
    window_sent: int
    window_accepted: int
    window_rejected: int
    window_error_rate: float
    effectuated: int
    not_effectuated: int
    first_attempts_answered: int
    first_pass_acceptance: float | None


class Summary(Counts):
    """The whole report's counts, people, and what else needs a look."""

    unconfirmed: int
    people_unconfirmed: int
    resolved_by_resend: int
    resolved_by_operator: int
    confirmed_by_reconciliation: int
    closed_as_duplicate: int
    window_days: int
    effectuation_sla_days: int
    data_quality_findings: int
    unmatched_acks: int
    quarantined: int
    notices: int
    partners: int
    all_confirmed: bool
    resolutions: NotRequired[int]  # operators' resolutions in the window (report.resolutions)
    other_usage_files: NotRequired[int]  # files of the usage not tracked, kept apart
    never_sent: NotRequired[int]  # expected actions no 834 sent by their due time
    control_gaps: NotRequired[int]  # runs of control numbers with one missing (report.rhythm)
    silent_insurers: NotRequired[int]  # insurers quiet past their usual interval, with 834s waiting


class PartnerLine(Counts):
    """One insurer's counts (``by_partner``)."""

    partner: str
    payer_name: str
    first_pass_partial: bool


class UnmatchedLine(TypedDict):
    kind: str
    partner: str
    target_control: str
    status: str
    state: str
    reason: str
    key: str
    received_at: str


class QuarantinedLine(TypedDict):
    key: str
    reason: str
    received_at: str
    quarantine_key: str | None


class NoticeLine(TypedDict):
    kind: str
    detail: str
    keys: list[str]


class QualityLine(TypedDict):
    kind: str
    detail: str
    partner: str
    subscriber_id: str
    member_id: str | None
    maintenance_type: str
    interchange_control: str
    group_control: str
    transaction_control: str
    member_ordinal: int
    sent_at: str


class ResolutionLine(TypedDict):
    """An operator's resolution in the window: what it closed, why, who claims it (``by``,
    as typed) and who really wrote it (``caller``: the STS caller ARN, or the OS user)."""

    at: str
    partner: str
    subscriber_id: str
    member_id: str | None  # None: every open enrollment of the subscriber
    reason: str
    by: str
    caller: str | None  # None: recorded before acktrack kept the caller
    closed: int  # member transactions it closed


class ReportDocument(TypedDict):
    as_of: str
    sla_hours: float
    window_days: int
    summary: Summary
    by_partner: list[PartnerLine]
    table: list[dict[str, Any]]  # partner x status x age bucket, with counts
    rejections: list[dict[str, Any]]  # per rejected set, decoded (the first backlog.LISTED)
    rejections_total: NotRequired[int]  # when more sets were rejected than listed
    unconfirmed: list[dict[str, Any]]  # one row per open enrollment (the CSV's columns)
    unconfirmed_total: NotRequired[int]  # when only the most urgent rows are included
    unmatched_acks: list[UnmatchedLine]
    quarantined: list[QuarantinedLine]
    notices: list[NoticeLine]
    data_quality: list[QualityLine]  # the first backlog.LISTED of each source
    data_quality_by_kind: NotRequired[dict[str, int]]  # every finding, when some are not listed
    duplicates_not_judged: NotRequired[int]  # past sections.DUPLICATES_JUDGED, counted as found
    duplicates_judged: NotRequired[int]  # those judged again (with duplicates_not_judged only)
    reconciliation: NotRequired[dict[str, Any]]  # populations held in the window
    resolutions: NotRequired[list[ResolutionLine]]  # operators' resolutions in the window
    other_usage: NotRequired[list[dict[str, Any]]]  # per insurer and usage (report.usage)
    never_sent: NotRequired[list[dict[str, Any]]]  # the oldest expected actions never sent
    never_sent_by_partner: NotRequired[list[dict[str, Any]]]
    control_gaps: NotRequired[list[dict[str, Any]]]
    silent_insurers: NotRequired[list[dict[str, Any]]]
