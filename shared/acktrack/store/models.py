"""PynamoDB models of the single table (key layout in ``keys``).

Names, SSNs, birth dates and addresses are never stored: the tracker needs control
numbers, codes and the identifiers an operations team acts on, nothing more.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from acktrack.domain.hashing import HASH_CHARS, KINDS, VERSION_CHARS, Hashes
from acktrack.store import keys

_HASH_BYTES = HASH_CHARS // 2
_VERSION_BYTES = VERSION_CHARS // 2


def pack_hashes(hashes: Hashes) -> bytes | None:
    """Keyed hashes in one small binary value (None when there are none): per key version,
    the version (4 bytes) then one 8-byte hash per kind in ``KINDS`` order, zeros where
    absent. 44 bytes for one version, 88 while a key rotates."""
    if not hashes:
        return None
    empty = bytes(_HASH_BYTES)
    return b"".join(
        bytes.fromhex(version)
        + b"".join(bytes.fromhex(kinds[k]) if k in kinds else empty for k in KINDS)
        for version, kinds in sorted(hashes.items())
    )


def unpack_hashes(packed: bytes | None) -> Hashes:
    if not packed:
        return {}
    found: Hashes = {}
    block = _VERSION_BYTES + _HASH_BYTES * len(KINDS)
    for start in range(0, len(packed) - block + 1, block):
        version = packed[start : start + _VERSION_BYTES].hex()
        kinds = {}
        for number, kind in enumerate(KINDS):
            first = start + _VERSION_BYTES + number * _HASH_BYTES
            part = packed[first : first + _HASH_BYTES]
            if part.strip(b"\0"):
                kinds[kind] = part.hex()
        found[version] = kinds
    return found


class ReportIndex(GlobalSecondaryIndex[Any]):
    """Sparse: open sets, unmatched acknowledgments, quarantined files, notices.

    Declared on each model that uses it: every index partition (rk) holds one kind of
    item, so a query returns instances of the right model."""

    class Meta:
        index_name = "report"
        projection = AllProjection()

    rk = UnicodeAttribute(hash_key=True)
    rs = UnicodeAttribute(range_key=True)


class LookupIndex(GlobalSecondaryIndex[Any]):
    """A set's members by segment position; a partner's sets by time (see ``keys``)."""

    class Meta:
        index_name = "lookup"
        projection = AllProjection()

    uk = UnicodeAttribute(hash_key=True)
    us = UnicodeAttribute(range_key=True)


class Item(Model):
    """Every item of the table has these keys; subclasses add their attributes."""

    class Meta:
        table_name = "acktrack"  # bound at run time (``repository.bind``)
        region = "us-east-1"
        max_retry_attempts = 8
        base_backoff_ms = 50

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class ReportedItem(Item):
    """An item that can appear in the report index while it needs attention."""

    rk = UnicodeAttribute(null=True)
    rs = UnicodeAttribute(null=True)


class InterchangeItem(Item):
    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    interchange_control = UnicodeAttribute()
    interchange_date = UnicodeAttribute()  # ISA09, for telling reused ISA13s apart by TA1
    interchange_time = UnicodeAttribute()  # ISA10
    digest = UnicodeAttribute()
    status = UnicodeAttribute()  # ingesting | complete
    # Complete counts it; settled means what follows (partner, stored acknowledgments, family
    # reconciliation) ran too. A delivery of a complete, unsettled version finishes that.
    settled = BooleanAttribute(null=True)
    source_bucket = UnicodeAttribute()
    source_key = UnicodeAttribute()
    received_at = UnicodeAttribute()
    sent_at = UnicodeAttribute()
    duplicate_sources = ListAttribute(of=UnicodeAttribute, default=list)
    groups = NumberAttribute(default=0)
    sets = NumberAttribute(default=0)
    members = NumberAttribute(default=0)
    group_controls = JSONAttribute(
        default=list
    )  # GS06s of its groups (their sets are found by key)
    group_buckets = JSONAttribute(null=True)  # GS06 -> partitions, of a group spread (keys)
    findings = JSONAttribute(default=list)  # interchange-level findings (capped)
    acks: MapAttribute[str, Any] = MapAttribute(default=dict)  # TA1 id -> summary


class GroupVersionItem(Item):
    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    group_control = UnicodeAttribute()
    interchange_control = UnicodeAttribute()
    digest = UnicodeAttribute()
    sets = NumberAttribute(default=0)
    sent_at = UnicodeAttribute()
    source_key = UnicodeAttribute(default="")
    buckets = NumberAttribute(null=True)  # its sets' partitions, when more than one (keys)

    @property
    def set_pks(self) -> list[str]:
        """Every partition its sets are in."""
        return keys.bucket_pks(self.our_id, self.partner, self.group_control,
                               int(self.buckets or 1))  # fmt: skip

    def set_pk(self, transaction_control: str) -> str:
        return keys.set_pk(self.our_id, self.partner, self.group_control, transaction_control,
                           int(self.buckets or 1))  # fmt: skip


class SetItem(ReportedItem):
    set_id = UnicodeAttribute()
    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    payer_name = UnicodeAttribute(default="")
    reference = UnicodeAttribute(null=True, attr_name="bgn02")  # an 824 may name the set by it
    interchange_control = UnicodeAttribute()
    group_control = UnicodeAttribute()
    transaction_control = UnicodeAttribute()
    implementation = UnicodeAttribute(default="")
    digest = UnicodeAttribute()
    interchange_pk = UnicodeAttribute()
    interchange_sk = UnicodeAttribute()
    sent_at = UnicodeAttribute()
    sent_day = UnicodeAttribute()
    members = NumberAttribute(default=0)
    last_position = NumberAttribute(default=1)
    # Where each INS loop starts, for a set of up to 16 members (IK3 attribution, no read).
    member_starts = ListAttribute(of=NumberAttribute, null=True)
    segments = NumberAttribute(default=0)
    status = UnicodeAttribute(default="sent")
    status_rank = NumberAttribute(default=0)
    status_at = UnicodeAttribute(null=True)  # acknowledgment time of the current status
    first_999_at = UnicodeAttribute(null=True)  # earliest 999 envelope time, for time-to-ack
    acks: MapAttribute[str, Any] = MapAttribute(
        default=dict
    )  # ack id -> summary (codes, attributed errors)
    findings = JSONAttribute(default=list)  # outbound findings: envelope and content (capped)
    finding_count = NumberAttribute(default=0)
    predicted_rejection = BooleanAttribute(default=False)
    revision = NumberAttribute(default=0)  # optimistic lock for status changes
    uk = UnicodeAttribute(null=True)  # SETS#<our>#<partner>: sets by sent time (for stats)
    us = UnicodeAttribute(null=True)
    rostered = BooleanAttribute(null=True)  # its families are in the roster (store/roster.py)
    lookup = LookupIndex()
    report = ReportIndex()


class MemberItem(ReportedItem):
    set_pk = UnicodeAttribute()
    set_sk = UnicodeAttribute()
    set_id = UnicodeAttribute()
    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    sent_at = UnicodeAttribute()
    ordinal = NumberAttribute()
    first_position = NumberAttribute()
    last_position = NumberAttribute()
    subscriber_indicator = UnicodeAttribute(default="")
    relationship = UnicodeAttribute(default="")
    maintenance_type = UnicodeAttribute(default="")
    maintenance_reason = UnicodeAttribute(default="")
    benefit_status = UnicodeAttribute(default="")
    subscriber_id = UnicodeAttribute(null=True)
    member_id = UnicodeAttribute(null=True)  # REF*17, the exchange member id
    carrier_member_id = UnicodeAttribute(null=True)  # REF*23
    group_policy_number = UnicodeAttribute(null=True)
    eligibility_begin = UnicodeAttribute(null=True)
    eligibility_end = UnicodeAttribute(null=True)
    maintenance_effective = UnicodeAttribute(null=True)
    coverages = JSONAttribute(default=list)
    categories = JSONAttribute(default=dict)  # 2750 reporting categories (premium, APTC...)
    findings = JSONAttribute(default=list)
    set_findings = JSONAttribute(default=list)  # data-quality kinds seen in its set (family ids)
    # Keyed hashes (HMAC-SHA256 under the stack's secret, per key version; ``pack_hashes``)
    # of name, birth date, gender, SSN and person (first name and birth date). Never values.
    demographic_hashes = BinaryAttribute(null=True, legacy_encoding=False, attr_name="dh")

    @property
    def hashes(self) -> Hashes:
        return unpack_hashes(self.demographic_hashes)

    @property
    def transaction_control(self) -> str:
        return keys.set_controls(self.set_pk, self.set_sk)[2]  # its set's ST02

    effectuated_by = UnicodeAttribute(null=True)  # the insurer's effectuation record
    effectuated_at = UnicodeAttribute(null=True)
    insurer_member_id = UnicodeAttribute(null=True)  # REF*23 the insurer assigned
    insurer_policy_ids = JSONAttribute(null=True)  # REF*X9 the insurer assigned
    uk = UnicodeAttribute(null=True)  # MB#<set id>#<chunk>
    us = UnicodeAttribute(null=True)  # P#<first segment position>
    expires = TTLAttribute(null=True)  # RetentionDays after sending (DynamoDB TTL deletes it)
    lookup = LookupIndex()
    report = ReportIndex()  # additions wait in EFFECT#<shard> until effectuated


class EffectuationItem(Item):
    """One member of an insurer's effectuation 834 (kept, like acknowledgments, until matched)."""

    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    record_id = UnicodeAttribute()
    at = UnicodeAttribute()
    subscriber_id = UnicodeAttribute()
    member_id = UnicodeAttribute(null=True)
    subscriber_indicator = UnicodeAttribute(default="")
    relationship = UnicodeAttribute(default="")
    maintenance_type = UnicodeAttribute(default="")
    coverages = JSONAttribute(default=list)
    carrier_member_id = UnicodeAttribute(null=True)
    policy_ids = JSONAttribute(default=list)
    source_key = UnicodeAttribute(default="")
    expires = TTLAttribute(null=True)  # RetentionDays after the insurer sent it
    # The person's keyed hashes (first name and birth date), as on member items.
    demographic_hashes = BinaryAttribute(null=True, legacy_encoding=False, attr_name="dh")

    @property
    def hashes(self) -> Hashes:
        return unpack_hashes(self.demographic_hashes)


class QualityItem(ReportedItem):
    """A data-quality or effectuation finding about one member transaction (or insurer record)."""

    kind = UnicodeAttribute()
    detail = UnicodeAttribute(default="")
    target_pk = UnicodeAttribute()
    target_sk = UnicodeAttribute()
    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    subscriber_id = UnicodeAttribute()
    member_id = UnicodeAttribute(null=True)
    maintenance_type = UnicodeAttribute(default="")
    interchange_control = UnicodeAttribute(default="")
    group_control = UnicodeAttribute(default="")
    transaction_control = UnicodeAttribute(default="")
    ordinal = NumberAttribute(default=0)
    sent_at = UnicodeAttribute()
    expires = TTLAttribute(null=True)  # RetentionDays after the evidence came
    report = ReportIndex()


class AckItem(ReportedItem):
    kind = UnicodeAttribute()  # 999 | TA1
    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    target_control = UnicodeAttribute()  # AK102 or TA101
    source_bucket = UnicodeAttribute()
    source_key = UnicodeAttribute()
    received_at = UnicodeAttribute()
    acknowledged_at = UnicodeAttribute()  # the acknowledgment's own envelope time
    status = UnicodeAttribute()  # AK901 or TA104
    detail = JSONAttribute(default=dict)  # the parsed acknowledgment (codes only)
    state = UnicodeAttribute(default="pending")  # applied | unmatched | ambiguous
    reason = UnicodeAttribute(default="")
    expires = TTLAttribute(null=True)  # unmatched or ambiguous: RawRetentionDays after arrival
    report = ReportIndex()


class AckChunkItem(Item):
    """Part of a large 999's set responses (``Repository.put_ack``): zlib-compressed JSON."""

    sets = BinaryAttribute(legacy_encoding=False)


class ObjectItem(ReportedItem):
    bucket = UnicodeAttribute()
    key = UnicodeAttribute()
    outcome = UnicodeAttribute()  # tracked | duplicate | acknowledgments | quarantined
    reason = UnicodeAttribute(default="")
    received_at = UnicodeAttribute()
    size = NumberAttribute(default=0)
    quarantine_key = UnicodeAttribute(null=True)
    detail = JSONAttribute(default=dict)
    expires = TTLAttribute(null=True)  # listed ones: RawRetentionDays after arrival
    report = ReportIndex()


class CounterItem(Item):
    """Counts by partner, sent day and shard (``keys.counter_sk``), moved only in
    transactions with the transitions that change them. Besides these fields, one number
    attribute per histogram bucket and rejection code (``domain.tally``), read back in
    ``tallied``."""

    members_sent = NumberAttribute(default=0)
    sets_sent = NumberAttribute(default=0)
    members_accepted = NumberAttribute(default=0)
    members_accepted_with_errors = NumberAttribute(default=0)
    members_rejected = NumberAttribute(default=0)
    members_effectuated = NumberAttribute(default=0)
    sets_accepted = NumberAttribute(default=0)
    sets_accepted_with_errors = NumberAttribute(default=0)
    sets_rejected = NumberAttribute(default=0)

    tallied: dict[str, int]  # every number attribute as read (set by ``_instantiate``)

    @classmethod
    def _instantiate(cls, attribute_values: dict[str, dict[str, Any]]) -> CounterItem:
        instance = super()._instantiate(attribute_values)
        instance.tallied = {
            name: int(value["N"]) for name, value in attribute_values.items() if "N" in value
        }
        return instance


class EffectuationCountItem(Item):
    """Marks a member counted in ``members_effectuated`` (sk ``C#`` + the member's sk, in
    its family partition). The count follows this item, not the member item, which a
    second ingest of the same interchange rewrites whole."""

    expires = TTLAttribute(null=True)


class WatchItem(Item):
    """A family with an addition that repeats one of this set's, waiting for the set's
    answer to judge it (``families.FamilyStore``): in the set's partition, so a 999 or TA1
    finds the families to judge again with one query per group."""

    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    subscriber_id = UnicodeAttribute(null=True)  # the family waiting (None: a set to reopen)
    expires = TTLAttribute(null=True)
    # Or a set the report took out of its index, to put back if this set's answer changes.
    reopen_pk = UnicodeAttribute(null=True)
    reopen_sk = UnicodeAttribute(null=True)


class ResolutionItem(ReportedItem):
    """An operator closed a subscriber's open enrollments (all, or one member's): an event,
    kept with the family; nothing it closes is deleted. An operator's (kind None) sits in the
    report index by time (RESOLVED#<shard>) so that the report lists its window's."""

    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    subscriber_id = UnicodeAttribute()
    member_id = UnicodeAttribute(null=True)  # None: every open enrollment of the subscriber
    resolution_id = UnicodeAttribute()
    at = UnicodeAttribute()
    by = UnicodeAttribute()  # who resolves, as claimed (--by)
    caller = UnicodeAttribute(null=True)  # who really wrote it: STS caller ARN, or the OS user
    reason = UnicodeAttribute()
    closed = NumberAttribute(default=0)  # member transactions it closed when recorded
    refs = UnicodeSetAttribute(null=True)  # those transactions' member items ("pk|sk")
    # RetentionDays after it was recorded, and never before what it closed (None: kept).
    expires = TTLAttribute(null=True)
    kind = UnicodeAttribute(null=True)  # ClosedBy; None: an operator (acktrack resolve)
    report = ReportIndex()


class ReconciliationItem(ReportedItem):
    """One insurer population held against ours (monthly reconciliation): counts and codes,
    no value of any personal field. Its discrepancy rows sit beside it in chunks."""

    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    as_of = UnicodeAttribute()  # YYYYMMDD: the population's date (BGN03, or the extract's)
    source = UnicodeAttribute()  # audit_834 | extract
    received_at = UnicodeAttribute()
    theirs = NumberAttribute(default=0)  # members in the insurer's file
    ours = NumberAttribute(default=0)  # members we hold in force (or waiting) with it
    matched = NumberAttribute(default=0)  # on both sides, every field M or D
    discrepancies = NumberAttribute(default=0)  # rows (member x field)
    missing_at_insurer = NumberAttribute(default=0)
    insurer_only = NumberAttribute(default=0)
    confirmed = NumberAttribute(default=0)  # waiting enrollments it confirmed
    by_field = JSONAttribute(default=dict)  # field -> code -> members
    chunks = NumberAttribute(default=0)
    rcno_key = UnicodeAttribute(null=True)  # the RCNO-style file in the reports bucket
    expires = TTLAttribute(null=True)
    report = ReportIndex()


class DiscrepancyChunkItem(Item):
    """Up to CHUNK_ROWS discrepancy rows of one reconciliation (identifiers and non-personal
    values only)."""

    rows = JSONAttribute(default=list)
    expires = TTLAttribute(null=True)


class PartnerItem(Item):
    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    payer_name = UnicodeAttribute(default="")
    first_seen = UnicodeAttribute()
    spread = BooleanAttribute(null=True)  # some group's sets in several partitions (keys)


class NoticeItem(ReportedItem):
    kind = UnicodeAttribute()  # duplicate_interchange | interchange_control_reused | ...
    detail = UnicodeAttribute()
    created_at = UnicodeAttribute()
    keys = UnicodeSetAttribute(null=True)  # S3 keys involved (never logged)
    expires = TTLAttribute(null=True)  # RawRetentionDays after the file that last raised it
    report = ReportIndex()


class JobItem(Item):
    """A file too large for one invocation, fanned out in parts (``ingest.parts``). It holds
    the object it cuts and the file's plan, once: the part orders on the queue name the job
    and their range only."""

    parts = NumberAttribute()
    done = NumberAttribute(default=0)
    done_parts = NumberSetAttribute(null=True)  # a part counts once, however often delivered
    finished = BooleanAttribute(null=True)
    created_at = UnicodeAttribute()
    expires = TTLAttribute(null=True)
    source_bucket = UnicodeAttribute(null=True)  # null: begun before jobs kept their object
    source_key = UnicodeAttribute(null=True)  # an S3 key (it can name a person): never logged
    source_version = UnicodeAttribute(null=True)
    source_size = NumberAttribute(null=True)
    received_at = UnicodeAttribute(null=True)  # the object's arrival (its S3 event time)
    # The file's plan, once (zlib-compressed JSON: interchanges, notices, population); null:
    # begun by a version whose orders carried it.
    plan = BinaryAttribute(null=True, legacy_encoding=False)


class RosterItem(Item):
    """A family ever sent to an insurer (``keys.roster_key``): what monthly reconciliation
    reads in pages, instead of walking every set and its members. The subscriber id is an
    identifier operations needs (it names the family in the reconciliation's rows)."""

    subscriber_id = UnicodeAttribute()
    expires = TTLAttribute(null=True)  # with the family's latest members (RetentionDays)


class RosterSinceItem(Item):
    """When an insurer's roster began: unmarked sets sent before it are walked as before."""

    since = UnicodeAttribute()


class ExpectedItem(ReportedItem):
    """An enrollment action the exchange's system says it took (``domain.expected``), in
    its family's partition; in the report index (EXPECT#<shard>, by when it is due) until
    a member transaction sends it. Ids, codes and times only."""

    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    subscriber_id = UnicodeAttribute()
    member_id = UnicodeAttribute(null=True)
    maintenance_type = UnicodeAttribute()
    effective_date = UnicodeAttribute(null=True)
    action_id = UnicodeAttribute()
    created_at = UnicodeAttribute()
    expected_by = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)  # when the member transaction that sent it was sent
    sent_in = UnicodeAttribute(null=True)  # that transaction's set id
    expires = TTLAttribute(null=True)  # RetentionDays after it was due
    report = ReportIndex()


class ErrorRowItem(Item):
    """A row of an insurer's CSV error report (``domain.error_report``), in its family's
    partition until (and after) it is applied to the set of the member it names."""

    our_id = UnicodeAttribute()
    partner = UnicodeAttribute()
    subscriber_id = UnicodeAttribute()
    member_id = UnicodeAttribute(null=True)
    transaction_control = UnicodeAttribute()
    error_code = UnicodeAttribute()
    message = UnicodeAttribute(default="")  # clipped, neutralised, digits masked
    received_at = UnicodeAttribute()
    applied_to = UnicodeAttribute(null=True)  # <set pk>|<set sk> once applied
    expires = TTLAttribute(null=True)

    @property
    def row_id(self) -> str:
        return self.sk[2:]  # Y#<hash of the file version and line>


class SequenceItem(Item):
    """A control number seen with an insurer (``keys.sequence_pk``), and when first."""

    control = UnicodeAttribute()
    at = UnicodeAttribute()
    expires = TTLAttribute(null=True)


class PartItem(Item):
    """What one part found: per-set counts and findings, family outcomes (no PHI)."""

    result = BinaryAttribute(legacy_encoding=False)  # zlib-compressed JSON
    expires = TTLAttribute(null=True)


class OutboxItem(Item):
    """Events written with the change they announce, until published (``store.outbox``)."""

    notices = JSONAttribute(default=list)  # ``domain.events.Notice.to_dict``s
    expires = TTLAttribute(null=True)


class AnnouncedItem(Item):
    """What the report announced last of one state (``domain.events.Announcement``)."""

    fingerprint = UnicodeAttribute(default="")
    at = UnicodeAttribute(default="")


MODELS: tuple[type[Item], ...] = (
    Item, ReportedItem, InterchangeItem, GroupVersionItem, SetItem, MemberItem, AckItem, AckChunkItem, ObjectItem,
    CounterItem, PartnerItem, NoticeItem, EffectuationItem, QualityItem, JobItem, PartItem,
    ReconciliationItem, DiscrepancyChunkItem, WatchItem, ResolutionItem, RosterItem, RosterSinceItem,
    ExpectedItem, ErrorRowItem, SequenceItem, OutboxItem, AnnouncedItem,
)  # fmt: skip


def bind(table_name: str, region: str, host: str | None = None) -> None:
    """Point every model at the table (Lambda: from settings; local stack: moto).

    The models share one botocore client: PynamoDB would otherwise build a session
    and a client per model class, which costs a cold start several times over.
    """
    for model in MODELS:
        meta: Any = model.Meta
        meta.table_name = table_name
        meta.region = region
        meta.host = host
        model._connection = None
    shared: Any = None
    for model in MODELS:
        connection = model._get_connection().connection
        if shared is None:
            shared = connection.client
        else:
            connection._client = shared
