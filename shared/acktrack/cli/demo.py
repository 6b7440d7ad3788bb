"""`acktrack demo`: run a realistic day on the embedded local stack and print the report."""

from __future__ import annotations

import argparse

from acktrack.cli.common import CommandError, add_parameter_option, stack_parameters


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo",
        help="run a realistic day on the embedded local stack and print the report",
        description=(
            "Generate a realistic day (invented people, three insurers, TA1s and 999s, a missing "
            "acknowledgment, a partial rejection, a duplicate and a bad file), replay it on the "
            "embedded local stack and print the report. What `make demo` runs."
        ),
        epilog=(
            "examples:\n"
            "  acktrack demo\n"
            "  acktrack demo --out day/                       # keep the files: acktrack replay day/*/*\n"
            "  acktrack demo --parameter AckSlaHours=96       # nothing overdue yet\n"
            "  acktrack demo --parameter EffectuationSlaDays=0 --json | jq .summary"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", metavar="DIR", help="keep the day's files (and the emails) in DIR")
    parser.add_argument("--email-dir", metavar="DIR", help="save the report email(s) as .eml files")
    parser.add_argument("--events-dir", metavar="DIR",
                        help="save each event the stack's EventBridge bus delivered as a JSON file")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--detail", type=int, default=15, help="detail rows to print (default 15)")
    add_parameter_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from acktrack.local.demo import run_demo
    from acktrack.local.replay import ReplayError, find_template

    try:
        template = find_template()
    except ReplayError as error:
        raise CommandError(str(error)) from None
    args.parameters = stack_parameters(args, template)
    return run_demo(args)
