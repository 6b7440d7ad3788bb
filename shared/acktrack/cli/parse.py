"""`acktrack parse`: read one X12 file and show what it holds and what is wrong with it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from acktrack.cli.common import EXIT_OK, CommandError

_PARSE_EPILOG = """\
examples:
  acktrack parse outbound/834_20240115.edi            readable summary and findings
  acktrack parse --members file.834                   one line per member (PHI masked)
  acktrack parse --json --members file.834 | jq .summary
  acktrack parse --json 999_from_insurer.x12          acknowledgment codes, decoded

exit status: 0 when the file was read as X12 (with or without findings),
             2 when it could not be (empty, binary, no ISA, unreadable ISA).
"""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "parse",
        help="read an 834, 999/997 or TA1 file and show envelopes, acknowledgments and findings",
        description=(
            "Read one X12 file (834, 999/997, TA1; any delimiters, several interchanges) "
            "and show what it holds and what is wrong with it, in the codes an insurer "
            "would send back (TA1 notes, IK3/IK4/IK5, AK9)."
        ),
        epilog=_PARSE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the X12 file to read")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document instead of text"
    )
    parser.add_argument(
        "--members", action="store_true", help="include one record per member (INS loop)"
    )
    parser.add_argument(
        "--show-phi",
        action="store_true",
        help="show names, SSNs and birth dates (masked by default; mind where the output goes)",
    )
    parser.set_defaults(handler=handle)


def _open_input(path: str) -> Path:
    candidate = Path(path)
    if not candidate.exists():
        raise CommandError(f"{path}: no such file")
    if candidate.is_dir():
        raise CommandError(f"{path}: is a directory, not a file")
    if not os.access(candidate, os.R_OK):
        raise CommandError(f"{path}: permission denied")
    return candidate


def handle(args: argparse.Namespace) -> int:
    from acktrack.x12.describe import describe
    from acktrack.x12.errors import UnreadableX12

    path = _open_input(args.file)
    try:
        with path.open("rb") as stream:
            describe(
                stream,
                sys.stdout,
                name=path.name,
                as_json=args.json,
                members=args.members,
                show_phi=args.show_phi,
                path=path,
            )
    except UnreadableX12 as error:
        raise CommandError(f"{args.file}: not readable as X12: {error.reason}") from None
    return EXIT_OK
