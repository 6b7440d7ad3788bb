"""`acktrack stats` and `acktrack member`: answers from stored state.

stats: per insurer, for the sent days since a date, from the counters kept at write time
(``domain.tally``: one query per insurer, however many sets): member transactions sent,
the share rejected and unconfirmed, which error codes account for what share of the
rejections, and the hours from sending to the first 999 and to confirmation, median and
95th percentile at hour-bucket resolution. The per-person figures need each person's
history: they read the members sent since the date and their families, within a budget.

member: one subscriber's timeline, every file, acknowledgment, effectuation and
finding in time order. Nothing personal is stored, so nothing personal can be shown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from acktrack.correlate.enrollments import SetStatuses, family_ledger
from acktrack.domain.family import KINDS
from acktrack.domain.ledger import Attempt, AttemptState, ClosedBy, Enrollment
from acktrack.domain.ports import InsightSource
from acktrack.domain.sequences import INBOUND, INTERCHANGE, usual_interval
from acktrack.domain.status import Status, member_status
from acktrack.domain.tally import Tally, bucket_bounds, quantile_bucket, rejection_codes
from acktrack.report.cells import printable
from acktrack.report.people import first_attempts, median, percentile
from acktrack.report.reasons import about_member, describe_ack, describe_error
from acktrack.report.reconciliation import match_rate
from acktrack.x12 import codes
from acktrack.x12.records import iso_date

if TYPE_CHECKING:
    from acktrack.domain.stored import StoredMember, StoredSet

# Families `acktrack stats` reads for the per-person figures, over every insurer (each gets
# its share): about one query a family, so stats stays within a few hundred requests.
STATS_PEOPLE = 200
HOURS_NOTE = (
    "hours from hour buckets (1 h wide to 48 h, 6 h to a week, a day to 30 days): "
    "a median or p95 is the lower edge of the bucket holding it"
)


def error_codes(item: StoredSet) -> set[str]:
    """The codes a rejected set's acknowledgments carry (TA1 notes, AK9, IK5, IK3, IK4)."""
    return rejection_codes(item.acks.as_dict() if item.acks is not None else {})


def code_meaning(code: str) -> str:
    scheme, _, value = code.partition(" ")
    value = value.split(" ")[0]
    table = {
        "TA1": codes.TA1_NOTE,
        "AK9": codes.AK9_ERROR,
        "IK5": codes.IK5_ERROR,
        "IK3": codes.IK3_ERROR,
        "IK4": codes.IK4_ERROR,
    }.get(scheme)
    return codes.describe(table, value) if table else ""


def _people_figures(
    store: InsightSource,
    our: str,
    partner: str,
    sets: Iterable[StoredSet],
    since: str,
    sla_hours: float,
    budget: int,
) -> dict[str, Any]:
    """Per person (enrollment), from the first attempt: how long until confirmed, and whether
    the first attempt itself was accepted. Reads the members of ``sets`` (oldest first) and
    their families, at most ``budget`` families."""
    statuses = SetStatuses(store)
    now = datetime.now(UTC)
    found = first_attempts(
        sets,
        store.members_of_set,
        lambda subscriber_id: family_ledger(
            store, statuses, our, partner, subscriber_id, now, sla_hours
        ),
        since,
        remember=statuses.remember,
        budget=budget,
    )
    return {
        "confirmations": len(found.hours),  # people whose first run of attempts was confirmed
        "hours_to_confirmation_median": median(found.hours),
        "hours_to_confirmation_p95": percentile(found.hours, 0.95),
        "first_pass_acceptance": found.acceptance,
        "first_attempts_answered": found.answered,
        "people_read": found.people,
        "people_capped": found.capped,
    }


def _hours(histogram: Mapping[int, int], name: str) -> dict[str, Any]:
    """Median and p95 of a histogram: each a bucket's lower edge, with the bucket."""
    found: dict[str, Any] = {}
    for label, share in (("median", 0.5), ("p95", 0.95)):
        index = quantile_bucket(histogram, share)
        low, high = bucket_bounds(index) if index is not None else (None, None)
        found[f"{name}_{label}"] = low
        found[f"{name}_{label}_bucket"] = [low, high] if index is not None else None
    return found


def stats(
    store: InsightSource, since: datetime, sla_hours: float = 48.0, people: int = STATS_PEOPLE
) -> dict[str, Any]:
    """Counts and hours from the counters of the sent days since ``since`` (a few requests
    per insurer); the per-person figures from the history since ``since``, reading at most
    ``people`` families over every insurer (0: off)."""
    since_text = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    since_day = since_text[:10]
    insurers = []
    latest: dict[tuple[str, str], Any] = {}  # the latest reconciliation per insurer
    for found in store.reconciliations(since_text):
        key = (found.our_id, found.partner)
        known = latest.get(key)
        if known is None or (found.as_of, found.received_at) > (known.as_of, known.received_at):
            latest[key] = found
    partners = sorted(store.partners(), key=lambda p: (p.partner, p.our_id))
    budget = max(1, people // len(partners)) if people > 0 and partners else 0
    everything = Tally()
    for partner in partners:
        tally = Tally()
        for day in store.tallies(partner.our_id, partner.partner, since_day).values():
            tally.add(day)
        everything.add(tally)
        sent, rejected, unconfirmed = tally.members_sent, tally.members_rejected, tally.unconfirmed
        figures: dict[str, Any] = {}
        if budget:
            sets = store.sets_since(partner.our_id, partner.partner, since_text)
            figures = _people_figures(store, partner.our_id, partner.partner, sets, since_text,
                                      sla_hours, budget)  # fmt: skip
        insurers.append(
            {
                "partner": partner.partner,
                "payer_name": partner.payer_name,
                "members_sent": sent,
                "rejected": rejected,
                "unconfirmed": unconfirmed,
                "effectuated": tally.members_effectuated,
                "rejected_share": round(rejected / sent, 4) if sent else 0.0,
                "unconfirmed_share": round(unconfirmed / sent, 4) if sent else 0.0,
                "sets_with_999": sum(n for n in tally.to_999.values() if n > 0),
                **_hours(tally.to_999, "hours_to_999"),
                "confirmed": sum(n for n in tally.to_confirmation.values() if n > 0),
                **_hours(tally.to_confirmation, "hours_sent_to_confirmed"),
                "error_codes": _shares(tally.codes, rejected),
                **figures,
                **_rhythm(store, partner.our_id, partner.partner),
                "reconciliation": _reconciled(latest.get((partner.our_id, partner.partner))),
            }
        )
    sent_all, rejected_all = everything.members_sent, everything.members_rejected
    return {
        "since": since_text,
        "counted": f"member transactions sent on or after {since_day}, from the counters; {HOURS_NOTE}",
        "people": f"per person: first attempts sent since {since_text}, read from their history, "
        f"at most {budget} people per insurer, oldest first" if budget else "per person: not read",
        "members_sent": sent_all,
        "rejected": rejected_all,
        "unconfirmed": everything.unconfirmed,
        "rejected_share": round(rejected_all / sent_all, 4) if sent_all else 0.0,
        "unconfirmed_share": round(everything.unconfirmed / sent_all, 4) if sent_all else 0.0,
        "error_codes": _shares(everything.codes, rejected_all),
        "insurers": insurers,
    }  # fmt: skip


def _reconciled(item: Any) -> dict[str, Any] | None:
    """The insurer's latest population held against ours: its match rate and what differs."""
    if item is None:
        return None
    file = {"theirs": int(item.theirs), "matched": int(item.matched),
            "missing_at_insurer": int(item.missing_at_insurer)}  # fmt: skip
    return {"as_of": iso_date(item.as_of), "match_rate": match_rate(file), "theirs": file["theirs"],
            "ours": int(item.ours), "matched": file["matched"],
            "missing_at_insurer": file["missing_at_insurer"], "insurer_only": int(item.insurer_only),
            "discrepancies": int(item.discrepancies)}  # fmt: skip


def _shares(by_code: Counter[str], rejected: int) -> list[dict[str, Any]]:
    by_code = Counter({code: count for code, count in by_code.items() if count > 0})
    return [
        {
            "code": code,
            "meaning": code_meaning(code),
            "members": count,
            "share_of_rejected": round(count / rejected, 4) if rejected else 0.0,
        }
        for code, count in sorted(by_code.items(), key=lambda item: (-item[1], item[0]))
    ]


def _span(item: dict[str, Any], name: str) -> str:
    """A median and p95 read from hour buckets, as the buckets holding them."""

    def bucket(label: str) -> str:
        low, high = item[f"{name}_{label}_bucket"]
        return f"{low:.0f}+ h" if high is None else f"{low:.0f}-{high:.0f} h"

    return f"{bucket('median')} median, {bucket('p95')} p95"


def render_stats(result: dict[str, Any]) -> str:
    lines = [
        f"Sent since {result['since'][:10]}: {result['members_sent']} member transactions, "
        f"{result['rejected']} rejected ({result['rejected_share'] * 100:.1f}%), "
        f"{result['unconfirmed']} unconfirmed ({result['unconfirmed_share'] * 100:.1f}%)",
        f"  ({result['counted']})",
        f"  ({result['people']})",
    ]
    if result["error_codes"]:
        lines.append("Error codes (share of rejected member transactions):")
        lines += [
            f"  {c['share_of_rejected'] * 100:5.1f}%  {c['code']:<14} {c['meaning']}"
            for c in result["error_codes"]
        ]
    lines.append("By insurer:")
    for item in result["insurers"]:
        timing = (
            f"999 in {_span(item, 'hours_to_999')}"
            if item["hours_to_999_median"] is not None
            else "no 999 yet"
        )
        lines.append(
            f"  {item['partner']:<14} sent {item['members_sent']:>7}  rejected {item['rejected_share'] * 100:5.1f}%  "
            f"unconfirmed {item['unconfirmed_share'] * 100:5.1f}%  {timing} ({item['sets_with_999']} sets)"
        )
        if item["hours_sent_to_confirmed_median"] is not None:
            lines.append(
                f"  {'':<14} confirmed {item['confirmed']} member transactions, "
                f"{_span(item, 'hours_sent_to_confirmed')} from sending"
            )
        if "people_read" in item:
            lines.append(_people_line(item))
        if item.get("last_arrival"):
            usual = item.get("usual_interval_hours")
            lines.append(f"  {'':<14} last file from it {item['last_arrival'][:16]}; usually one every "
                         + (f"{usual} h" if usual is not None else "? h (too few in 30 days)"))  # fmt: skip
        held = item.get("reconciliation")
        if held:
            rate = held["match_rate"]
            lines.append(
                f"  {'':<14} reconciliation as of {held['as_of']}: "
                + (f"{rate * 100:5.1f}% matched" if rate is not None else "nothing to match")
                + f", {held['missing_at_insurer']} missing at the insurer, {held['insurer_only']} "
                f"only at the insurer, {held['discrepancies']} discrepancies"
            )
    return "\n".join(lines) + "\n"


def _rhythm(store: InsightSource, our: str, partner: str) -> dict[str, Any]:
    """The insurer's usual interval between inbound files (last 30 days) and its last one."""
    arrivals = [at for _, at in store.control_numbers(our, partner, INBOUND, INTERCHANGE)]
    interval = usual_interval(arrivals, datetime.now(UTC))
    return {"usual_interval_hours": round(interval.total_seconds() / 3600, 1) if interval else None,
            "last_arrival": max(arrivals) if arrivals else None}  # fmt: skip


def _people_line(item: dict[str, Any]) -> str:
    first = item.get("first_pass_acceptance")
    waited = item.get("hours_to_confirmation_median")
    read = f" ({item['people_read']} people read{', capped' if item['people_capped'] else ''})"
    return (
        f"  {'':<14} people: first attempt accepted "
        + (
            f"{first * 100:5.1f}% of {item['first_attempts_answered']}"
            if first is not None
            else "  -  "
        )
        + (
            f"; {item['confirmations']} people confirmed, {waited:.1f} h median, "
            f"{item['hours_to_confirmation_p95']:.1f} h p95 from the first attempt"
            if waited is not None
            else "; none confirmed yet"
        )
        + read
    )


def timeline(
    store: InsightSource,
    subscriber_id: str,
    partner: str | None = None,
    *,
    as_of: datetime | None = None,
    sla_hours: float = 48.0,
) -> list[dict[str, Any]]:
    """Every event about one subscriber id, oldest first (identifiers and codes only): each
    transaction with the one it resends, each verdict, what closed an attempt, each
    operator's resolution, effectuations and findings."""
    moment = (as_of or datetime.now(UTC)).astimezone(UTC)
    events: list[dict[str, Any]] = []
    sources: dict[tuple[str, str], str] = {}
    shown: set[tuple[Any, ...]] = set()
    statuses = SetStatuses(store)
    for known in store.partners():
        if partner and known.partner != partner:
            continue
        partition = store.family(known.our_id, known.partner, subscriber_id)
        members, records, findings = partition.members, partition.records, partition.findings
        ledger = family_ledger(store, statuses, known.our_id, known.partner, subscriber_id,
                               moment, sla_hours, partition=partition)  # fmt: skip
        for member in members:
            item = store.get_set(member.set_pk, member.set_sk)
            if item is None:
                continue
            key = (item.interchange_pk, item.interchange_sk)
            if key not in sources:
                sources[key] = store.source_key(*key)
            events += _member_events(member, item, sources[key], known.partner, shown,
                                     ledger.of((member.pk, member.sk)))  # fmt: skip
        for resolution in ledger.resolutions:
            closed = sum(1 for e in ledger.enrollments for v in e.closed_by.values()
                         if v == resolution.resolution_id)  # fmt: skip
            whom = (
                f"member {resolution.member_id}"
                if resolution.member_id
                else "every open enrollment"
            )
            reconciled = resolution.kind == ClosedBy.RECONCILIATION
            wrote = resolution.caller if resolution.caller != resolution.by else ""
            state = "confirmed_by_reconciliation" if reconciled else "resolved_by_operator"
            events.append({
                "at": resolution.at, "insurer": known.partner,
                "event": "confirmed by reconciliation" if reconciled else "resolved",
                "text": f"{whom} {'confirmed' if reconciled else 'resolved'} by {printable(resolution.by)}"
                f"{f' (written by {printable(resolution.caller)})' if wrote else ''}: "
                f"{printable(resolution.reason)} ({closed} open attempt{'s' if closed != 1 else ''} "
                f"closed as {state})",
                # Each a field of its own (`member --json`): as stored, never parsed out of text.
                "member_id": resolution.member_id, "by": resolution.by,
                "caller": resolution.caller or None, "reason": resolution.reason, "closed": closed,
            })  # fmt: skip
        for record in records:
            lines = ", ".join(
                f"{c.get('insurance_line')} {c.get('plan')} {c.get('benefit_begin')}-{c.get('benefit_end') or ''}"
                for c in record.coverages or []
            )
            events.append(
                {
                    "at": record.at,
                    "insurer": known.partner,
                    "event": "insurer record",
                    "text": f"effectuation 834: INS03 {record.maintenance_type} member {record.member_id or '-'}; "
                    f"{lines}; file {record.source_key}",
                }
            )
        for finding in findings:
            ref = (finding.target_pk, finding.target_sk)
            if finding.kind == "duplicate_enrollment" and not any(
                ref in e.duplicates for e in ledger.of(ref)
            ):
                continue  # a resend of what was rejected or overdue is no duplicate
            events.append(
                {
                    "at": finding.sent_at,
                    "insurer": known.partner,
                    "event": "finding",
                    "text": f"member {finding.member_id or '-'} INS03 {finding.maintenance_type or '-'}: "
                    f"{finding.kind}: {KINDS.get(finding.kind, '')} ({finding.detail})",
                }
            )
    order = {"sent": 0, "finding": 1, "acknowledgment": 2, "insurer record": 3, "effectuated": 4,
             "closed": 5, "resolved": 6, "confirmed by reconciliation": 6}  # fmt: skip
    return sorted(events, key=lambda e: (e["at"], order.get(e["event"], 9)))


def _now(member: StoredMember, item: StoredSet) -> str:
    """The set's status now, and the member's own where an error report's rows name some
    members of the set only."""
    entries = dict(item.acks.as_dict()) if item.acks is not None else {}
    own = member_status(Status(item.status), entries, subscriber_id=member.subscriber_id,
                        member_id=member.member_id, subscriber=member.subscriber_indicator == "Y",
                        ordinal=int(member.ordinal))  # fmt: skip
    if own == item.status:
        return f"set status now {item.status}"
    return f"status now {own.value} (the set's {item.status}: the insurer's rows name others)"


def _member_events(
    member: StoredMember, item: StoredSet, source: str, partner: str, shown: set[tuple[Any, ...]],
    enrollments: list[Enrollment],
) -> list[dict[str, Any]]:  # fmt: skip
    """One member transaction: sent (and what it resends), its verdicts, how it closed."""
    ref = (member.pk, member.sk)
    lines = ", ".join(
        f"{c.get('insurance_line')} {c.get('plan')} from {c.get('benefit_begin')}"
        for c in member.coverages or []
    )
    who = (
        "subscriber"
        if member.subscriber_indicator == "Y"
        else f"dependent (relationship {member.relationship})"
    )
    meaning = codes.MAINTENANCE_TYPE.get(member.maintenance_type, "?")
    resends = {f"ISA13 {e.resend_of[ref].interchange_control} ST02 {e.resend_of[ref].transaction_control}"
               for e in enrollments if ref in e.resend_of}  # fmt: skip
    again = f"; resend of {', '.join(sorted(resends))}" if resends else ""
    events = [
        {
            "at": member.sent_at,
            "insurer": partner,
            "event": "sent",
            "text": f"INS03 {member.maintenance_type} ({meaning}) "
            f"for member {member.member_id or '-'}, {who}; {lines or 'no coverage'}; file {source} "
            f"ISA13 {item.interchange_control} GS06 {item.group_control} ST02 {item.transaction_control}, "
            f"member {int(member.ordinal)} of the set; {_now(member, item)}{again}",
        }
    ]
    for ack_id, ack in (item.acks.as_dict() if item.acks is not None else {}).items():
        if not about_member(ack, int(member.ordinal)):
            continue  # an error report's row about another member of the set
        mine = [
            e
            for e in ack.get("errors", [])
            if (e.get("member") or {}).get("ordinal") == int(member.ordinal)
        ]
        if not mine and (item.interchange_pk, member.set_sk, ack_id) in shown:
            continue  # a set-level verdict is shown once per set
        shown.add((item.interchange_pk, member.set_sk, ack_id))
        text = describe_ack(ack) + "".join("; " + describe_error(e) for e in mine)
        text = f"ST02 {item.transaction_control}: {text}"
        if ack.get("revoked"):
            text += " (no longer counted: its control number is ambiguous)"
        events.append(
            {"at": ack.get("at") or member.sent_at, "insurer": partner, "event": "acknowledgment",
             "text": text}
        )  # fmt: skip
    if member.effectuated_at:
        policies = ", ".join(member.insurer_policy_ids or []) or "-"
        events.append(
            {
                "at": member.effectuated_at,
                "insurer": partner,
                "event": "effectuated",
                "text": f"member {member.member_id or '-'}: coverage effectuated by the insurer (its member id "
                f"{member.insurer_member_id or '-'}, policy {policies})",
            }
        )
    for enrollment in enrollments:
        if enrollment.states.get(ref) != AttemptState.RESOLVED_BY_RESEND:
            continue
        replacing = enrollment.closed_by[ref]
        closer = next(a for a in enrollment.attempts if _names(a) == replacing)
        events.append({
            "at": closer.confirmed_at or closer.sent_at, "insurer": partner, "event": "closed",
            "text": f"ISA13 {item.interchange_control} ST02 {item.transaction_control} member "
            f"{member.member_id or '-'} {enrollment.line}: resolved_by_resend, {replacing} was confirmed",
        })  # fmt: skip
    return events


def _names(attempt: Attempt) -> str:
    return f"ISA13 {attempt.interchange_control} ST02 {attempt.transaction_control}"


def render_timeline(subscriber_id: str, events: list[dict[str, Any]]) -> str:
    if not events:
        return f"Nothing is tracked for subscriber {subscriber_id}.\n"
    lines = [f"Subscriber {subscriber_id}: {len(events)} events"]
    for event in events:
        lines.append(
            f"  {event['at'][:16].replace('T', ' ')}  {event['insurer']:<14} {event['event']:<15} {event['text']}"
        )
    return "\n".join(lines) + "\n"
