"""`acktrack local`: run the embedded local stack in the foreground and feed it from a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from acktrack.cli.common import CommandError


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "local",
        help="run the embedded local stack in the foreground and feed it from a folder",
        description=(
            "Start the embedded local stack (wired from template.yaml) and keep it running. With "
            "--watch DIR, files copied under DIR/outbound/ and DIR/inbound/ go into the buckets as "
            "they appear. Run `acktrack report --local` from another terminal."
        ),
    )
    parser.add_argument(
        "--watch", metavar="DIR", help="folder to watch (creates outbound/ and inbound/)"
    )
    parser.add_argument(
        "--template", metavar="FILE", help="the SAM template (default: ./template.yaml or above)"
    )
    parser.add_argument("--verbose", action="store_true", help="show the functions' logs")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from acktrack.local.replay import ReplayError, find_template
    from acktrack.local.serve import serve

    try:
        template = find_template(Path(args.template) if args.template else None)
    except ReplayError as error:
        raise CommandError(str(error)) from None
    return serve(template, Path(args.watch) if args.watch else None)
