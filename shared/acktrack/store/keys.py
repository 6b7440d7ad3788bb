"""Key formats of the single table. Control numbers are unique only per sender and
partner, so every correlation key carries both trading-partner ids.

    IC#<our>#<partner>#<isa13>        V#<digest>                      interchange version
    GS#<our>#<partner>#<gs06>         V#<isa13>#<digest>              group version marker
    GS#<our>#<partner>#<gs06>         SET#<isa13>#<digest>#<st02>     transaction set
    GS#<our>#<partner>#<gs06>#B<nn>   SET#<isa13>#<digest>#<st02>     a set of a large group
    GS#<our>#<partner>#<gs06>         W#<set sk>#<family>             a family awaiting its answer
    GS#<our>#<partner>#<gs06>         W#<set sk>#R#<hash>             a set to put back in the index
    FAM#<family>                      M#<sent at>#<set id>#<ordinal>  member transaction
    FAM#<family>                      E#<record id>                   insurer effectuation record
    FAM#<family>                      Q#<sent at>#<target>#<kind>     data-quality finding
    FAM#<family>                      R#<at>#<resolution id>          an operator's resolution
    FAM#<family>                      W#<set pk>|<set sk>             a set whose answer it awaits
    FAM#<family>                      X#<action hash>                 an expected action
    FAM#<family>                      Y#<row hash>                    an insurer's error report row
    ACK#GS#<our>#<partner>#<gs06>     <ack id>                        a 999's response for a group
    ACK#IC#<our>#<partner>#<isa13>    <ack id>                        a TA1
    OBJ#<bucket>#<key hash>           V#<version>                     one S3 object's outcome
    STAT#<our>#<partner>              D#<yyyy-mm-dd>#<shard>          counters (sent day, shard)
    PARTNERS                          <our>#<partner>                 the partners seen
    NOTICE#<kind>#<hash>              N                               duplicates, reuse, ambiguity
    JOB#<job id>                      JOB | PART#<index>              a large file fanned out in parts
    ROSTER#<our>#<partner>#<shard>    F#<family>                      a family ever sent (its id)
    ROSTER#<our>#<partner>            SINCE                           when the roster began
    SEQ#<our>#<partner>#<dir>#<level> N#<number>                      a control number seen

<family> is a hash of (our id, partner, subscriber id): a subscriber's transactions, the
insurer's effectuation records and the findings about them share one partition, read
with one strongly consistent query; the id itself never appears in a key.

Counters (``counter_sk``): per insurer, sent day and shard, the counts and histograms
``acktrack stats`` and the report's totals read (``domain.tally``); a period is one query
(sk between two days), summed over shards. Each write names the shard of what it moves
(an interchange, a batch of sets, a family), so concurrent writers seldom meet on one
item and no item is named in every transaction of a big file. Items written before the
shards (``ALL`` and ``D#<yyyy-mm-dd>``) are still read and summed; nothing writes them.

Sparse index "report" (rk, rs) holds only what the report must show: open sets
(OPEN#<shard>), additions awaiting effectuation (EFFECT#<shard>), data-quality findings
(QUALITY#<shard>), operators' resolutions (RESOLVED#<shard>, by time: the report lists its
window's), unmatched acknowledgments (UNMATCHED), quarantined files (QUARANTINE), notices
(NOTICE) and files of the usage not tracked (OTHERUSAGE). These four hold rs =
<ISO time>#...: the file's arrival (a notice: that of the file that last raised it), so the
report reads its window only, with a key condition (rs from the window's start to
TIME_END); they expire (TTL) with the raw files' retention (RawRetentionDays). A notice
written before notices were kept by time holds <kind>#<pk>, after every time
(``LEGACY_NOTICES``), and is read apart.
Index "lookup" (uk, us) finds a set's members by segment position (MB#<set id>#<chunk>,
P#<position>: the report's detail and IK3 attribution) and a partner's sets by time
(SETS#<our>#<partner>: statistics).

A group version of more than ``SetsPerPartition`` sets (an exchange's one-family-a-set
file: hundreds of thousands) spreads its sets, and the watches beside them, over
``buckets`` partitions GS#...#B<nn>, chosen by a hash of ST02 (``set_bucket``), and their
lookup entries over SETS#<our>#<partner>#<nn>. The count is on the version marker
(``buckets``), where every reader of the group finds it; a one-partition group (every
group of up to ``SetsPerPartition`` sets) has none, and its keys are as they ever were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acktrack.domain.identifiers import ID, LONG, SHORT, clip, set_id, short_hash

if TYPE_CHECKING:
    from acktrack.domain.tracked import SetVersion, TrackedInterchange, TrackedMember

__all__ = ["ID", "LONG", "SHORT", "clip", "set_id", "short_hash"]  # with the key formats below

OPEN_SHARDS = 4  # open sets spread over this many index partitions
MEMBER_CHUNK = 20_000  # segment positions per member partition (about 700 members)

REPORT_UNMATCHED = "UNMATCHED"
REPORT_QUARANTINE = "QUARANTINE"
REPORT_NOTICE = "NOTICE"
REPORT_OTHER_USAGE = "OTHERUSAGE"  # files holding interchanges of the usage not tracked
TIME_END = "9999"  # sorts after every rs that starts with an ISO time
LEGACY_NOTICES = TIME_END  # notices written as <kind>#<pk> sort after it (kinds are a-z)


def notice_rs(at: str, pk: str) -> str:
    """A notice in the report index: by the arrival of the file that last raised it."""
    return f"{at}#{pk}"


def interchange_pk(our: str, partner: str, interchange_control: str) -> str:
    return f"IC#{our}#{partner}#{interchange_control}"


def interchange_sk(digest: str) -> str:
    return f"V#{digest[:20]}"


def group_pk(our: str, partner: str, group_control: str | None, bucket: int | None = None) -> str:
    """A group's partition; ``bucket``: one of the partitions a large group version's sets
    spread over (``set_bucket``). The group versions and every small group's sets stay in
    the first."""
    base = f"GS#{our}#{partner}#{group_control or '-'}"
    return base if bucket is None else f"{base}#B{bucket:02d}"


def set_bucket(transaction_control: str, buckets: int) -> int | None:
    """The partition of a set of a group version spread over ``buckets`` (None: one, the
    group's own): a hash of its ST02, so a 999's reader finds it from the ST02 alone."""
    return None if buckets <= 1 else shard(transaction_control, shards=buckets)


def set_pk(our: str, partner: str, group_control: str | None, transaction_control: str,
           buckets: int = 1) -> str:  # fmt: skip
    return group_pk(our, partner, group_control, set_bucket(transaction_control, buckets))


def bucket_pks(our: str, partner: str, group_control: str | None, buckets: int) -> list[str]:
    """Every partition a group version's sets are in."""
    if buckets <= 1:
        return [group_pk(our, partner, group_control)]
    return [group_pk(our, partner, group_control, bucket) for bucket in range(buckets)]


def group_version_sk(interchange_control: str, digest: str) -> str:
    return f"V#{interchange_control}#{digest[:20]}"


def set_sk(interchange_control: str, digest: str, transaction_control: str) -> str:
    return f"SET#{interchange_control}#{digest[:20]}#{transaction_control}"


def set_controls(group_key: str, set_key: str) -> tuple[str, str, str]:
    """(ISA13, GS06, ST02) of a set, read back from its keys (``group_pk``, ``set_sk``)."""
    _, interchange_control, _, transaction_control = set_key.split("#", 3)
    base, _, last = group_key.rpartition("#")
    if last[:1] == "B" and last[1:].isdigit() and base.count("#") >= 3:  # a bucket's partition
        last = base.rpartition("#")[2]
    return interchange_control, last, transaction_control


def of_interchange(version: TrackedInterchange | SetVersion) -> tuple[str, str]:
    """(pk, sk) of an interchange version, or of the one a set came in."""
    return (
        interchange_pk(version.our_id, version.partner, version.interchange_control),
        interchange_sk(version.digest),
    )


def of_set(version: SetVersion) -> tuple[str, str]:
    """(pk, sk) of a transaction set."""
    return (
        set_pk(
            version.our_id,
            version.partner,
            version.group_control,
            version.transaction_control,
            version.buckets,
        ),
        set_sk(version.interchange_control, version.digest, version.transaction_control),
    )


def of_member(member: TrackedMember) -> tuple[str, str]:
    """(pk, sk) of a member transaction: its family's partition, then when it was sent."""
    return (
        family_pk(member.our_id, member.partner, member.subscriber_id, member.set_id),
        member_sk(member.sent_at, member.set_id, member.ordinal),
    )


def member_lookup(set_identifier: str, position: int) -> str:
    """Partition of the lookup index holding a set's members around ``position``."""
    return f"MB#{set_identifier}#{position // MEMBER_CHUNK}"


def position_key(position: int) -> str:
    return f"P#{position:09d}"


def member_sk(sent_at: str, set_identifier: str, ordinal: int) -> str:
    return f"M#{sent_at}#{set_identifier}#{ordinal:07d}"


def open_shard(set_identifier: str) -> str:
    return f"OPEN#{int(set_identifier[:4], 16) % OPEN_SHARDS}"


def group_ack_pk(our: str, partner: str, group_control: str) -> str:
    return f"ACK#GS#{our}#{partner}#{group_control}"


def ack_chunk_pk(ack_pk: str, ack_id: str) -> str:
    """The partition of one large 999's set responses, in chunks beside the acknowledgment."""
    return f"ACKC#{short_hash(ack_pk, ack_id, size=32)}"


def interchange_ack_pk(our: str, partner: str, interchange_control: str) -> str:
    return f"ACK#IC#{our}#{partner}#{interchange_control}"


def object_pk(bucket: str, key: str) -> str:
    return f"OBJ#{bucket}#{short_hash(key, size=32)}"


def counter_pk(our: str, partner: str) -> str:
    return f"STAT#{our}#{partner}"


# Counter items per insurer and sent day. 16: two writers (Lambdas answering, ingesting,
# reconciling at once: a few to tens) meet on one item once in 16; a month of one insurer
# is 480 items of well under 2 KB, one or two pages of one query.
COUNTER_SHARDS = 16


def counter_sk(day: str, shard_number: int) -> str:
    """A counter item: the sent day, then the shard (``counter_shard``)."""
    return f"D#{day}#{shard_number:02d}"


def counter_shard(*parts: str) -> int:
    """The shard a writer names, from what it writes (a set id, an interchange, a family)."""
    return shard(*parts, shards=COUNTER_SHARDS)


def counter_day(sk: str) -> str | None:
    """The sent day of a counter item (None: the legacy ``ALL`` item)."""
    return sk[2:12] if sk.startswith("D#") else None


def counter_sharded(sk: str) -> bool:
    """A counter item of the shards (legacy ``ALL`` and ``D#<day>`` items count the same
    moves twice: ``ALL`` the totals, ``D#<day>`` its day)."""
    return sk.startswith("D#") and sk.count("#") == 2


ROSTER_SHARDS = 16  # an insurer's roster spread over this many partitions


def roster_key(our: str, partner: str, subscriber_id: str) -> tuple[str, str]:
    """A family's roster item: the insurer's shard (by the family's hash), the family."""
    family = short_hash(our, partner, subscriber_id, size=32)
    return f"ROSTER#{our}#{partner}#{int(family[:4], 16) % ROSTER_SHARDS:02d}", f"F#{family}"


def roster_since_key(our: str, partner: str) -> tuple[str, str]:
    return f"ROSTER#{our}#{partner}", "SINCE"


def family_pk(our: str, partner: str, subscriber_id: str | None, set_identifier: str = "") -> str:
    """A subscriber's family partition (a hash, so the id is not in a key)."""
    if not subscriber_id:
        return f"FAM#NONE#{set_identifier}"  # no REF*0F: a family of its own set
    return f"FAM#{short_hash(our, partner, subscriber_id, size=32)}"


def watch_sk(set_key: str, family: str) -> str:
    """A family whose duplicate question this set's answer decides (beside the set)."""
    return f"W#{set_key}#{family}"


def reopen_sk(set_key: str, reopen_pk: str, reopen_key: str) -> str:
    """Beside a set whose confirmation closed members of another set the report took out of
    its index: that set goes back in if this one's answer changes."""
    return f"W#{set_key}#R#{short_hash(reopen_pk, reopen_key, size=16)}"


def watched_set_sk(watch: str) -> str:
    """The set sk a watch (``watch_sk`` or ``reopen_sk``) sits beside."""
    body = watch[2:]
    for marker in ("#R#", "#FAM#"):
        if marker in body:
            return body.rsplit(marker, 1)[0]
    return body


def watch_marker(set_pk: str, set_key: str) -> str:
    """In the family's partition: the set whose answer it waits on (``watched_set``)."""
    return f"W#{set_pk}|{set_key}"


def watched_set(marker: str) -> tuple[str, str]:
    set_pk, _, set_key = marker[2:].partition("|")
    return set_pk, set_key


def watch_prefix(set_key: str) -> str:
    """The watches of one set; with a set sk's prefix, of a group version's sets."""
    return f"W#{set_key}"


def resolution_sk(at: str, resolution_id: str) -> str:
    return f"R#{at}#{resolution_id}"


def shard(*parts: str, shards: int = OPEN_SHARDS) -> int:
    return int(short_hash(*parts, size=8), 16) % shards


EFFECT_SHARDS = 32  # additions awaiting effectuation: per member, so one big set is not one hot key


def effect_shard(set_identifier: str, ordinal: int) -> str:
    """Members of one set spread over EFFECT_SHARDS index partitions (a GSI key takes about
    1,000 writes a second; a 100,000-member set written in minutes would throttle one key)."""
    return f"EFFECT#{(int(set_identifier[:8], 16) + ordinal) % EFFECT_SHARDS}"


def quality_shard(family: str) -> str:
    return f"QUALITY#{shard(family)}"


def resolution_shard(family: str) -> str:
    """Operators' resolutions, spread like findings (a bulk resolve writes thousands at once)."""
    return f"RESOLVED#{shard(family)}"


SET_LOOKUP_SHARDS = 16  # the sets of a spread group version, in the lookup index


def sets_key(our: str, partner: str, bucket: int | None = None) -> str:
    """A partner's sets by time in the lookup index: a small group's in one partition, a
    spread group version's over ``SET_LOOKUP_SHARDS`` more (by its bucket)."""
    base = f"SETS#{our}#{partner}"
    return base if bucket is None else f"{base}#{bucket % SET_LOOKUP_SHARDS:02d}"


def sets_keys(our: str, partner: str) -> list[str]:
    """Every lookup partition of a partner's sets (``sets_key``)."""
    return [sets_key(our, partner)] + [sets_key(our, partner, n) for n in range(SET_LOOKUP_SHARDS)]


def sequence_pk(our: str, partner: str, direction: str, level: str) -> str:
    """Control numbers seen with an insurer (``domain.sequences``): ours out, its in."""
    return f"SEQ#{our}#{partner}#{direction}#{level}"


def sequence_sk(control: str) -> str:
    return f"N#{int(control):012d}"


EXPECT_SHARDS = 16  # open expected actions: a day's extract of a million writes them at once


def expected_sk(action_id: str) -> str:
    """An expected action in its family's partition (``domain.expected``)."""
    return f"X#{short_hash(action_id, size=24)}"


def expected_index(action_id: str, expected_by: str) -> tuple[str, str]:
    """(rk, rs) of an expected action not sent yet: the report reads those due by its time."""
    digest = short_hash(action_id, size=24)
    return f"EXPECT#{shard(action_id, shards=EXPECT_SHARDS):02d}", f"{expected_by}#{digest}"


def notice_pk(kind: str, *identity: str) -> str:
    return f"NOTICE#{kind}#{short_hash(kind, *identity)}"


def job_pk(job: str) -> str:
    return f"JOB#{job}"


def part_sk(index: int) -> str:
    return f"PART#{index:05d}"


RECONCILIATIONS = "RECON"  # the report index partition of reconciliations, by arrival


def reconciliation_pk(our: str, partner: str) -> str:
    return f"RECON#{our}#{partner}"


def reconciliation_sk(as_of: str, digest: str) -> str:
    return f"F#{as_of}#{digest}"


OUTBOX_SHARDS = 16  # events waiting to be published: a 999 for a million sets writes many


def outbox_key(first_event_id: str, written_at: str, batch_id: str) -> tuple[str, str]:
    """An outbox item: a shard from its first event, ordered by when it was written."""
    return f"OUT#{int(first_event_id[:8], 16) % OUTBOX_SHARDS:02d}", f"{written_at}#{batch_id}"


def outbox_pks() -> list[str]:
    return [f"OUT#{number:02d}" for number in range(OUTBOX_SHARDS)]


ANNOUNCED_PK = "ANNOUNCED"  # what the report announced last, one item per state


def announced_key(key: str) -> tuple[str, str]:
    return ANNOUNCED_PK, key
