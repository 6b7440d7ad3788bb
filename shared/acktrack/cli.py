"""The `acktrack` command line.

Every command prints a one-line reason and exits non-zero on bad input; no traceback
reaches the user unless ACKTRACK_DEBUG=1 is set.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from acktrack.store.repository import Repository
    from acktrack.x12.delimiters import Delimiters

T = TypeVar("T")

EXIT_OK = 0
EXIT_USAGE = 2  # bad arguments, or input that cannot be read as X12
EXIT_INTERNAL = 70

_PARSE_EPILOG = """\
examples:
  acktrack parse outbound/834_20240115.edi            readable summary and findings
  acktrack parse --members file.834                   one line per member (PHI masked)
  acktrack parse --json --members file.834 | jq .summary
  acktrack parse --json 999_from_insurer.x12          acknowledgment codes, decoded

exit status: 0 when the file was read as X12 (with or without findings),
             2 when it could not be (empty, binary, no ISA, unreadable ISA).
"""

_GENERATE_EPILOG = """\
Every person is invented (SSNs in the never-issued 9xx range).

examples:
  acktrack generate --members 500 --seed 7 day1.834
  acktrack generate --members 100000 --sets 10 big.834
  acktrack generate --error bad_ins03:3 --error bad_se_count bad.834
  acktrack generate --delimiters '|^>\\n' --line-ending none odd.834

deliberate errors (--error NAME or NAME:MEMBER_NUMBER):
"""


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status attached."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


def _open_input(path: str) -> Path:
    candidate = Path(path)
    if not candidate.exists():
        raise CommandError(f"{path}: no such file")
    if candidate.is_dir():
        raise CommandError(f"{path}: is a directory, not a file")
    if not os.access(candidate, os.R_OK):
        raise CommandError(f"{path}: permission denied")
    return candidate


def _cmd_parse(args: argparse.Namespace) -> int:
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


def _delimiters(text: str) -> Delimiters:
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


def _cmd_generate(args: argparse.Namespace) -> int:
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
    with out.open("wb") as stream:
        generated = write_834(spec, stream)
    print(
        f"wrote {out} ({out.stat().st_size:,} bytes): ISA13 {generated.interchange_control}, "
        f"{len(generated.sets)} set(s), {generated.members} member(s)",
        file=sys.stderr,
    )
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from acktrack.local.demo import run_demo

    return run_demo(args)


def _cmd_replay(args: argparse.Namespace) -> int:
    import json

    from acktrack.local.replay import ReplayError, replay, save_emails
    from acktrack.local.template import TemplateError
    from acktrack.report.text import render_text

    def progress(number: int, total: int, key: str, outcome: str) -> None:
        print(f"[{number}/{total}] {key}: {outcome}", file=sys.stderr)

    try:
        result = replay(
            [Path(path) for path in args.paths],
            as_of=args.as_of,
            sla_hours=args.sla_hours,
            effectuation_days=args.effectuation_days,
            part_bytes=args.part_bytes,
            template=Path(args.template) if args.template else None,
            progress=progress,
            concurrency=args.concurrency,
        )
    except (ReplayError, TemplateError) as error:
        raise CommandError(str(error)) from None
    if args.email_dir:
        for path in save_emails(result.emails, Path(args.email_dir)):
            print(f"email saved: {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print(render_text(result.report))
    return EXIT_OK


def _cmd_local(args: argparse.Namespace) -> int:
    from acktrack.local.replay import ReplayError, find_template
    from acktrack.local.serve import serve

    try:
        template = find_template(Path(args.template) if args.template else None)
    except ReplayError as error:
        raise CommandError(str(error)) from None
    return serve(template, Path(args.watch) if args.watch else None)


def _table_location(args: argparse.Namespace) -> tuple[str, str, str | None]:
    """(table, region, endpoint) from --local, --stack or --table."""
    if args.local:
        from acktrack.local.serve import local_state

        try:
            state = local_state()
        except FileNotFoundError as error:
            raise CommandError(str(error)) from None
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(
                name, "local"
            )  # the local endpoint wants signed requests, not real keys
        return state["table"], state["region"], state["endpoint"]
    region = (
        args.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    if args.table:
        return args.table, region, args.endpoint
    if args.stack:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            stacks = boto3.client("cloudformation", region_name=region).describe_stacks(
                StackName=args.stack
            )
        except (BotoCoreError, ClientError) as error:
            raise CommandError(f"cannot read stack {args.stack!r}: {error}") from None
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks["Stacks"][0].get("Outputs", [])}
        if "TableName" not in outputs:
            raise CommandError(f"stack {args.stack!r} has no TableName output")
        return outputs["TableName"], region, args.endpoint
    raise CommandError("say where the state is: --local, --stack NAME or --table NAME")


def _cmd_report(args: argparse.Namespace) -> int:
    import json

    from acktrack.report.collect import collect_report
    from acktrack.report.email import detail_csv, render_html
    from acktrack.report.text import render_text

    store = _repository(args)
    as_of = args.as_of or datetime.now().astimezone()
    if as_of.tzinfo is None:
        as_of = as_of.astimezone()
    report = _reading(
        lambda: collect_report(
            store, as_of, args.sla_hours, args.window_days, args.effectuation_days
        )
    )
    document = report.to_json()
    if args.csv:
        Path(args.csv).write_bytes(detail_csv(document))
    if args.html:
        Path(args.html).write_text(render_html(document, timezone=args.timezone))
    print(json.dumps(document, indent=1) if args.json else render_text(document))
    return EXIT_OK


def _repository(args: argparse.Namespace) -> Repository:
    from acktrack.store.repository import Repository

    table, region, endpoint = _table_location(args)
    return Repository(table, region, host=endpoint)


def _reading(action: Callable[[], T]) -> T:
    """Run a read against the store; AWS failures become one line."""
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    try:
        return action()
    except (BotoCoreError, ClientError, PynamoDBException) as error:
        cause = getattr(error, "cause", None) or error
        raise CommandError(
            f"cannot read the tracking table: {type(cause).__name__}: {cause}"
        ) from None


def _cmd_stats(args: argparse.Namespace) -> int:
    import json

    from acktrack.report.insights import render_stats, stats

    store = _repository(args)
    since = args.since or datetime(2000, 1, 1)
    if since.tzinfo is None:
        since = since.astimezone()

    def run() -> int:
        result = stats(store, since)
        print(
            json.dumps(result, indent=1) if args.json else render_stats(result),
            end="" if not args.json else "\n",
        )
        return EXIT_OK

    return _reading(run)


def _cmd_member(args: argparse.Namespace) -> int:
    import json

    from acktrack.report.insights import render_timeline, timeline

    store = _repository(args)

    def run() -> int:
        events = timeline(store, args.subscriber_id, args.partner)
        if args.json:
            print(json.dumps({"subscriber_id": args.subscriber_id, "events": events}, indent=1))
        else:
            print(render_timeline(args.subscriber_id, events), end="")
        return EXIT_OK

    return _reading(run)


def _add_location(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--local", action="store_true", help="the stack `acktrack local` is running here"
    )
    where.add_argument(
        "--stack",
        metavar="NAME",
        help="a deployed CloudFormation stack (reads its TableName output)",
    )
    where.add_argument("--table", metavar="NAME", help="the tracking table itself")
    parser.add_argument("--endpoint", metavar="URL", help="a DynamoDB endpoint (with --table)")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else us-east-1)")


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the number of days cannot be negative")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("give at least 1")
    return value


def _iso_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date-time (e.g. 2024-01-15T12:00)"
        ) from None


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

    parse = commands.add_parser(
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
    parse.add_argument("file", metavar="FILE", help="the X12 file to read")
    parse.add_argument(
        "--json", action="store_true", help="print one JSON document instead of text"
    )
    parse.add_argument(
        "--members", action="store_true", help="include one record per member (INS loop)"
    )
    parse.add_argument(
        "--show-phi",
        action="store_true",
        help="show names, SSNs and birth dates (masked by default; mind where the output goes)",
    )
    parse.set_defaults(handler=_cmd_parse)

    from acktrack.synthetic.enrollment import ERRORS

    generate = commands.add_parser(
        "generate",
        help="write a synthetic 834 with invented people (for trials and tests)",
        description="Write a seeded synthetic 834. The same seed always gives the same file.",
        epilog=_GENERATE_EPILOG
        + "\n".join(f"  {name:22} {text}" for name, text in sorted(ERRORS.items())),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    generate.add_argument("output", metavar="OUT", help="file to write")
    generate.add_argument("--members", type=int, default=10, help="INS loops in all (default 10)")
    generate.add_argument("--groups", type=int, default=1, help="functional groups (default 1)")
    generate.add_argument(
        "--sets", type=int, default=1, help="transaction sets per group (default 1)"
    )
    generate.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    generate.add_argument(
        "--sender", default="ACKTRACKEXCH", help="ISA06/GS02 (default ACKTRACKEXCH)"
    )
    generate.add_argument(
        "--receiver", default="HEALTHPLAN01", help="ISA08/GS03 (default HEALTHPLAN01)"
    )
    generate.add_argument("--control", type=int, default=1001, help="ISA13 (default 1001)")
    generate.add_argument(
        "--sent-at", type=_iso_datetime, default=datetime(2024, 1, 15, 12, 0),
        help="envelope date-time, ISO 8601 (default 2024-01-15T12:00)",
    )  # fmt: skip
    generate.add_argument(
        "--delimiters", type=_delimiters, default=None,
        help="element, repetition, component, segment characters (default '*^:~')",
    )  # fmt: skip
    generate.add_argument(
        "--line-ending", choices=("lf", "crlf", "none"), default="lf",
        help="what follows each segment terminator (default lf)",
    )  # fmt: skip
    generate.add_argument(
        "--maintenance", action="append", metavar="CODE=WEIGHT",
        help="INS03 mix, repeatable, e.g. --maintenance 021=8 --maintenance 024=1 (default 021)",
    )  # fmt: skip
    generate.add_argument(
        "--error", action="append", metavar="NAME[:N]", help="plant a deliberate error"
    )
    generate.add_argument(
        "--ta1", action="store_true", help="ask the receiver for a TA1 (ISA14 = 1)"
    )
    generate.set_defaults(handler=_cmd_generate)

    replay = commands.add_parser(
        "replay",
        help="run files through the pipeline on the embedded local stack, then the report",
        description=(
            "Start the embedded local stack (moto, wired from template.yaml), drop each file into "
            "its bucket in the order given, run the daily report as of --as-of, and print it. "
            "Each file's folder says its bucket: outbound/ (834s you sent) or inbound/ "
            "(TA1, 999 and 834s insurers sent back). A path given twice is the same object "
            "delivered twice."
        ),
        epilog=(
            "examples:\n"
            "  acktrack replay day1/outbound/834_a.edi day1/inbound/999_a.x12\n"
            "  acktrack replay --as-of 2024-01-18T07:00 --sla-hours 24 day1/*/*\n"
            "  acktrack replay --json --email-dir out/ day1/outbound/* day1/inbound/* | jq .summary\n"
            "  acktrack replay --concurrency 4 day1/*/*   # as Lambda runs them: several at once\n\n"
            "exit status: 0 when the day ran (even if files were quarantined), 2 on bad arguments."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument(
        "paths", nargs="+", metavar="PATH", help="files under outbound/ or inbound/ folders"
    )
    replay.add_argument(
        "--as-of", type=_iso_datetime, default=None, help="report time, ISO 8601 (default: now)"
    )
    replay.add_argument(
        "--sla-hours",
        type=float,
        default=None,
        help="999 deadline in hours (default: the template's 48)",
    )
    replay.add_argument(
        "--effectuation-days",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help=(
            "list additions accepted by a 999 but not effectuated by the insurer after N days "
            "as not_effectuated (default: the template's 45; 0 turns the check off)"
        ),
    )
    replay.add_argument(
        "--part-bytes",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help=(
            "cut outbound files larger than N bytes into parts, each run by the part function "
            "through the parts queue, as in AWS (default: the template's 33554432, 32 MiB)"
        ),
    )
    replay.add_argument(
        "--concurrency",
        type=_positive_int,
        default=1,
        metavar="N",
        help=(
            "deliver the files' events from N workers at once, as Lambda runs concurrent "
            "invocations (default 1: one after another, in the order given); the report must "
            "be the same"
        ),
    )
    replay.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout (logs go to stderr)"
    )
    replay.add_argument(
        "--email-dir", metavar="DIR", help="save each email the report sent as a .eml file"
    )
    replay.add_argument(
        "--template", metavar="FILE", help="the SAM template (default: ./template.yaml or above)"
    )
    replay.set_defaults(handler=_cmd_replay)

    report = commands.add_parser(
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
    _add_location(report)
    report.add_argument(
        "--as-of", type=_iso_datetime, default=None, help="report time, ISO 8601 (default: now)"
    )
    report.add_argument(
        "--sla-hours", type=float, default=48.0, help="999 deadline in hours (default 48)"
    )
    report.add_argument(
        "--window-days", type=int, default=7, help="days the headline counts cover (default 7)"
    )
    report.add_argument(
        "--effectuation-days", type=_non_negative_int, default=45, metavar="N",
        help="list additions accepted but not effectuated after N days (default 45; 0: off)",
    )  # fmt: skip
    report.add_argument(
        "--timezone", default="UTC", help="time zone for dates in the HTML (default UTC)"
    )
    report.add_argument("--json", action="store_true", help="print one JSON document")
    report.add_argument("--csv", metavar="FILE", help="also write the detail rows as CSV")
    report.add_argument("--html", metavar="FILE", help="also write the HTML report")
    report.set_defaults(handler=_cmd_report)

    stats_parser = commands.add_parser(
        "stats",
        help="how many were sent, what share failed, which codes, how long 999s take",
        description=(
            "Exactly from stored state: member transactions sent since --since, the share rejected and "
            "unconfirmed, which error codes account for what share of rejections, and the median and "
            "95th-percentile hours from sending to the first 999, per insurer."
        ),
        epilog="examples:\n  acktrack stats --local\n  acktrack stats --stack acktrack-prod --since 2024-01-01 --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_location(stats_parser)
    stats_parser.add_argument(
        "--since", type=_iso_datetime, default=None, help="sent on or after (default: all)"
    )
    stats_parser.add_argument("--json", action="store_true", help="print one JSON document")
    stats_parser.set_defaults(handler=_cmd_stats)

    member = commands.add_parser(
        "member",
        help="one subscriber's timeline: files, acknowledgments, effectuations, findings",
        description=(
            "Every event about one subscriber id, in time order: each member transaction sent (file and "
            "control numbers), each TA1/999 verdict, each effectuation, each data-quality finding. "
            "acktrack stores no names, SSNs, birth dates or addresses, so none are shown."
        ),
        epilog=(
            "examples:\n  acktrack member 300000017 --local\n"
            "  acktrack member 300000017 --stack acktrack-prod --json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    member.add_argument(
        "subscriber_id", metavar="SUBSCRIBER_ID", help="the REF*0F subscriber identifier"
    )
    _add_location(member)
    member.add_argument("--partner", help="only this insurer (ISA08 of the 834s)")
    member.add_argument("--json", action="store_true", help="print one JSON document")
    member.set_defaults(handler=_cmd_member)

    local = commands.add_parser(
        "local",
        help="run the embedded local stack in the foreground and feed it from a folder",
        description=(
            "Start the embedded local stack (wired from template.yaml) and keep it running. With "
            "--watch DIR, files copied under DIR/outbound/ and DIR/inbound/ go into the buckets as "
            "they appear. Run `acktrack report --local` from another terminal."
        ),
    )
    local.add_argument(
        "--watch", metavar="DIR", help="folder to watch (creates outbound/ and inbound/)"
    )
    local.add_argument(
        "--template", metavar="FILE", help="the SAM template (default: ./template.yaml or above)"
    )
    local.add_argument("--verbose", action="store_true", help="show the functions' logs")
    local.set_defaults(handler=_cmd_local)

    demo = commands.add_parser(
        "demo",
        help="run a realistic day on the embedded local stack and print the report",
        description=(
            "Generate a realistic day (invented people, three insurers, TA1s and 999s, a missing "
            "acknowledgment, a partial rejection, a duplicate and a bad file), replay it on the "
            "embedded local stack and print the report. What `make demo` runs."
        ),
    )
    demo.add_argument("--out", metavar="DIR", help="keep the day's files (and the emails) in DIR")
    demo.add_argument("--email-dir", metavar="DIR", help="save the report email(s) as .eml files")
    demo.add_argument("--json", action="store_true", help="print the report as JSON")
    demo.add_argument("--detail", type=int, default=15, help="detail rows to print (default 15)")
    demo.set_defaults(handler=_cmd_demo)
    return parser


# Packages of the `local` extra (the embedded stack); a command that needs them says so.
_LOCAL_EXTRA = frozenset({"moto", "samtranslator", "yaml", "werkzeug", "flask", "flask_cors"})


def _run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except CommandError as error:
        print(f"acktrack: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print("acktrack: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (head, less) went away; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as error:  # a bug: say so without quoting data that may hold PHI
        missing = error.name or "" if isinstance(error, ModuleNotFoundError) else ""
        if missing.split(".")[0] in _LOCAL_EXTRA:
            print(
                f"acktrack: this command needs the local stack's packages ({missing} is "
                "missing); install them with: pip install 'acktrack[local]' "
                "(make demo does it for you)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        if os.environ.get("ACKTRACK_DEBUG") == "1":
            raise
        print(
            f"acktrack: internal error ({type(error).__name__}); "
            "run again with ACKTRACK_DEBUG=1 for a traceback and please report it",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "delimiters", "unset") is None:
        from acktrack.x12.delimiters import DEFAULT_DELIMITERS

        args.delimiters = DEFAULT_DELIMITERS
    return _run(args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
