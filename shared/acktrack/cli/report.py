"""`acktrack report`: the unconfirmed-enrollment report from a local or deployed stack."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from acktrack.cli.common import (
    EXIT_OK,
    SLA_HELP,
    _iso_datetime,
    _non_negative_int,
    add_location,
    reading,
    repository,
    sla_hours,
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "report",
        help="print the unconfirmed-enrollment report from a local or deployed stack",
        description=(
            "Build the report from the tracking table, as of --as-of (default now): against the "
            "running local stack (--local), a deployed stack (--stack, with AWS credentials) or a "
            "table by name. Read-only: nothing is emailed or archived."
        ),
        epilog=(
            "examples:\n"
            "  acktrack report --local\n"
            "  acktrack report --stack acktrack-prod --json | jq .summary\n"
            "  acktrack report --stack acktrack-prod --as-of 2024-01-18T07:00 --csv today.csv --html today.html"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_location(parser)
    parser.add_argument(
        "--as-of", type=_iso_datetime, default=None, help="report time, ISO 8601 (default: now)"
    )
    parser.add_argument("--sla-hours", type=float, default=None, help=SLA_HELP)
    parser.add_argument(
        "--window-days", type=int, default=7, help="days the headline counts cover (default 7)"
    )
    parser.add_argument(
        "--effectuation-days", type=_non_negative_int, default=45, metavar="N",
        help="list additions accepted but not effectuated after N days (default 45; 0: off)",
    )  # fmt: skip
    parser.add_argument(
        "--timezone", default="UTC", help="time zone for dates in the HTML (default UTC)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--csv", metavar="FILE", help="also write the detail rows as CSV")
    parser.add_argument("--html", metavar="FILE", help="also write the HTML report")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import json

    from acktrack.report.collect import collect_report
    from acktrack.report.detail_csv import detail_csv
    from acktrack.report.email import render_html
    from acktrack.report.text import render_text

    store = repository(args)
    as_of = args.as_of or datetime.now().astimezone()
    if as_of.tzinfo is None:
        as_of = as_of.astimezone()
    report = reading(
        lambda: collect_report(
            store, as_of, sla_hours(args), args.window_days, args.effectuation_days
        )
    )
    document = report.to_json()
    if args.csv:
        Path(args.csv).write_bytes(detail_csv(document))
    if args.html:
        Path(args.html).write_text(render_html(document, timezone=args.timezone))
    print(json.dumps(document, indent=1) if args.json else render_text(document))
    return EXIT_OK
