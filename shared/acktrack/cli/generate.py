"""`acktrack generate`: write a seeded synthetic 834 with invented people (`generate 834`,
the default kind), and the 999s, TA1s and resends that go with it (cli/answers.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from acktrack.cli.common import EXIT_OK, CommandError, _iso_datetime

if TYPE_CHECKING:
    from acktrack.x12.delimiters import Delimiters

KINDS = ("834", "999", "ta1", "resend")

_OVERVIEW = """\
Try the ledger without writing X12 by hand: an 834, the insurer's answers, a resend.

examples:
  acktrack generate 834 --members 20 --sets 2 day/outbound/a.834
  acktrack generate 999 day/outbound/a.834 --ik3 0002:1     # set 0002 rejected at member 1
  acktrack generate ta1 day/outbound/a.834
  acktrack generate resend day/outbound/a.834 --rejected-by day/inbound/HEALTHPLAN01/a.999
  acktrack generate 999 day/outbound/a.resend-1002.834       # the resend accepted
  acktrack replay day/outbound/a.834 day/inbound/HEALTHPLAN01/a.ta1 \\
      day/inbound/HEALTHPLAN01/a.999 day/outbound/a.resend-1002.834 \\
      day/inbound/HEALTHPLAN01/a.resend-1002.999

`acktrack generate [options] OUT` (no KIND) writes an 834, as `generate 834` does.
`acktrack generate KIND --help` says more about each.
"""

_GENERATE_EPILOG = """\
Every person is invented (SSNs in the never-issued 9xx range).

examples:
  acktrack generate 834 --members 500 --seed 7 day/outbound/day1.834
  acktrack generate --members 100000 --sets 10 big.834     # the same: 834 is the default
  acktrack generate 834 --error bad_ins03:3 --error bad_se_count bad.834
  acktrack generate 834 --delimiters '|^>\\n' --line-ending none odd.834

deliberate errors (--error NAME or NAME:MEMBER_NUMBER):
"""


def with_default_kind(argv: list[str]) -> list[str]:
    """``acktrack generate [options] OUT``, from before there were kinds, is ``generate 834``."""
    if len(argv) >= 2 and argv[0] == "generate" and argv[1] not in (*KINDS, "-h", "--help"):
        return [argv[0], "834", *argv[1:]]
    return argv


def _delimiters(text: str) -> Delimiters:
    # argparse names this function in one message ("invalid _delimiters value"): keep the name.
    from acktrack.x12.delimiters import Delimiters
    from acktrack.x12.errors import UnreadableX12

    decoded = text.encode().decode("unicode_escape")
    if len(decoded) != 4:
        raise argparse.ArgumentTypeError(
            "give four characters: element, repetition, component, segment (e.g. '*^:~')"
        )
    delimiters = Delimiters(decoded[0], decoded[1], decoded[2], decoded[3])
    try:
        delimiters.validate()
    except UnreadableX12 as error:
        raise argparse.ArgumentTypeError(error.reason) from None
    return delimiters


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from acktrack.cli import answers
    from acktrack.synthetic.enrollment import ERRORS

    generate = commands.add_parser(
        "generate",
        help="write invented 834s, and the 999s, TA1s and resends that answer them",
        description="Write invented X12 files to try acktrack with: an 834 with invented "
        "people, the 999 or TA1 an insurer sends back for it, or an 834 that sends families "
        "again.",
        epilog=_OVERVIEW,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    kinds = generate.add_subparsers(dest="kind", metavar="KIND", title="kinds")
    kinds.required = True
    parser = kinds.add_parser(
        "834",
        help="a seeded 834 with invented people (the default kind)",
        description="Write a seeded synthetic 834. The same seed always gives the same file.",
        epilog=_GENERATE_EPILOG
        + "\n".join(f"  {name:22} {text}" for name, text in sorted(ERRORS.items())),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("output", metavar="OUT", help="file to write")
    parser.add_argument("--members", type=int, default=10, help="INS loops in all (default 10)")
    parser.add_argument("--groups", type=int, default=1, help="functional groups (default 1)")
    parser.add_argument(
        "--sets", type=int, default=1, help="transaction sets per group (default 1)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--sender", default="ACKTRACKEXCH", help="ISA06/GS02 (default ACKTRACKEXCH)"
    )
    parser.add_argument(
        "--receiver", default="HEALTHPLAN01", help="ISA08/GS03 (default HEALTHPLAN01)"
    )
    parser.add_argument("--control", type=int, default=1001, help="ISA13 (default 1001)")
    parser.add_argument(
        "--sent-at", type=_iso_datetime, default=datetime(2024, 1, 15, 12, 0),
        help="envelope date-time, ISO 8601 (default 2024-01-15T12:00)",
    )  # fmt: skip
    parser.add_argument(
        "--delimiters", type=_delimiters, default=None,
        help="element, repetition, component, segment characters (default '*^:~')",
    )  # fmt: skip
    parser.add_argument(
        "--line-ending", choices=("lf", "crlf", "none"), default="lf",
        help="what follows each segment terminator (default lf)",
    )  # fmt: skip
    parser.add_argument(
        "--maintenance", action="append", metavar="CODE=WEIGHT",
        help="INS03 mix, repeatable, e.g. --maintenance 021=8 --maintenance 024=1 (default 021)",
    )  # fmt: skip
    parser.add_argument(
        "--error", action="append", metavar="NAME[:N]", help="plant a deliberate error"
    )
    parser.add_argument("--ta1", action="store_true", help="ask the receiver for a TA1 (ISA14 = 1)")
    parser.set_defaults(handler=handle)
    answers.add_parsers(kinds)


def handle(args: argparse.Namespace) -> int:
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    maintenance: dict[str, float] = {}
    for item in args.maintenance or ["021=1"]:
        code, _, weight = item.partition("=")
        try:
            maintenance[code] = float(weight or 1)
        except ValueError:
            raise CommandError(f"--maintenance {item!r}: weight must be a number") from None
    spec = EnrollmentSpec(
        seed=args.seed,
        members=args.members,
        groups=args.groups,
        sets_per_group=args.sets,
        sender_id=args.sender,
        receiver_id=args.receiver,
        interchange_control=args.control,
        sent_at=args.sent_at,
        delimiters=args.delimiters,
        line_ending={"lf": "\n", "crlf": "\r\n", "none": ""}[args.line_ending],
        maintenance=maintenance,
        errors=args.error or (),
        acknowledgment_requested=args.ta1,
        keep_members=False,
    )
    try:
        spec.error_targets()
    except ValueError as error:
        raise CommandError(str(error)) from None
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as stream:
        generated = write_834(spec, stream)
    print(
        f"wrote {out} ({out.stat().st_size:,} bytes): ISA13 {generated.interchange_control}, "
        f"{len(generated.sets)} set(s), {generated.members} member(s)",
        file=sys.stderr,
    )
    return EXIT_OK
