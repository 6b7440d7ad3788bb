"""`acktrack member`: one subscriber's timeline of files, acknowledgments, effectuations, findings."""

from __future__ import annotations

import argparse

from acktrack.cli.common import EXIT_OK, SLA_HELP, add_location, reading, repository, sla_hours


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "member",
        help="one subscriber's timeline: files, acknowledgments, effectuations, findings",
        description=(
            "Every event about one subscriber id, in time order: each member transaction sent (file and "
            "control numbers, and the transaction it resends), each TA1/999 verdict, what closed it (a "
            "confirmed resend, an operator's resolution), each effectuation, each data-quality finding. "
            "acktrack stores no names, SSNs, birth dates or addresses, so none are shown."
        ),
        epilog=(
            "examples:\n  acktrack member 300000017 --local\n"
            "  acktrack member 300000017 --stack acktrack-prod --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "subscriber_id", metavar="SUBSCRIBER_ID", help="the REF*0F subscriber identifier"
    )
    add_location(parser)
    parser.add_argument("--partner", help="only this insurer (ISA08 of the 834s)")
    parser.add_argument(
        "--sla-hours", type=float, default=None, help=SLA_HELP,
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import json

    from acktrack.report.insights import render_timeline, timeline

    store = repository(args)

    def run() -> int:
        events = timeline(store, args.subscriber_id, args.partner, sla_hours=sla_hours(args))
        if args.json:
            print(json.dumps({"subscriber_id": args.subscriber_id, "events": events}, indent=1))
        else:
            print(render_timeline(args.subscriber_id, events), end="")
        return EXIT_OK

    return reading(run)
