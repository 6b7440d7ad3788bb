"""`acktrack replay`: run files through the pipeline on the embedded local stack, then the report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from acktrack.cli.common import (
    EXIT_OK,
    CommandError,
    _iso_datetime,
    _non_negative_int,
    _positive_int,
    add_parameter_option,
    add_trace_option,
    open_trace,
    stack_parameters,
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "replay",
        help="run files through the pipeline on the embedded local stack, then the report",
        description=(
            "Start the embedded local stack (moto, wired from template.yaml), drop each file into "
            "its bucket in the order given, run the daily report as of --as-of, and print it. "
            "Each file's folder says its bucket: outbound/ (834s you sent), inbound/ "
            "(TA1, 999 and 834s insurers sent back) or expected/ (your system's CSV of the "
            "enrollment actions it took: insurer_id, subscriber_id, member_id, maintenance_type, "
            "effective_date, action_id, created_at; an action no 834 sent within "
            "ExpectedSendHours is listed as never sent). A path given twice is the same object "
            "delivered twice."
        ),
        epilog=(
            "examples:\n"
            "  acktrack replay day1/outbound/834_a.edi day1/inbound/999_a.x12\n"
            "  acktrack replay day1/expected/actions.csv day1/outbound/*   # what was never sent\n"
            "  acktrack replay --as-of 2024-01-18T07:00 --sla-hours 24 day1/*/*\n"
            "  acktrack replay --json --email-dir out/ day1/outbound/* day1/inbound/* | jq .summary\n"
            "  acktrack replay --concurrency 4 day1/*/*   # as Lambda runs them: several at once\n"
            "  acktrack replay --parameter RequireInsurerFolders=true --parameter EmailDetailRows=50 day1/*/*\n"
            "  acktrack replay --report-at 2024-01-18T07:00 --report-at 2024-01-19T07:00 day1/*/*\n"
            "  acktrack replay --trace-requests trace.jsonl --parameter ReportBatchSets=2 day1/*/*\n"
            "  acktrack replay --events-dir events/ day1/*/*   # what a rule on the bus would get\n\n"
            "--parameter sets any template.yaml parameter (NAME=VALUE); --sla-hours, "
            "--effectuation-days, --part-bytes and --part-members\nare AckSlaHours, "
            "EffectuationSlaDays, PartBytes and PartMembers.\n\n"
            "exit status: 0 when the day ran (even if files were quarantined), 2 on bad arguments."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="files under outbound/, inbound/ or expected/ folders",
    )
    parser.add_argument(
        "--as-of", type=_iso_datetime, default=None, help="report time, ISO 8601 (default: now)"
    )
    parser.add_argument(
        "--report-at", type=_iso_datetime, action="append", default=[], metavar="T",
        help=(
            "run the scheduled report (its workflow) at T, ISO 8601, after the files, as the "
            "schedule would that day; repeatable: one report per T, in the order given (instead "
            "of --as-of). Text: each report under a line naming its time; --json: "
            '{"reports": [...], "files": [...], "failed_events": N}'
        ),
    )  # fmt: skip
    add_trace_option(parser)
    parser.add_argument(
        "--sla-hours",
        type=float,
        default=None,
        help="999 deadline in hours (default: the template's 48)",
    )
    parser.add_argument(
        "--effectuation-days",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help=(
            "list additions accepted by a 999 but not effectuated by the insurer after N days "
            "as not_effectuated (default: the template's 45; 0 turns the check off)"
        ),
    )
    parser.add_argument(
        "--part-bytes",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help=(
            "cut outbound files larger than N bytes into parts, each run by the part function "
            "in the file workflow's Distributed Map, then finished once, as in AWS (default: the "
            "template's 33554432, 32 MiB)"
        ),
    )
    parser.add_argument(
        "--part-members",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help=(
            "cut files of more than N members in parts of about N (outbound and effectuation "
            "834s, audit 834s), split reconciliation extracts of more than N members, and apply "
            "999s answering more than N sets in slices of N, all in the file workflow (default: "
            "the template's 5000)"
        ),
    )
    parser.add_argument(
        "--concurrency",
        type=_positive_int,
        default=1,
        metavar="N",
        help=(
            "deliver the files' events from N workers at once, as Lambda runs concurrent "
            "invocations (default 1: one after another, in the order given); the report must "
            "be the same. An insurer's population waits for the files given before it: it is "
            "compared with what had arrived"
        ),
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout (logs go to stderr)"
    )
    parser.add_argument(
        "--email-dir", metavar="DIR", help="save each email the report sent as a .eml file"
    )
    parser.add_argument(
        "--events-dir", metavar="DIR",
        help=(
            "save each event the stack's EventBridge bus delivered (EnrollmentRejected, "
            "PersonConfirmed, NeverSent, ControlGap, InsurerSilent, AcknowledgmentOverdue, "
            "FileQuarantined, ReconciliationDiscrepancies) as a JSON file, as a rule on the bus "
            "would deliver it"
        ),
    )  # fmt: skip
    add_parameter_option(parser)
    parser.add_argument(
        "--template", metavar="FILE", help="the SAM template (default: ./template.yaml or above)"
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import json

    from acktrack.local.replay import (
        ReplayError,
        find_template,
        replay,
        save_emails,
        save_events,
    )
    from acktrack.local.template import TemplateError
    from acktrack.report.text import render_text

    def progress(number: int, total: int, key: str, outcome: str) -> None:
        print(f"[{number}/{total}] {key}: {outcome}", file=sys.stderr)

    if args.report_at and args.as_of is not None:
        raise CommandError("give --as-of (one report) or --report-at (each a report), not both")
    try:
        template = find_template(Path(args.template) if args.template else None)
        parameters = stack_parameters(args, template, {
            "AckSlaHours": ("--sla-hours", args.sla_hours),
            "EffectuationSlaDays": ("--effectuation-days", args.effectuation_days),
            "PartBytes": ("--part-bytes", args.part_bytes),
            "PartMembers": ("--part-members", args.part_members),
        })  # fmt: skip
        with open_trace(args) as trace:
            result = replay(
                [Path(path) for path in args.paths],
                as_of=args.as_of,
                template=template,
                parameters=parameters,
                progress=progress,
                concurrency=args.concurrency,
                report_at=args.report_at or None,
                trace=trace,
                capture_events=bool(args.events_dir),
            )
    except (ReplayError, TemplateError) as error:
        raise CommandError(str(error)) from None
    if args.email_dir:
        for path in save_emails(result.emails, Path(args.email_dir)):
            print(f"email saved: {path}", file=sys.stderr)
    if args.events_dir:
        saved = save_events(result.events, Path(args.events_dir))
        print(f"{len(saved)} events saved in {args.events_dir}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json_all() if args.report_at else result.to_json(), indent=1))
    elif args.report_at:
        for moment, report in zip(args.report_at, result.reports, strict=True):
            print(f"== the report at {moment.isoformat()} ==")
            print(render_text(report))
    else:
        print(render_text(result.report))
    return EXIT_OK
