"""`acktrack local`: run the embedded local stack in the foreground and feed it from a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from acktrack.cli.common import (
    CommandError,
    add_parameter_option,
    add_trace_option,
    open_trace,
    stack_parameters,
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "local",
        help="run the embedded local stack in the foreground and feed it from a folder",
        description=(
            "Start the embedded local stack (wired from template.yaml) and keep it running. With "
            "--watch DIR, files copied under DIR/outbound/ and DIR/inbound/ go into the buckets as "
            "they appear. `acktrack report --local` (and stats, member, resolve) finds it from "
            "any folder: the endpoint is kept in a state file per user, "
            "$XDG_STATE_HOME/acktrack/local.json (default ~/.local/state/acktrack/local.json; "
            "ACKTRACK_STATE_DIR overrides the folder). One stack per user: a second start is "
            "refused and names the one running."
        ),
        epilog=(
            "examples:\n"
            "  acktrack local --watch day/                    # then copy files into day/outbound/, day/inbound/\n"
            "  acktrack report --local                        # in another terminal, from any folder\n"
            "  acktrack local --watch day/ --parameter AckSlaHours=24 --parameter RequireInsurerFolders=true\n\n"
            "Ctrl-C (or SIGTERM) stops the stack; its state goes with it."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--watch", metavar="DIR", help="folder to watch (creates outbound/ and inbound/)"
    )
    parser.add_argument(
        "--template", metavar="FILE", help="the SAM template (default: ./template.yaml or above)"
    )
    parser.add_argument("--verbose", action="store_true", help="show the functions' logs")
    add_parameter_option(parser)
    add_trace_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from acktrack.local.replay import ReplayError, find_template
    from acktrack.local.serve import serve
    from acktrack.local.state import LocalStackError

    try:
        template = find_template(Path(args.template) if args.template else None)
    except ReplayError as error:
        raise CommandError(str(error)) from None
    parameters = stack_parameters(args, template)
    try:
        with open_trace(args) as trace:
            return serve(template, Path(args.watch) if args.watch else None,
                         parameters=parameters, verbose=args.verbose, trace=trace)  # fmt: skip
    except LocalStackError as error:
        raise CommandError(str(error)) from None
