"""`acktrack stats`: how many were sent, what share failed, which codes, how long 999s take."""

from __future__ import annotations

import argparse
from datetime import datetime

from acktrack.cli.common import (
    EXIT_OK,
    SLA_HELP,
    _iso_datetime,
    add_location,
    reading,
    repository,
    sla_hours,
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "stats",
        help="how many were sent, what share failed, which codes, how long 999s take",
        description=(
            "Exactly from stored state: member transactions sent since --since, the share rejected and "
            "unconfirmed, which error codes account for what share of rejections, and the median and "
            "95th-percentile hours from sending to the first 999, per insurer. Per person (an enrollment: "
            "one member's coverage line with one insurer): the share whose first attempt the insurer "
            "accepted, and the hours from the first attempt to confirmation, median and 95th percentile. "
            "The per-person figures read each member transaction sent since --since and its family: "
            "give a --since on a large table."
        ),
        epilog="examples:\n  acktrack stats --local\n  acktrack stats --stack acktrack-prod --since 2024-01-01 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_location(parser)
    parser.add_argument(
        "--since", type=_iso_datetime, default=None, help="sent on or after (default: all)"
    )
    parser.add_argument(
        "--sla-hours", type=float, default=None, help=SLA_HELP,
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import json

    from acktrack.report.insights import render_stats, stats

    store = repository(args)
    since = args.since or datetime(2000, 1, 1)
    if since.tzinfo is None:
        since = since.astimezone()

    def run() -> int:
        result = stats(store, since, sla_hours(args))
        print(
            json.dumps(result, indent=1) if args.json else render_stats(result),
            end="" if not args.json else "\n",
        )
        return EXIT_OK

    return reading(run)
