"""`acktrack resolve`: an operator closes what an insurer will never confirm."""

from __future__ import annotations

import argparse

from acktrack.cli.common import (
    EXIT_OK,
    SLA_HELP,
    CommandError,
    add_location,
    reading,
    repository,
    sla_hours,
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "resolve",
        help="close a subscriber's open enrollments the insurer will never confirm (who, when, why)",
        description=(
            "Record that an operator resolved a subscriber's open enrollments with one insurer: the "
            "person withdrew, or the insurer confirmed by phone. The open member transactions sent "
            "before now leave the unconfirmed list and are counted as resolved_by_operator; the "
            "resolution appears on the timeline (acktrack member). Nothing is deleted, and a later "
            "transaction for the same enrollment is tracked as usual. The reason is kept as typed: "
            "write what happened, never a name, birth date or SSN."
        ),
        epilog=(
            "examples:\n"
            "  acktrack resolve 300000017 --partner PINEHEALTH01 --reason 'withdrew before coverage "
            "began (call 2024-03-02)' --local\n"
            "  acktrack resolve 300000017 --partner PINEHEALTH01 --member 300000017-02 \\\n"
            "      --reason 'insurer confirmed by phone, ticket 4411' --stack acktrack-prod\n\n"
            "--by defaults to your AWS identity (STS) with --stack or --table, and to your login "
            "with --local.\n"
            "It refuses, changing nothing, when the subscriber is not tracked with that insurer, "
            "when nothing is open, or when the reason is empty."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "subscriber_id", metavar="SUBSCRIBER_ID", help="the REF*0F subscriber identifier"
    )
    parser.add_argument(
        "--partner", required=True, metavar="ID", help="the insurer (ISA08 of the 834s)"
    )
    parser.add_argument(
        "--reason", required=True, metavar="TEXT", help="why: what the next person will read"
    )
    parser.add_argument(
        "--member", metavar="MEMBER_ID", help="only this member (REF*17); default: every open one"
    )
    parser.add_argument("--by", metavar="NAME", help="who resolves (default: see below)")
    parser.add_argument("--sla-hours", type=float, default=None, help=SLA_HELP)
    add_location(parser)
    parser.set_defaults(handler=handle)


def _who(args: argparse.Namespace) -> str:
    if args.by:
        return str(args.by)
    if args.local:
        import getpass

        try:
            return getpass.getuser()
        except (KeyError, OSError):
            raise CommandError("cannot tell who you are; say it with --by NAME") from None
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        region = args.region or None
        return str(boto3.client("sts", region_name=region).get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError) as error:
        raise CommandError(
            f"cannot tell who you are on AWS ({type(error).__name__}); say it with --by NAME"
        ) from None


def handle(args: argparse.Namespace) -> int:
    from acktrack.ingest.resolution import ResolveRefused, resolve

    if not args.reason.strip():
        raise CommandError("give a reason (--reason TEXT): it is what the next person will read")
    store = repository(args)
    who = _who(args)

    def run() -> int:
        try:
            done = resolve(store, partner=args.partner, subscriber_id=args.subscriber_id,
                           reason=args.reason, by=who, member_id=args.member,
                           sla_hours=sla_hours(args))  # fmt: skip
        except ResolveRefused as refused:
            raise CommandError(str(refused)) from None
        plural = "s" if done.enrollments != 1 else ""
        again = "" if done.recorded else " (it was recorded already)"
        print(
            f"resolved: subscriber {done.subscriber_id} with {done.partner}: {done.enrollments} open "
            f"enrollment{plural} ({done.attempts} member transaction{'s' if done.attempts != 1 else ''}) "
            f"closed as resolved_by_operator by {done.resolution.by} at {done.resolution.at}{again}"
        )
        return EXIT_OK

    return reading(run, verb="write to")
