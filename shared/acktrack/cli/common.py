"""What every command shares: the user-facing error, exit codes, argument types, where the
tracking table is (--local, --stack, --table), and how a handler is run."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from acktrack.local.trace import RequestTrace
    from acktrack.store.repository import Repository

T = TypeVar("T")

EXIT_OK = 0
EXIT_USAGE = 2  # bad arguments, or input that cannot be read as X12
EXIT_INTERNAL = 70


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit status attached."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.status = status


# Argument types. argparse names a type function in some of its messages
# ("invalid _name value: ..."), so these keep their names.


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(
            "it cannot be negative" if minimum == 0 else f"give at least {minimum}"
        )
    return value


def _non_negative_int(text: str) -> int:  # days, bytes
    return _whole_number(text, 0)


def _positive_int(text: str) -> int:  # workers
    return _whole_number(text, 1)


def _iso_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date-time (e.g. 2024-01-15T12:00)"
        ) from None


def _parameter(text: str) -> tuple[str, str]:
    """NAME=VALUE, or sam's long form ParameterKey=NAME,ParameterValue=VALUE."""
    if text.startswith("ParameterKey="):
        key, separator, value = text.removeprefix("ParameterKey=").partition(",ParameterValue=")
    else:
        key, separator, value = text.partition("=")
    if not separator or not key.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r}: write NAME=VALUE, e.g. AckSlaHours=24 (a template.yaml parameter)"
        )
    return key.strip(), value


PARAMETER_HELP = (
    "set a template.yaml parameter on the embedded stack, as `sam deploy "
    "--parameter-overrides` takes them: NAME=VALUE (or ParameterKey=NAME,ParameterValue=VALUE), "
    "repeatable; the value is everything after the first '='. Refused: an unknown name (the "
    "known ones are listed) or a value the template does not allow"
)


def add_parameter_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parameter",
        action="append",
        type=_parameter,
        default=[],
        metavar="NAME=VALUE",
        help=PARAMETER_HELP,
    )


def add_trace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trace-requests", metavar="FILE",
        help=(
            "write one JSON line per invocation the stack runs (each S3 event, queue batch and "
            "workflow task) to FILE: its function, number, time, DynamoDB requests by operation "
            "and its 10 most-written items (key prefix and a hash, never a key's value)"
        ),
    )  # fmt: skip


@contextlib.contextmanager
def open_trace(args: argparse.Namespace) -> Iterator[RequestTrace | None]:
    """The request trace --trace-requests asks for (None: not asked), closed after."""
    if not getattr(args, "trace_requests", None):
        yield None
        return
    from acktrack.local.trace import RequestTrace

    try:
        trace = RequestTrace.to_file(Path(args.trace_requests))
    except OSError as error:
        raise CommandError(f"--trace-requests {args.trace_requests}: {error.strerror}") from None
    try:
        yield trace
    finally:
        trace.close()


def stack_parameters(
    args: argparse.Namespace, template: Path, flags: dict[str, tuple[str, Any]] | None = None
) -> dict[str, Any]:
    """--parameter's values with the command's own flags (``flags``: template parameter ->
    (the flag, its value, None when not given)), checked against ``template`` before
    anything starts: an unknown name or a refused value is one line."""
    from acktrack.local.template import TemplateError, check_parameters, load_yaml

    given: dict[str, Any] = {}
    for name, value in args.parameter:
        if name in given and given[name] != value:
            raise CommandError(f"--parameter {name} given twice ({given[name]!r}, {value!r})")
        given[name] = value
    for name, (flag, value) in (flags or {}).items():
        if value is None:
            continue
        if name in given:
            raise CommandError(f"{flag} sets {name}: give it once (not also --parameter {name})")
        given[name] = value
    try:
        check_parameters(load_yaml(template), given)
    except TemplateError as error:
        raise CommandError(str(error)) from None
    return given


def add_location(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--local",
        action="store_true",
        help="the stack `acktrack local` runs (found from any folder: one per user)",
    )
    where.add_argument(
        "--stack",
        metavar="NAME",
        help="a deployed CloudFormation stack (reads its TableName output)",
    )
    where.add_argument("--table", metavar="NAME", help="the tracking table itself")
    parser.add_argument("--endpoint", metavar="URL", help="a DynamoDB endpoint (with --table)")
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, else us-east-1)")


def _region(args: argparse.Namespace) -> str:
    return str(
        args.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )


def table_location(args: argparse.Namespace) -> tuple[str, str, str | None]:
    """(table, region, endpoint) from --local, --stack or --table."""
    if args.local:
        state = local_stack(args)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.setdefault(
                name, "local"
            )  # the local endpoint wants signed requests, not real keys
        return str(state["table"]), str(state["region"]), str(state["endpoint"])
    region = _region(args)
    if args.table:
        return args.table, region, args.endpoint
    if args.stack:
        try:
            stack = describe_stack(args)
        except LookupError as error:
            raise CommandError(str(error)) from None
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if "TableName" not in outputs:
            raise CommandError(f"stack {args.stack!r} has no TableName output")
        return outputs["TableName"], region, args.endpoint
    raise CommandError("say where the state is: --local, --stack NAME or --table NAME")


def local_stack(args: argparse.Namespace) -> dict[str, Any]:
    """The running local stack's state (found from any folder), read once per command."""
    known: dict[str, Any] | None = getattr(args, "_local_state", None)
    if known is not None:
        return known
    from acktrack.local.state import LocalStackError, running_stack

    try:
        state = running_stack()
    except LocalStackError as error:
        raise CommandError(str(error)) from None
    args._local_state = state
    return state


DEFAULT_SLA_HOURS = 48.0  # the template's AckSlaHours default
SLA_HELP = (
    "999 deadline in hours (default: the stack's AckSlaHours with --stack or --local, else 48)"
)


def describe_stack(args: argparse.Namespace) -> dict[str, Any]:
    """The --stack's description, asked of CloudFormation once per command (the table, the
    SLA and the retention all come from it); LookupError when it cannot be read."""
    known: dict[str, Any] | None = getattr(args, "_stack_description", None)
    if known is not None:
        return known
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        (stack,) = boto3.client("cloudformation", region_name=_region(args)).describe_stacks(
            StackName=args.stack
        )["Stacks"]
    except (BotoCoreError, ClientError, ValueError) as error:
        raise LookupError(f"cannot read stack {args.stack!r}: {error}") from None
    described: dict[str, Any] = dict(stack)
    args._stack_description = described
    return described


def stack_parameter(args: argparse.Namespace, name: str) -> str | None:
    """A deployed stack's parameter (with --stack), or one the local stack was started with
    (``acktrack local --parameter``, with --local), else None (the template's default)."""
    if getattr(args, "local", False):
        given = local_stack(args).get("parameters") or {}
        return str(given[name]) if name in given else None
    if not getattr(args, "stack", None):
        return None
    try:
        stack = describe_stack(args)
    except LookupError:
        return None  # table_location says what is wrong with --stack
    for parameter in stack.get("Parameters", []):
        if parameter.get("ParameterKey") == name:
            return str(parameter.get("ParameterValue", ""))
    return None


def _number(text: str | None, default: float) -> float:
    try:
        return float(text) if text else default
    except ValueError:
        return default


def sla_hours(args: argparse.Namespace) -> float:
    """--sla-hours, else the stack's AckSlaHours (deployed, or the local one's), so the CLI
    judges overdue and resends as the stack's report does."""
    if args.sla_hours is not None:
        return float(args.sla_hours)
    return _number(stack_parameter(args, "AckSlaHours"), DEFAULT_SLA_HOURS)


DEFAULT_RETENTION_DAYS = 730  # the template's RetentionDays default


def repository(args: argparse.Namespace) -> Repository:
    from acktrack.handlers.wiring import open_repository

    table, region, endpoint = table_location(args)
    # What a command writes (an operator's resolution) expires as the stack's items do.
    retention = int(_number(stack_parameter(args, "RetentionDays"), DEFAULT_RETENTION_DAYS))
    return open_repository(table, region, host=endpoint, retention_days=retention)


def reading(action: Callable[[], T], verb: str = "read") -> T:
    """Run a read (or a write) against the store; AWS failures become one line."""
    from botocore.exceptions import BotoCoreError, ClientError
    from pynamodb.exceptions import PynamoDBException

    try:
        return action()
    except (BotoCoreError, ClientError, PynamoDBException) as error:
        cause = getattr(error, "cause", None) or error
        raise CommandError(
            f"cannot {verb} the tracking table: {type(cause).__name__}: {cause}"
        ) from None


# Packages of the `local` extra (the embedded stack); a command that needs them says so.
_LOCAL_EXTRA = frozenset({"moto", "samtranslator", "yaml", "werkzeug", "flask", "flask_cors"})


def run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
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
