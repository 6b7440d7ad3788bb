"""The `acktrack` command line.

Every command prints a one-line reason and exits non-zero on bad input; no traceback
reaches the user unless ACKTRACK_DEBUG=1 is set.

Each command lives in its own module with `add_parser(commands)` (its subparser) and
`handle(args)` (what it does); common.py holds what they share.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from acktrack.cli import demo, generate, local, member, parse, replay, report, resolve, stats
from acktrack.cli.common import run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acktrack",
        description=(
            "Track every 834 member transaction sent to an insurer until a TA1, 999 or "
            "effectuation 834 confirms it."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    # In the order `acktrack --help` lists them.
    parse.add_parser(commands)
    generate.add_parser(commands)
    replay.add_parser(commands)
    report.add_parser(commands)
    stats.add_parser(commands)
    member.add_parser(commands)
    resolve.add_parser(commands)
    local.add_parser(commands)
    demo.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(
        generate.with_default_kind(list(sys.argv[1:] if argv is None else argv))
    )
    if getattr(args, "delimiters", "unset") is None:
        from acktrack.x12.delimiters import DEFAULT_DELIMITERS

        args.delimiters = DEFAULT_DELIMITERS
    return run(args.handler, args)


__all__ = ["build_parser", "main"]
