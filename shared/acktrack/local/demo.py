"""`acktrack demo` (what `make demo` runs): a realistic day on the embedded local stack.

Invented people only. Four insurers; a few hundred members; TA1s and 999s that
accept, partly reject and reject; one insurer that never answers; effectuation 834s
(with moved dates, a changed plan, a termination, a member never sent, and members
never effectuated); data-quality problems (duplicate enrollments, subsidy amounts); an
acknowledgment for something never sent; a file delivered twice and again under a
second name; one file that is not X12 at all; a rejected set corrected and resent, then
accepted; an operator closing a family the insurer confirmed by phone; an insurer's
monthly population held against ours; an 824 rejecting a set its 999 accepted; an insurer
gone quiet with files waiting; a control number never copied here; and the enrollment
system's own list of actions, two of which no 834 ever sent.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from acktrack.local.stack import EmbeddedStack

from acktrack.synthetic.acknowledgments import (
    GroupResponse,
    SetResponse,
    respond,
    write_999,
    write_ta1,
)
from acktrack.synthetic.advice import AdviceItemSpec, write_824
from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation
from acktrack.synthetic.enrollment import EnrollmentSpec, first_of_next_month, write_834
from acktrack.synthetic.population import PopulationSpec, held_members, write_audit_834
from acktrack.synthetic.resend import resend_sets

US = "ACKTRACKEXCH"


@dataclass(frozen=True)
class Insurer:
    id: str
    name: str


PINE = Insurer("PINEHEALTH01", "PINE HEALTH OF NOWHERE")
HARBOR = Insurer("HARBORMUTUAL", "HARBOR MUTUAL IMAGINARY")
SUMMIT = Insurer("SUMMITCARE01", "SUMMIT CARE FICTIONAL HMO")
CEDAR = Insurer("CEDARHEALTH1", "CEDAR HEALTH MADE-UP PLAN")
# The demo's week is short: a run of 5 numbers is enough to call the next one missing
# (production: SequenceHistory 20).
DEMO_PARAMETERS = {"SequenceHistory": 5}
EXPECTED_COLUMNS = (
    "insurer_id,subscriber_id,member_id,maintenance_type,effective_date,action_id,created_at"
)


def build_day(folder: Path, as_of: datetime) -> list[Path]:
    """Write the day's files under folder/outbound and folder/inbound, in arrival order."""
    outbound, inbound = folder / "outbound", folder / "inbound"
    outbound.mkdir(parents=True, exist_ok=True)
    inbound.mkdir(parents=True, exist_ok=True)
    three_days_ago = (as_of - timedelta(days=3)).replace(
        minute=0, second=0, microsecond=0, tzinfo=None
    )
    this_morning = (as_of - timedelta(hours=3)).replace(
        minute=0, second=0, microsecond=0, tzinfo=None
    )
    order: list[Path] = []

    def sent(name: str, spec: EnrollmentSpec) -> bytes:
        buffer = io.BytesIO()
        write_834(spec, buffer)
        (outbound / name).write_bytes(buffer.getvalue())
        order.append(outbound / name)
        return buffer.getvalue()

    def answered(name: str, data: bytes) -> None:
        (inbound / name).parent.mkdir(exist_ok=True)
        (inbound / name).write_bytes(data)
        order.append(inbound / name)

    mix = {"021": 8, "001": 2, "024": 1}
    fifty_days_ago = three_days_ago - timedelta(days=47)
    # Pine Health, seven weeks ago: accepted, then effectuated, all but six members.
    old = sent("pine_834_0000.edi", EnrollmentSpec(
        seed=100, members=60, receiver_id=PINE.id, payer_name=PINE.name, interchange_control=1999,
        first_group_control=9, sent_at=fifty_days_ago, subscriber_id_start=299000001, dependents=0.0,
    ))  # fmt: skip
    answered(
        "pine_999_0000.x12",
        respond(old, insurer_control=6999, sent_at=fifty_days_ago + timedelta(hours=4)),
    )
    buffer = io.BytesIO()
    write_effectuation(old, buffer, EffectuationSpec(insurer_control=6998, sent_at=fifty_days_ago + timedelta(days=10),
                                                     skip={5, 12, 19, 33, 41, 58}))  # fmt: skip
    answered("pine_effectuation_0000.x12", buffer.getvalue())
    # Pine Health: two clean files three days ago, both accepted (TA1 + 999).
    first = sent("pine_834_0001.edi", EnrollmentSpec(
        seed=101, members=120, sets_per_group=2, receiver_id=PINE.id, payer_name=PINE.name,
        interchange_control=2001, sent_at=three_days_ago, maintenance=mix, subscriber_id_start=300000001,
    ))  # fmt: skip
    second = sent("pine_834_0002.edi", EnrollmentSpec(
        seed=102, members=80, receiver_id=PINE.id, payer_name=PINE.name, interchange_control=2002,
        first_group_control=2, sent_at=three_days_ago + timedelta(hours=2), maintenance=mix,
        subscriber_id_start=300100001,
    ))  # fmt: skip
    answered(
        "pine_999_0001.x12",
        respond(first, insurer_control=7001, sent_at=three_days_ago + timedelta(hours=5)),
    )
    # Pine effectuates the first file: two dates moved, a plan changed, one terminated, one stranger.
    buffer = io.BytesIO()
    write_effectuation(first, buffer, EffectuationSpec(
        insurer_control=7003, sent_at=three_days_ago + timedelta(days=2), shift_dates={3, 8}, change_plan={11},
        terminate={15}, never_sent=1,
    ))  # fmt: skip
    answered("pine_effectuation_0001.x12", buffer.getvalue())
    # Harbor Mutual: one file with a bad INS03 in its second set: a partial rejection.
    harbor = sent("harbor_834_0001.edi", EnrollmentSpec(
        seed=201, members=90, sets_per_group=3, receiver_id=HARBOR.id, payer_name=HARBOR.name,
        interchange_control=3001, sent_at=three_days_ago, maintenance=mix, errors=["bad_ins03:40"],
        subscriber_id_start=400000001,
    ))  # fmt: skip
    answered(
        "harbor_999_0001.x12",
        respond(harbor, insurer_control=8001, sent_at=three_days_ago + timedelta(hours=6)),
    )
    # Pine answers the second file late; the same 999 is delivered twice.
    late = respond(second, insurer_control=7002, sent_at=three_days_ago + timedelta(hours=30))
    answered("pine_999_0002.x12", late)
    order.append(inbound / "pine_999_0002.x12")  # S3 delivers at least once
    # Pine's monthly population this morning (an audit 834, BGN08 4): it lost one member (the
    # 2013 failure), holds one on another plan and one under another last name, and holds one
    # person nobody sent.
    population = PopulationSpec(insurer_control=7004, as_of=this_morning - timedelta(hours=1),
                                skip={22}, change_plan={30}, rename={44}, insurer_only=1)  # fmt: skip
    buffer = io.BytesIO()
    write_audit_834(held_members([old, first, second], population), buffer, population,
                    insurer=PINE.id, us=US, payer_name=PINE.name)  # fmt: skip
    answered(f"{PINE.id}/pine_population_0001.x12", buffer.getvalue())  # only in its folder
    # Summit Care: a file three days ago that is never acknowledged, and one this morning.
    sent("summit_834_0001.edi", EnrollmentSpec(
        seed=301, members=45, receiver_id=SUMMIT.id, payer_name=SUMMIT.name, interchange_control=4001,
        sent_at=three_days_ago + timedelta(hours=1), maintenance=mix, subscriber_id_start=500000001,
        errors=["aptc_over_premium:1", "negative_premium:7"],
    ))  # fmt: skip
    morning = sent("summit_834_0002.edi", EnrollmentSpec(
        seed=302, members=30, receiver_id=SUMMIT.id, payer_name=SUMMIT.name, interchange_control=4002,
        first_group_control=2, sent_at=this_morning, subscriber_id_start=500100001,
    ))  # fmt: skip
    buffer = io.BytesIO()
    write_ta1(buffer, sender_id=SUMMIT.id, receiver_id=US, interchange_control=9001,
              sent_at=this_morning + timedelta(minutes=20), acknowledged_control="000004002",
              acknowledged_date=morning[70:76].decode(), acknowledged_time=morning[77:81].decode())  # fmt: skip
    answered("summit_ta1_0002.x12", buffer.getvalue())
    # Harbor sends a 999 for a group nobody sent: kept and reported as unmatched.
    buffer = io.BytesIO()
    write_999(buffer, sender_id=HARBOR.id, receiver_id=US, interchange_control=8002, sent_at=this_morning,
              groups=[GroupResponse("77", [SetResponse("0001", "A")])])  # fmt: skip
    answered("harbor_999_stray.x12", buffer.getvalue())
    # Harbor's first set (30 members) is sent again by mistake: duplicate enrollments.
    sent("harbor_834_0002.edi", EnrollmentSpec(
        seed=201, members=30, receiver_id=HARBOR.id, payer_name=HARBOR.name, interchange_control=3002,
        first_group_control=2, sent_at=this_morning, maintenance=mix, subscriber_id_start=400000001,
        coverage_start=first_of_next_month(three_days_ago.date()),
    ))  # fmt: skip
    # Harbor's team corrects the rejected set (INS03 099) and sends it again this morning; the
    # 999 accepts it: the family leaves the unconfirmed list, and the resend is no duplicate.
    corrected = resend_sets(harbor, {"0002"}, interchange_control=3003, group_control=3,
                            sent_at=this_morning - timedelta(hours=1),
                            corrections={("INS", 3, "099"): "021"})  # fmt: skip
    (outbound / "harbor_834_0003_resend.edi").write_bytes(corrected)
    order.append(outbound / "harbor_834_0003_resend.edi")
    answered("harbor_999_0003.x12", respond(corrected, insurer_control=8003, sent_at=this_morning))
    # Harbor's business rules refuse its third set a day after the 999 accepted it (an 824):
    # those 30 people are not enrolled, whatever the 999 said.
    buffer = io.BytesIO()
    write_824(buffer, sender_id=HARBOR.id, receiver_id=US, interchange_control=8004,
              sent_at=three_days_ago + timedelta(days=1), items=[AdviceItemSpec(
                  "TR", "1", "0003", "3001", errors=(("007", "SUBSCRIBER MAILING ADDRESS MISSING"),))])  # fmt: skip
    answered("harbor_824_0001.x12", buffer.getvalue())
    # Cedar Health, a small insurer: a file a day, each answered three hours later, until
    # four days ago; the last two files wait (Cedar went quiet). Our ISA13 5007 was
    # generated and never copied here: a gap in our numbering to Cedar.
    cedar_start = three_days_ago - timedelta(days=6)
    for day in range(9):
        if day == 6:
            continue  # 5007: never copied to acktrack
        data = sent(f"cedar_834_{day:04d}.edi", EnrollmentSpec(
            seed=400 + day, members=4, receiver_id=CEDAR.id, payer_name=CEDAR.name,
            interchange_control=5001 + day, first_group_control=day + 1, dependents=0.0,
            sent_at=cedar_start + timedelta(days=day), subscriber_id_start=600000001 + 100 * day,
        ))  # fmt: skip
        if day < 6:
            answered(f"cedar_999_{day:04d}.x12", respond(
                data, insurer_control=9500 + day, sent_at=cedar_start + timedelta(days=day, hours=3)))  # fmt: skip
    # The first Pine file copied again under another name: a duplicate, not counted twice.
    (outbound / "pine_834_0001_copy.edi").write_bytes(first)
    order.append(outbound / "pine_834_0001_copy.edi")
    # And a file that is not X12 at all.
    (outbound / "enrollments.xlsx").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    order.append(outbound / "enrollments.xlsx")
    # The enrollment system's own list of what it did: Cedar's first four additions (sent),
    # a Pine addition and a Harbor termination no 834 ever carried.
    expected = folder / "expected"
    expected.mkdir(parents=True, exist_ok=True)
    created = (cedar_start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    two_days_ago = (as_of - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [f"{CEDAR.id},{600000001 + n},,021,,CEDAR-ENR-{n + 1},{created}" for n in range(4)]
    rows += [f"{PINE.id},399000001,,021,,PINE-ENR-9001,{two_days_ago}",
             f"{HARBOR.id},400000005,,024,,HARBOR-TERM-77,{two_days_ago}"]  # fmt: skip
    (expected / "actions.csv").write_text("\n".join([EXPECTED_COLUMNS, *rows]) + "\n")
    order.append(expected / "actions.csv")
    return order


# Summit never answered its file of three days ago; an operator reached Summit by phone
# about one family, confirmed, and closed it. The identity that writes it is the demo's own
# (the CLI records the STS caller ARN, or the OS user with --local).
PHONED = (SUMMIT.id, "500000001", "Summit confirmed coverage by phone (demo call log 0042)")
DEMO_CALLER = "os-user:acktrack-demo"


def operator_resolutions(as_of: datetime) -> Callable[[EmbeddedStack], None]:
    """What the day's operator did (``acktrack resolve``), run before the report."""

    def act(stack: EmbeddedStack) -> None:
        from acktrack.ingest.resolution import resolve

        partner, subscriber, reason = PHONED
        resolve(stack.repository(), partner=partner, subscriber_id=subscriber, reason=reason,
                by="demo-operator", caller=DEMO_CALLER, at=as_of - timedelta(hours=1))  # fmt: skip

    return act


def events_line(events: list[dict[str, Any]]) -> str:
    """How many events of each type the bus delivered, most first."""
    counts = Counter(str(event.get("detail-type")) for event in events)
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common()) or "none"


def run_demo(args: argparse.Namespace) -> int:
    from acktrack.local.replay import replay, save_emails, save_events
    from acktrack.report.text import render_text

    as_of = datetime.now(UTC).replace(microsecond=0)
    keep = getattr(args, "out", None)
    with tempfile.TemporaryDirectory(prefix="acktrack-demo-") as scratch:
        folder = Path(keep) if keep else Path(scratch)
        paths = build_day(folder, as_of)
        print(f"acktrack demo: replaying {len(paths)} files on the embedded local stack (no AWS, no Docker)",
              file=sys.stderr)  # fmt: skip

        def progress(number: int, total: int, key: str, outcome: str) -> None:
            print(f"  [{number:2d}/{total}] {key:<36} {outcome}", file=sys.stderr)

        parameters = {**DEMO_PARAMETERS, **(getattr(args, "parameters", None) or {})}
        result = replay(paths, as_of=as_of, progress=progress, parameters=parameters,
                        before_report=operator_resolutions(as_of), capture_events=True)  # fmt: skip
        email_dir = Path(args.email_dir) if getattr(args, "email_dir", None) else folder / "emails"
        saved = (
            save_emails(result.emails, email_dir)
            if keep or getattr(args, "email_dir", None)
            else []
        )
        if getattr(args, "json", False):
            print(json.dumps(result.to_json(), indent=1))
        else:
            print(render_text(result.report, detail_limit=getattr(args, "detail", 15)))
        for path in saved:
            print(f"email saved: {path}", file=sys.stderr)
        print(f"events on the bus: {events_line(result.events)}", file=sys.stderr)
        events_dir = getattr(args, "events_dir", None) or (folder / "events" if keep else None)
        if events_dir:
            save_events(result.events, Path(events_dir))
            print(f"events saved in {events_dir}", file=sys.stderr)
        if keep:
            print(f"the day's files are in {folder}", file=sys.stderr)
    return 0
