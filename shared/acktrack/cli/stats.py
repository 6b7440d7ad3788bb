"""`acktrack stats`: how many were sent, what share failed, which codes, how long 999s take."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from acktrack.cli.common import (
    EXIT_OK,
    SLA_HELP,
    _iso_datetime,
    add_location,
    reading,
    repository,
    sla_hours,
)

DEFAULT_DAYS = 30  # --since, by default: a month of counters, a month of history


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "stats",
        help="how many were sent, what share failed, which codes, how long 999s take",
        description=(
            "Per insurer, for the member transactions sent since --since (default: 30 days ago), "
            "from the counters kept as statuses move (a few requests per insurer, however many "
            "sets): how many were sent, the share rejected and unconfirmed, which error codes "
            "account for what share of rejections, and the hours from sending to the first 999 "
            "and to confirmation, median and 95th percentile. The hours come from hour buckets "
            "(1 h wide to 48 h, 6 h to a week, then a day): each figure is the bucket holding it. "
            "Per person (an enrollment: one member's coverage line with one insurer): the share "
            "whose first attempt the insurer accepted, and the hours from the first attempt to "
            "confirmation. These need history: they read the members sent since --since and "
            "their families, at most --people families (oldest first), and say so."
        ),
        epilog="examples:\n  acktrack stats --local\n  acktrack stats --stack acktrack-prod --since 2024-01-01 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_location(parser)
    parser.add_argument(
        "--since",
        type=_iso_datetime,
        default=None,
        help="sent on or after this day (default: 30 days ago); the counts are by sent day",
    )
    parser.add_argument(
        "--people",
        type=int,
        default=None,
        help="families read for the per-person figures, over every insurer (default 200; 0: off)",
    )
    parser.add_argument(
        "--sla-hours", type=float, default=None, help=SLA_HELP,
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import json

    from acktrack.report.insights import STATS_PEOPLE, render_stats, stats

    store = repository(args)
    since = args.since or datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)
    if since.tzinfo is None:
        since = since.astimezone()
    people = STATS_PEOPLE if args.people is None else max(args.people, 0)  # --help says 200

    def run() -> int:
        result = stats(store, since, sla_hours(args), people)
        print(
            json.dumps(result, indent=1) if args.json else render_stats(result),
            end="" if not args.json else "\n",
        )
        return EXIT_OK

    return reading(run)
