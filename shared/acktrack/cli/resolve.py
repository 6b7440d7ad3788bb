"""`acktrack resolve`: an operator closes what an insurer will never confirm, one subscriber
at a time or many from a CSV file (all or none); `--dry-run` says what would close."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from acktrack.cli.common import (
    EXIT_OK,
    SLA_HELP,
    CommandError,
    add_location,
    reading,
    repository,
    sla_hours,
)

if TYPE_CHECKING:
    from acktrack.ingest.resolution import Closing, Resolved
    from acktrack.ingest.resolution_csv import Rows


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "resolve",
        help="close a subscriber's open enrollments the insurer will never confirm (who, when, why)",
        description=(
            "Record that an operator resolved a subscriber's open enrollments with one insurer: the "
            "person withdrew, or the insurer confirmed by phone. The open member transactions sent "
            "before now leave the unconfirmed list and are counted as resolved_by_operator; the "
            "resolution appears on the timeline (acktrack member) and in the daily report, with who "
            "you say you are (--by) and the identity that really wrote it (your AWS identity, or "
            "your OS user with --local). Nothing is deleted, and a later transaction for the same "
            "enrollment is tracked as usual. The reason is kept, reported and emailed: write what "
            "happened, never a name, birth date, SSN or phone number."
        ),
        epilog=(
            "examples:\n"
            "  acktrack resolve 300000017 --partner PINEHEALTH01 --reason 'withdrew before coverage "
            "began (call log 0042)' --local\n"
            "  acktrack resolve 300000017 --partner PINEHEALTH01 --member 300000017-02 \\\n"
            "      --reason 'insurer confirmed by phone, ticket 4411' --stack acktrack-prod --dry-run\n"
            "  acktrack resolve --from-csv closures.csv --stack acktrack-prod --dry-run\n\n"
            "--from-csv FILE: UTF-8 CSV whose first line is insurer_id,subscriber_id,member_id,reason\n"
            "(any order, no other column); an empty member_id closes every open enrollment of the\n"
            "subscriber; at most 10,000 rows. Every row is checked first, against the table too;\n"
            "nothing is written unless every row is valid; a line per row says what happened.\n\n"
            "--by defaults to your AWS identity (STS) with --stack or --table, and to your login "
            "with --local.\n"
            "Refused, changing nothing: a subscriber not tracked with that insurer, nothing open,\n"
            "an empty reason; a line break or control character in --by or --reason (it could\n"
            "forge a line where it is shown); a reason holding what looks like an SSN, a phone\n"
            "number or a birth date: any date before 2000 or more than a year ago (write an older\n"
            "date as month and year, 'called in March 2024', or cite the ticket). Names cannot be\n"
            "detected: never write one."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "subscriber_id", metavar="SUBSCRIBER_ID", nargs="?",
        help="the REF*0F subscriber identifier (not with --from-csv)",
    )  # fmt: skip
    parser.add_argument("--partner", metavar="ID", help="the insurer (ISA08 of the 834s)")
    parser.add_argument(
        "--reason", metavar="TEXT", help="why: what the next person will read (never a name)"
    )
    parser.add_argument(
        "--member", metavar="MEMBER_ID", help="only this member (REF*17); default: every open one"
    )
    parser.add_argument("--by", metavar="NAME", help="who resolves (default: see below)")
    parser.add_argument(
        "--from-csv", metavar="FILE", help="resolve every row of FILE (see below), all or none"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be closed and write nothing"
    )
    parser.add_argument("--sla-hours", type=float, default=None, help=SLA_HELP)
    add_location(parser)
    parser.set_defaults(handler=handle)


def _login() -> str:
    """The OS account this process runs as: its real user id's name, not what the
    environment says (USER and LOGNAME can be set to anything)."""
    import os

    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):  # no passwd entry, or not POSIX
        import getpass

        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return f"uid {os.getuid()}" if hasattr(os, "getuid") else ""


def identity(args: argparse.Namespace) -> tuple[str, str]:
    """(the identity that really writes, the default --by): the STS caller ARN with --stack
    or --table, the OS user with --local."""
    if args.local:
        login = _login()
        if not login:
            raise CommandError("cannot tell which OS user you are; nothing was written")
        import getpass

        try:
            claimed = getpass.getuser()
        except (KeyError, OSError):
            claimed = login
        return f"os-user:{login}", claimed
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        arn = str(boto3.client("sts", region_name=args.region or None).get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError) as error:
        raise CommandError(
            f"cannot tell who you are on AWS ({type(error).__name__}); a resolution records the "
            "identity that writes it, so nothing was written"
        ) from None
    return arn, arn


def handle(args: argparse.Namespace) -> int:
    from acktrack.ingest.resolution import (
        MAX_BY,
        Planner,
        ResolveRefused,
        check_line,
        check_reason,
        record,
        would,
    )
    from acktrack.ingest.resolution_csv import BulkRefused, apply, plan_rows

    bulk = args.from_csv is not None
    if bulk and (args.subscriber_id or args.partner or args.reason is not None or args.member):
        raise CommandError(
            "--from-csv takes the insurer, subscriber, member and reason from its rows: give no "
            "SUBSCRIBER_ID, --partner, --member or --reason with it"
        )
    if not bulk and not (args.subscriber_id and args.partner and args.reason is not None):
        raise CommandError(
            "say what to resolve: SUBSCRIBER_ID --partner ID --reason TEXT (or --from-csv FILE)"
        )
    rows = None
    try:  # what was typed, checked before the table is touched
        if args.by is not None:
            check_line(args.by, "--by", MAX_BY)
        if bulk:
            rows = _read(args.from_csv)
        else:
            check_reason(args.reason, datetime.now(UTC))
    except BulkRefused as refused:
        _problems(refused.problems)
        raise CommandError(str(refused)) from None
    except ResolveRefused as refused:
        raise CommandError(str(refused)) from None
    store = repository(args)
    caller, default_by = identity(args)

    def run() -> int:
        try:
            planner = Planner(store, by=args.by if args.by is not None else default_by,
                              caller=caller, sla_hours=sla_hours(args))  # fmt: skip
            if rows is not None:
                done = apply(planner, plan_rows(planner, rows), dry_run=args.dry_run)
                for row, resolved in done:
                    print(f"line {row.line}: {_said(resolved, args.dry_run)}")
                    _closings(resolved.closings, args.dry_run)
                _total([resolved for _, resolved in done], args.dry_run, planner.by, caller)
                return EXIT_OK
            plan = planner.plan(partner=args.partner, subscriber_id=args.subscriber_id,
                                reason=args.reason, member_id=args.member)  # fmt: skip
            resolved = would(plan) if args.dry_run else record(store, plan)
        except BulkRefused as refused:
            _problems(refused.problems)
            raise CommandError(str(refused)) from None
        except ResolveRefused as refused:
            raise CommandError(str(refused)) from None
        print(_said(resolved, args.dry_run) + _who(resolved, args.dry_run))
        _closings(resolved.closings, args.dry_run)
        return EXIT_OK

    return reading(run, verb="read" if args.dry_run else "write to")


def _read(path: str) -> Rows:
    """The CSV's rows (a byte-order mark is fine); CommandError when it cannot be read."""
    from acktrack.ingest.resolution_csv import read_rows

    try:
        with open(path, encoding="utf-8-sig", newline="") as stream:
            return read_rows(stream)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path} is not UTF-8 text (save it as CSV UTF-8)") from None


def _problems(problems: list[str]) -> None:
    for problem in problems:
        print(f"acktrack: {problem}", file=sys.stderr)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _said(done: Resolved, dry_run: bool) -> str:
    what = (
        f"{_plural(done.enrollments, 'open enrollment')} "
        f"({_plural(done.attempts, 'member transaction')})"
    )
    if dry_run:
        return (
            f"dry run, nothing written: subscriber {done.subscriber_id} with {done.partner}: "
            f"{what} would be closed as resolved_by_operator"
        )
    again = "" if done.recorded else " (it was recorded already)"
    return (
        f"resolved: subscriber {done.subscriber_id} with {done.partner}: {what} closed as "
        f"resolved_by_operator{again}"
    )


def _who(done: Resolved, dry_run: bool) -> str:
    if dry_run:
        return ""
    by, caller = done.resolution.by, done.resolution.caller
    return f" by {by} at {done.resolution.at}" + (f", written by {caller}" if caller != by else "")


def _closings(closings: tuple[Closing, ...], dry_run: bool) -> None:
    verb = "would close" if dry_run else "closed"
    for c in closings:
        print(
            f"  {verb}: insurer {c.partner} subscriber {c.subscriber_id} member {c.member} "
            f"line {c.line or '-'}: {_plural(c.attempts, 'attempt')}, leaving {c.state}"
        )


def _total(done: list[Resolved], dry_run: bool, by: str, caller: str) -> None:
    enrollments = sum(d.enrollments for d in done)
    attempts = sum(d.attempts for d in done)
    verb = "would be closed (dry run, nothing written)" if dry_run else "closed"
    print(
        f"{_plural(len(done), 'row')}: {_plural(enrollments, 'open enrollment')} "
        f"({_plural(attempts, 'member transaction')}) {verb} as resolved_by_operator by {by}"
        + (f", written by {caller}" if caller != by else "")
    )
