"""`make bench` (issue 30): what was never sent, never answered, or rejected after the 999,
at a size, with the request trace on, beside the model of `write_paths.py`.

N members are sent in one synthetic 834 (``family``: one family a set; ``set1000``: 1,000
members a set) and accepted by a 999; then, each measured on its own:

- the exchange's extract of expected actions, one row per member (all sent: every action
  closes);
- an 824 rejecting every set, one OTI loop a set naming its first member;
- an insurer's CSV error report naming 3,000 members (the most a report may hold);
- the events publisher's run after all that (every set confirmed by the 999, then
  rejected by the 824: two events a set);
- the daily report's Deliver, announcing what it found (never sent, gaps, silence; up to
  5,000 members: the report itself is measured by `report_scale.py`).

For each: invocations, the largest one's DynamoDB requests and peak memory, the
most-written item's writes per 1,000 members, the wall time modelled at 3, 5 and 8 ms a
request (``write_paths``), and, for the publisher, its events and PutEvents requests.

    python benchmarks/late_paths.py --members 5000 --shape family    # one JSON line
"""

from __future__ import annotations

import io
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import write_paths
from write_paths import ROOT, SENT, _sets, _summary

PATHS = ("expected actions extract", "824 rejecting every set", "error report (3,000 rows)",
         "events publisher", "report's Deliver (announcing)")  # fmt: skip
AS_OF = datetime(2024, 2, 8, 12, tzinfo=UTC)
REPORT_UP_TO = 5_000  # members up to which the report runs, for its announcements


def _files(members: int, shape: str) -> tuple[list[tuple[str, str, str, bytes]], int]:
    from acktrack.synthetic.acknowledgments import respond
    from acktrack.synthetic.advice import AdviceItemSpec, write_824
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    sent = io.BytesIO()
    generated = write_834(EnrollmentSpec(seed=2030, members=members,
                                         sets_per_group=_sets(members, shape), sent_at=SENT),
                          sent)  # fmt: skip
    answer = respond(sent.getvalue(), insurer_control=7101, sent_at=SENT + timedelta(hours=3))
    people = [(each, m) for each in generated.sets for m in each.member_detail]
    created = (SENT - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    expected = [
        "insurer_id,subscriber_id,member_id,maintenance_type,effective_date,action_id,created_at"
    ]
    expected += [f"HEALTHPLAN01,{m.subscriber_id},{m.member_id},"
                 f"{m.maintenance_type},,A{n},{created}" for n, (_, m) in enumerate(people)]  # fmt: skip
    advice = io.BytesIO()
    write_824(advice, sender_id="HEALTHPLAN01", receiver_id="ACKTRACKEXCH", interchange_control=7102,
              sent_at=SENT + timedelta(days=1), items=[
                  AdviceItemSpec("TR", each.group_control, each.transaction_control, "R",
                                 errors=(("007", ""),), subscriber_id=each.member_detail[0].subscriber_id)
                  for each in generated.sets])  # fmt: skip
    errors = ["subscriber_id,member_id,transaction_control,error_code,message"]
    errors += [f"{m.subscriber_id},{m.member_id},{each.transaction_control},E17,x"
               for each, m in people[-3000:]]  # fmt: skip
    files = [
        ("Outbound", "outbound/sent.834", "", sent.getvalue()),
        ("Inbound", "inbound/HEALTHPLAN01/sent.999", "", answer),
        ("Outbound", "expected/actions.csv", PATHS[0], "\n".join(expected).encode()),
        ("Inbound", "inbound/HEALTHPLAN01/late.824", PATHS[1], advice.getvalue()),
        ("Inbound", "inbound/HEALTHPLAN01/errors/late.csv", PATHS[2], "\n".join(errors).encode()),
    ]
    return files, len(generated.sets)


def measure(members: int, shape: str) -> dict[str, Any]:
    from acktrack.local.stack import EmbeddedStack
    from acktrack.local.trace import RequestTrace

    files, sets = _files(members, shape)
    found: dict[str, Any] = {"members": members, "shape": shape, "sets": sets}
    with EmbeddedStack(ROOT / "template.yaml", {"OurSenderIds": "ACKTRACKEXCH"}) as stack:
        stack.clock = lambda: AS_OF
        for bucket, key, path, data in files:
            trace = stack.trace = RequestTrace(memory=True)
            started = time.perf_counter()
            results = stack.put(stack.bucket(bucket), key, data)
            assert all(result.ok for result in results), [r.error for r in results]
            if path:
                found[path] = {**_summary(trace.lines, members),
                               "moto_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
        from acktrack.aws import clients

        put_events: list[int] = []  # the publisher's own client (the handlers' clients)
        clients.events().meta.events.register(
            "before-call.events.PutEvents", lambda **_: put_events.append(1)
        )
        trace = stack.trace = RequestTrace(memory=True)
        published = 0
        while True:  # the schedule runs every minute until the outbox is empty
            run = stack.publish_events(AS_OF)
            assert run.ok, run.error
            published += run.result["published"]
            if not run.result["more"]:
                break
        found[PATHS[3]] = {**_summary(trace.lines, members), "events": published,
                           "put_events_requests": len(put_events)}  # fmt: skip
        if members > REPORT_UP_TO:  # the report's own cost is `report_scale.py`'s
            stack.trace = None
            return found
        trace = stack.trace = RequestTrace(memory=True)
        assert stack.run_schedule(AS_OF + timedelta(days=2)).ok
        deliver = [line for line in trace.lines if line["function"] == "ReportFunction"]
        found[PATHS[4]] = _summary(deliver, members)
        stack.trace = None
    return found


def table(results: list[dict[str, Any]]) -> str:
    def note(row: dict[str, Any]) -> str:
        return (f"; {row['events']:,} events in {row['put_events_requests']:,} PutEvents"
                if "events" in row else "")  # fmt: skip

    return write_paths.table(results, PATHS, note)


def main() -> int:
    return write_paths.cli(__doc__, measure, table)


if __name__ == "__main__":
    sys.exit(main())
