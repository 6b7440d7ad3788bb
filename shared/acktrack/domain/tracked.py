"""What the tracker keeps about an interchange, a transaction set and a member.

Built from the X12 records, without names, SSNs, birth dates or addresses: only the
identifiers, codes and dates an operations team needs to act.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from acktrack.domain.hashing import Hashes, Keyring, member_hashes
from acktrack.domain.identifiers import ID, LONG, SHORT, clip, set_id, short_hash
from acktrack.domain.index import InterchangeIndex, SetIndex
from acktrack.x12 import Finding, MemberTransaction, TransactionHeader, codes

MAX_FINDINGS_KEPT = 50  # per set or interchange; the count is kept in full
MEMBER_STARTS_KEPT = 16  # a set of up to this many members keeps where each loop starts


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One S3 object as an event names it. The key is sensitive: log ``key_hash``."""

    bucket: str
    key: str
    size: int | None = None
    version_id: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def key_hash(self) -> str:
        return short_hash(self.bucket, self.key, size=12)


def to_utc(moment: datetime | None, zone: tzinfo, fallback: datetime) -> datetime:
    """An envelope date-time (local to ``zone``) in UTC; ``fallback`` when there is none."""
    if moment is None:
        return fallback.astimezone(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


# An envelope dated this long before its arrival is worth a warning: an old file sent again,
# or a sender's clock that is wrong.
STALE_ENVELOPE_DAYS = 30


def sending_time(
    envelope: datetime | None, zone: tzinfo, received_at: datetime
) -> tuple[datetime, Finding | None]:
    """When a set was sent: its envelope date, but never later than its arrival (a date in the
    future would keep its members "within SLA" forever), with a warning when the date is in
    the future or long before arrival."""
    sent = to_utc(envelope, zone, received_at)
    arrived = received_at.astimezone(UTC)
    if sent > arrived + timedelta(minutes=5):  # clocks drift a little
        return arrived, Finding(
            scheme="ACK", code=codes.ENVELOPE_DATE_IN_FUTURE, severity="warning",
            detail=f"the envelope is dated {iso(sent)}, after the file arrived ({iso(arrived)}); "
            "its age counts from arrival",
        )  # fmt: skip
    if sent < arrived - timedelta(days=STALE_ENVELOPE_DAYS):
        return sent, Finding(
            scheme="ACK", code=codes.ENVELOPE_DATE_LONG_BEFORE_ARRIVAL, severity="warning",
            detail=f"the envelope is dated {iso(sent)}, more than {STALE_ENVELOPE_DAYS} days "
            f"before the file arrived ({iso(arrived)})",
        )  # fmt: skip
    return sent, None


MAX_COVERAGES = 50  # HD loops kept per member (an 834 has a handful)
MAX_CATEGORIES = 100  # 2750 reporting categories kept per member


def clipped(*values: str | None, size: int = SHORT) -> bool:
    """True when a value is longer than X12 allows and is stored shortened."""
    return any(value is not None and len(value) > size for value in values)


def _too_long(what: str) -> Finding:
    return Finding(
        scheme="ACK", code=codes.VALUE_TOO_LONG, severity="warning",
        detail=f"{what} longer than X12 allows: kept as a prefix and a hash",
    )  # fmt: skip


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def finding_detail(finding: Finding) -> dict[str, Any]:
    return finding.to_dict()


@dataclass(frozen=True, slots=True, kw_only=True)
class SetVersion:
    """What names one version of a transaction set: its controls and its interchange's
    digest (the same ST02 may come again in another interchange, or the same one resent)."""

    our_id: str
    partner: str
    interchange_control: str
    digest: str
    group_control: str
    transaction_control: str
    buckets: int = 1  # the partitions its group version's sets spread over (store.keys)


@dataclass(slots=True, kw_only=True)
class TrackedSet:
    set_id: str
    our_id: str
    partner: str
    payer_name: str
    interchange_control: str
    group_control: str
    transaction_control: str
    implementation: str
    digest: str
    sent_at: str
    members: int
    segments: int
    findings: list[dict[str, Any]] = field(default_factory=list)
    finding_count: int = 0
    predicted_rejection: bool = False
    reference: str = ""  # BGN02 (an 824's OTI03 may name the set by it alone)
    last_position: int = 1
    # Where each INS loop starts, kept for sets of up to MEMBER_STARTS_KEPT members (their
    # IK3 errors are attributed without a read).
    member_starts: list[int] = field(default_factory=list)
    buckets: int = 1  # partitions of its group version's sets (``group_buckets``)
    # Its families were written to the insurer's roster with its members (False: a part of
    # its file ran on code before the roster, so reconciliation walks it instead).
    rostered: bool = True

    @property
    def sent_day(self) -> str:
        return self.sent_at[:10]

    @property
    def version(self) -> SetVersion:
        return SetVersion(
            our_id=self.our_id, partner=self.partner, interchange_control=self.interchange_control,
            digest=self.digest, group_control=self.group_control,
            transaction_control=self.transaction_control, buckets=self.buckets,
        )  # fmt: skip

    def add_finding(self, finding: Finding) -> None:
        self.finding_count += 1
        if finding.severity in ("error", "fatal"):
            self.predicted_rejection = True
        if len(self.findings) < MAX_FINDINGS_KEPT:
            self.findings.append(finding_detail(finding))


@dataclass(slots=True, kw_only=True)
class TrackedInterchange:
    our_id: str
    partner: str
    interchange_control: str
    interchange_date: str
    interchange_time: str
    digest: str
    source_bucket: str
    source_key: str
    received_at: str
    sent_at: str
    groups: int
    sets: list[TrackedSet]
    findings: list[dict[str, Any]] = field(default_factory=list)
    sequence: int = 1  # position of the interchange in its file

    @property
    def members(self) -> int:
        return sum(item.members for item in self.sets)

    @property
    def group_controls(self) -> list[str]:
        return list(dict.fromkeys(item.group_control for item in self.sets))

    def counts_by_day(self) -> dict[str, tuple[int, int]]:
        """sent day -> (members, sets)."""
        days: dict[str, tuple[int, int]] = {}
        for item in self.sets:
            members, sets = days.get(item.sent_day, (0, 0))
            days[item.sent_day] = (members + item.members, sets + 1)
        return days


@dataclass(slots=True, kw_only=True)
class TrackedMember:
    set_id: str
    set_version: SetVersion
    our_id: str
    partner: str
    sent_at: str
    ordinal: int
    first_position: int
    last_position: int
    subscriber_indicator: str
    relationship: str
    maintenance_type: str
    maintenance_reason: str
    benefit_status: str
    subscriber_id: str | None
    member_id: str | None
    carrier_member_id: str | None
    group_policy_number: str | None
    eligibility_begin: str | None
    eligibility_end: str | None
    maintenance_effective: str | None
    coverages: list[dict[str, Any]]
    categories: dict[str, str]
    findings: list[dict[str, Any]] = field(default_factory=list)
    set_findings: list[str] = field(
        default_factory=list
    )  # family checks made while reading the set
    hashes: Hashes = field(default_factory=dict)  # keyed hashes per key version, never values


MAX_BUCKETS = 64  # a group version's sets spread over at most this many partitions


def group_buckets(sets: int, sets_per_partition: int) -> int:
    """The partitions a group version of ``sets`` sets spreads them over: one up to
    ``sets_per_partition`` (0: always one), then one more per ``sets_per_partition``. A
    partition takes about 1,000 write units a second; a group's sets, each written a few
    times, in one would bound a 500,000-set file (and its 999) to that."""
    if sets_per_partition <= 0 or sets <= sets_per_partition:
        return 1
    return min(MAX_BUCKETS, -(-sets // sets_per_partition))


def interchange_buckets(interchange: InterchangeIndex, sets_per_partition: int) -> dict[str, int]:
    """GS06 -> partitions, for the interchange's groups spread over more than one."""
    counts: dict[str, int] = {}
    for group in interchange.groups:
        group_control = clip(group.control) or "-"
        enrollment = sum(1 for item in group.sets if item.header.set_id == "834")
        counts[group_control] = counts.get(group_control, 0) + enrollment
    return {group: buckets for group, count in counts.items()
            if (buckets := group_buckets(count, sets_per_partition)) > 1}  # fmt: skip


def plan_interchange(
    interchange: InterchangeIndex,
    source_bucket: str,
    source_key: str,
    received_at: datetime,
    zone: tzinfo,
    buckets: dict[str, int] | None = None,
) -> TrackedInterchange:
    """What will be stored for one interchange of an outbound 834 (from the pass-1 index);
    ``buckets``: GS06 -> partitions of a group spread over more than one
    (``interchange_buckets``)."""
    header = interchange.header
    our, partner, control = clip(header.sender_id), clip(header.receiver_id), clip(header.control)
    digest = interchange.digest
    sets: list[TrackedSet] = []
    for group in interchange.groups:
        group_control = clip(group.control) or "-"
        for item in group.sets:
            if item.header.set_id != "834":
                continue
            tracked = _plan_set(item, our, partner, control, group_control, digest, received_at,
                                zone)  # fmt: skip
            tracked.buckets = (buckets or {}).get(group_control, 1)
            sets.append(tracked)
    findings = [finding_detail(f) for f in interchange.findings[:MAX_FINDINGS_KEPT]]
    sent_at = sets[0].sent_at if sets else iso(sending_time(header.sent_at, zone, received_at)[0])
    if clipped(header.sender_id, header.receiver_id, header.control):
        findings.append(finding_detail(_too_long("ISA06, ISA08 or ISA13")))
    return TrackedInterchange(
        our_id=our, partner=partner, interchange_control=control,
        interchange_date=clip(header.date), interchange_time=clip(header.time), digest=digest,
        source_bucket=source_bucket, source_key=source_key, received_at=iso(received_at),
        sent_at=sent_at, groups=len(interchange.groups), sets=sets, findings=findings,
        sequence=header.sequence,
    )  # fmt: skip


def _plan_set(
    item: SetIndex, our: str, partner: str, interchange_control: str, group_control: str, digest: str,
    received_at: datetime, zone: tzinfo, *, notes: bool = True,
) -> TrackedSet:  # fmt: skip
    """``notes``: add the planning warnings (dates, lengths); the file's own plan does, a
    part of a large file does not (the finisher merges the parts' findings into it)."""
    control = clip(item.header.control)
    identifier = set_id(our, partner, group_control, interchange_control, digest, control)
    sent, dated = sending_time(item.header.sent_at, zone, received_at)
    sent_at = iso(sent)
    tracked = TrackedSet(
        set_id=identifier, our_id=our, partner=partner,
        payer_name=clip(item.payer_name, LONG), reference=clip(item.reference),
        interchange_control=interchange_control,
        group_control=group_control, transaction_control=control,
        implementation=clip(item.header.implementation), digest=digest, sent_at=sent_at,
        members=item.members, segments=item.segments,
    )  # fmt: skip
    notes_found = [dated] if dated is not None else []
    if clipped(item.header.control, item.header.group_control, item.header.implementation):
        notes_found.append(_too_long("GS06, ST02 or ST03"))
    for finding in [*notes_found, *item.findings] if notes else item.findings:
        tracked.add_finding(finding)
    return tracked


def track_member(
    member: MemberTransaction,
    tracked: TrackedSet,
    findings: list[Finding],
    keyring: Keyring | None = None,
) -> TrackedMember:
    """The stored form of one member transaction: no name, SSN, birth date or address; with
    a ``keyring``, keyed hashes of name, birth date, gender, SSN (for reconciliation) and
    of first name and birth date (who a dependent without a member id is)."""
    coverages = [
        {
            "maintenance_type": clip(coverage.maintenance_type),
            "insurance_line": clip(coverage.insurance_line),
            "plan": clip(coverage.plan, LONG),
            "coverage_level": clip(coverage.coverage_level),
            "benefit_begin": clip(coverage.benefit_begin),
            "benefit_end": clip(coverage.benefit_end),
            "class_of_contract": clip(coverage.class_of_contract, LONG),
            "policy_number": clip(coverage.policy_number, LONG),
            "internal_control": clip(coverage.internal_control, LONG),
        }
        for coverage in member.coverages[:MAX_COVERAGES]
    ]
    categories = {
        clip(name, LONG): clip(value, LONG)
        for name, value in list(member.reporting_categories.items())[:MAX_CATEGORIES]
    }
    ids = (member.subscriber_id, member.member_supplemental_id, member.carrier_member_id,
           member.group_policy_number)  # fmt: skip
    texts = (member.maintenance_reason, member.eligibility_begin, member.eligibility_end,
             member.maintenance_effective)  # fmt: skip
    subscriber_id = clip(member.subscriber_id, ID)  # the family key and the field alike
    long_values = (
        clipped(*ids, size=ID)
        or clipped(*texts)
        or len(member.coverages) > MAX_COVERAGES
        or (len(member.reporting_categories) > MAX_CATEGORIES)
    )
    kept = [_too_long("member identifiers, dates or loops")] if long_values else []
    return TrackedMember(
        set_id=tracked.set_id, set_version=tracked.version, our_id=tracked.our_id,
        partner=tracked.partner, sent_at=tracked.sent_at, ordinal=member.ordinal,
        first_position=member.first_position, last_position=member.last_position,
        subscriber_indicator=clip(member.subscriber_indicator),
        relationship=clip(member.relationship), maintenance_type=clip(member.maintenance_type),
        maintenance_reason=clip(member.maintenance_reason),
        benefit_status=clip(member.benefit_status), subscriber_id=subscriber_id,
        member_id=clip(member.member_supplemental_id, ID),
        carrier_member_id=clip(member.carrier_member_id, ID),
        group_policy_number=clip(member.group_policy_number, ID),
        eligibility_begin=clip(member.eligibility_begin),
        eligibility_end=clip(member.eligibility_end),
        maintenance_effective=clip(member.maintenance_effective), coverages=coverages,
        categories=categories,
        findings=[finding_detail(f) for f in (kept + list(findings))[:MAX_FINDINGS_KEPT]],
        hashes=member_hashes(member, keyring) if keyring else {},
    )  # fmt: skip


def plan_part_set(
    header: TransactionHeader, our: str, partner: str, interchange_control: str, digest: str,
    received_at: datetime, zone: tzinfo,
) -> TrackedSet:  # fmt: skip
    """A set met while reading one part of a large file; the whole file's index gives its
    counts when the file is finished (``ingest.parts``)."""
    return _plan_set(
        SetIndex(header), our, partner, interchange_control, clip(header.group_control) or "-",
        digest, received_at, zone, notes=False,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class InsurerMember:
    """One member as the insurer's effectuation 834 states it: what is kept of it (codes,
    identifiers, coverages; no name, no birth date, no address)."""

    our_id: str
    partner: str
    record_id: str
    at: str
    subscriber_id: str
    member_id: str | None
    subscriber_indicator: str
    relationship: str
    maintenance_type: str
    coverages: list[dict[str, Any]]
    carrier_member_id: str | None
    policy_ids: list[str]
    source_key: str
    hashes: Hashes = field(default_factory=dict)  # the person's keyed hash only
