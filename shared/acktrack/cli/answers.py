"""`acktrack generate 999 | ta1 | resend`: what an insurer sends back for an 834, and the
834 that sends families again, so a person can try the ledger without writing X12."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from acktrack.cli.common import EXIT_OK, CommandError, _iso_datetime, _non_negative_int

if TYPE_CHECKING:
    from acktrack.x12 import InterchangeHeader

_ANSWER_999_EPILOG = """\
examples:
  acktrack generate 999 day/outbound/a.834                      # accept every set
  acktrack generate 999 day/outbound/a.834 --reject 0002        # reject set 0002
  acktrack generate 999 day/outbound/a.834 --ik3 0001:3         # reject 0001: IK3 on member 3's INS
  acktrack generate 999 day/outbound/a.834 --ik3 0001:3:DTP --ik3 0001:4:HD
  acktrack generate 999 day/outbound/bad.834 --as-read          # reject what acktrack finds wrong

MEMBER counts a set's INS loops from 1 (`acktrack parse --members FILE.834` lists them).
SEGMENT is one of INS (INS03), REF (REF02), DTP (DTP03), NM1 (NM103), DMG (DMG02) or
HD (HD03) in that member's loop, default INS: an IK3 (code 8) and an IK4 on that element.
A set rejected without --ik3 gets an IK3 on its first member's INS. AK9 follows the sets
(A, P or R). The 999 comes from the 834's receiver (ISA08) to its sender, and is written
to DIR/inbound/<insurer id>/ where `acktrack replay` takes it as the insurer's.
"""

_TA1_EPILOG = """\
examples:
  acktrack generate ta1 day/outbound/a.834                       # TA1 A, note 000
  acktrack generate ta1 day/outbound/a.834 --reject              # TA1 R, note 024
  acktrack generate ta1 day/outbound/a.834 --reject --note 009   # unknown receiver id

A TA1 R rejects every member of the interchange, whatever a 999 says.
"""

_RESEND_EPILOG = """\
examples:
  acktrack generate resend day/outbound/a.834 --families 100000002,100000005
  acktrack generate resend day/outbound/a.834 --rejected-by day/inbound/HEALTHPLAN01/a.999
  acktrack generate resend day/outbound/bad.834 --rejected-by day/inbound/HEALTHPLAN01/bad.999 \\
      --correct INS:3:099=021                                    # fix INS03 099 as you resend

The new 834 has a new ISA13 (default: the source's + 1), GS06 (the source's highest + 1)
and ST02s (after the source's highest), the same sender and receiver, and is written to
DIR/outbound/<name>.resend-<ISA13>.834. A family is every INS loop with that REF*0F.
"""


def add_parsers(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    answer = kinds.add_parser(
        "999", help="a 999 answering every set of an 834: accepted, or the sets you choose rejected",
        description="Write the 999 an insurer sends back for FILE.834: every set accepted, "
        "unless --reject, --ik3 or --as-read says otherwise.",
        epilog=_ANSWER_999_EPILOG, formatter_class=raw,
    )  # fmt: skip
    _common(answer, "the 999")
    answer.add_argument(
        "--reject", action="append", default=[], metavar="ST02[,ST02...]",
        help="reject these sets (IK5 R, code 5); repeatable",
    )  # fmt: skip
    answer.add_argument(
        "--ik3", action="append", default=[], metavar="ST02:MEMBER[:SEGMENT]",
        help="reject set ST02 with an IK3/IK4 on member MEMBER's SEGMENT (default INS); repeatable",
    )  # fmt: skip
    answer.add_argument(
        "--as-read", action="store_true",
        help="also reject the sets acktrack's reader finds errors in, with IK3/IK4 where they are",
    )  # fmt: skip
    answer.set_defaults(handler=handle_999)

    ta1 = kinds.add_parser(
        "ta1", help="a TA1 for each interchange of an 834: A, or R with --reject",
        description="Write the TA1 an insurer sends back for each interchange of FILE.834.",
        epilog=_TA1_EPILOG, formatter_class=raw,
    )  # fmt: skip
    _common(ta1, "the TA1")
    ta1.add_argument("--reject", action="store_true", help="TA104 R: the interchange is rejected")
    ta1.add_argument("--note", metavar="CODE", help="TA105 (default 000, or 024 with --reject)")
    ta1.add_argument(
        "--as-read", action="store_true",
        help="reject an interchange whose envelope acktrack's reader finds wrong, with its note",
    )  # fmt: skip
    ta1.set_defaults(handler=handle_ta1)

    resend = kinds.add_parser(
        "resend", help="an 834 sending chosen families (or the rejected sets) again",
        description="Write a new 834 carrying again the families you name, or every member of "
        "the sets a 999 or TA1 rejected, as an operations team does after a rejection.",
        epilog=_RESEND_EPILOG, formatter_class=raw,
    )  # fmt: skip
    _common(resend, "the 834 (default: a day after the source)", control_help="ISA13")
    chosen = resend.add_mutually_exclusive_group(required=True)
    chosen.add_argument(
        "--families", action="append", metavar="SUBSCRIBER_ID[,...]",
        help="the families to send again, by subscriber id (REF*0F); repeatable",
    )  # fmt: skip
    chosen.add_argument(
        "--rejected-by", metavar="FILE", help="send again every member of the sets this 999/TA1 rejects"
    )  # fmt: skip
    resend.add_argument(
        "--group",
        type=_non_negative_int,
        metavar="N",
        help="GS06 (default: the source's highest + 1)",
    )
    resend.add_argument(
        "--correct", action="append", default=[], metavar="SEG:ELEMENT:OLD=NEW",
        help="change a value as it is resent, e.g. INS:3:099=021; repeatable",
    )  # fmt: skip
    resend.set_defaults(handler=handle_resend)


def _common(
    parser: argparse.ArgumentParser, what: str, control_help: str = "the insurer's ISA13"
) -> None:
    parser.add_argument("source", metavar="FILE.834", help="the 834 it answers (or resends)")
    parser.add_argument(
        "--out", metavar="DIR",
        help="write under DIR/inbound/ or DIR/outbound/ (default: the folder that holds "
        "FILE.834's outbound/ folder)",
    )  # fmt: skip
    parser.add_argument(
        "--at", type=_iso_datetime, metavar="ISO",
        help=f"when {what} was sent, ISO 8601 (default: after the source's ISA09/ISA10)",
    )  # fmt: skip
    parser.add_argument(
        "--control", type=_non_negative_int, metavar="N",
        help=f"{control_help} (default: derived from the source's, so answers do not collide)",
    )  # fmt: skip


def _read(args: argparse.Namespace) -> tuple[bytes, InterchangeHeader, Path]:
    from acktrack.synthetic.answers import AnswerError, first_interchange

    source = Path(args.source)
    try:
        data = source.read_bytes()
    except OSError as error:
        raise CommandError(f"{source}: {error.strerror or error}") from None
    try:
        envelope = first_interchange(data)
    except AnswerError as error:
        raise CommandError(f"{source}: {error}") from None
    if args.out:
        return data, envelope, Path(args.out)
    for folder in (*source.parents, *source.resolve().parents):  # as given, else absolute
        if folder.name == "outbound":
            return data, envelope, folder.parent
    raise CommandError(f"{source} is not in an outbound/ folder: say where with --out DIR")


def _sent(envelope: InterchangeHeader, later: timedelta) -> datetime:
    sent = envelope.sent_at
    if sent is None:
        return datetime.now().replace(second=0, microsecond=0)
    return sent.replace(tzinfo=None) + later


def _derived(envelope: InterchangeHeader, base: int) -> int:
    control = int(envelope.control) if envelope.control.isdigit() else 0
    return base + control % 100_000_000


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(path)  # on stdout, for scripts: day=$(acktrack generate 999 ...)
    return path


def _split(values: list[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def handle_999(args: argparse.Namespace) -> int:
    import io

    from acktrack.synthetic.answers import AnswerError, MemberError, answer_999
    from acktrack.x12 import GroupAcknowledgment, read_x12

    data, envelope, out = _read(args)
    try:
        member_errors = [MemberError.parse(text) for text in args.ik3]
        answer = answer_999(data, insurer_control=args.control or _derived(envelope, 700_000_000),
                            sent_at=args.at or _sent(envelope, timedelta(hours=2)),
                            reject=set(_split(args.reject)), member_errors=member_errors,
                            as_read=args.as_read)  # fmt: skip
    except AnswerError as error:
        raise CommandError(f"{args.source}: {error}") from None
    path = _write(out / "inbound" / envelope.receiver_id / f"{Path(args.source).stem}.999", answer)
    verdicts = [
        (one.control, one.status)
        for record in read_x12(io.BytesIO(answer))
        if isinstance(record, GroupAcknowledgment)
        for one in record.sets
    ]
    rejected = [control for control, status in verdicts if status != "A"]
    print(
        f"wrote {path}: 999 from {envelope.receiver_id} answering ISA13 {envelope.control}: "
        f"{len(verdicts)} set(s), {len(verdicts) - len(rejected)} accepted"
        + (f", {len(rejected)} rejected ({', '.join(rejected)})" if rejected else ""),
        file=sys.stderr,
    )
    return EXIT_OK


def handle_ta1(args: argparse.Namespace) -> int:
    import io

    from acktrack.synthetic.answers import AnswerError, answer_ta1
    from acktrack.x12 import InterchangeAcknowledgment, read_x12

    data, envelope, out = _read(args)
    try:
        answer = answer_ta1(data, insurer_control=args.control or _derived(envelope, 800_000_000),
                            sent_at=args.at or _sent(envelope, timedelta(hours=1)),
                            reject=args.reject, note=args.note, as_read=args.as_read)  # fmt: skip
    except AnswerError as error:
        raise CommandError(f"{args.source}: {error}") from None
    path = _write(out / "inbound" / envelope.receiver_id / f"{Path(args.source).stem}.ta1", answer)
    verdicts = [
        f"ISA13 {record.control}: {record.status} (note {record.note})"
        for record in read_x12(io.BytesIO(answer))
        if isinstance(record, InterchangeAcknowledgment)
    ]
    print(f"wrote {path}: TA1 from {envelope.receiver_id} answering {'; '.join(verdicts)}",
          file=sys.stderr)  # fmt: skip
    return EXIT_OK


def handle_resend(args: argparse.Namespace) -> int:
    import io

    from acktrack.synthetic.resend import rejected_sets, resend_families
    from acktrack.x12 import GroupHeader, TransactionHeader, read_x12

    data, envelope, out = _read(args)
    corrections: dict[tuple[str, int, str], str] = {}
    for text in args.correct:
        where, _, new = text.partition("=")
        parts = where.split(":")
        if not _ or len(parts) != 3 or not parts[1].isdigit():
            raise CommandError(f"--correct {text!r}: write SEG:ELEMENT:OLD=NEW, e.g. INS:3:099=021")
        corrections[(parts[0].upper(), int(parts[1]), parts[2])] = new
    groups, sets = [0], [0]
    for record in read_x12(io.BytesIO(data), members=False):
        if isinstance(record, GroupHeader) and record.control.isdigit():
            groups.append(int(record.control))
        elif isinstance(record, TransactionHeader) and record.control.isdigit():
            sets.append(int(record.control))
    chosen: set[tuple[str, str, str]] = set()
    if args.rejected_by:
        try:
            answers = Path(args.rejected_by).read_bytes()
        except OSError as error:
            raise CommandError(f"{args.rejected_by}: {error.strerror or error}") from None
        chosen = rejected_sets(data, answers)
        if not chosen:
            raise CommandError(
                f"{args.rejected_by} rejects no set of {args.source}: nothing to resend"
            )
    control = args.control or (int(envelope.control) + 1 if envelope.control.isdigit() else 1)
    try:
        resent = resend_families(
            data, subscriber_ids=set(_split(args.families or [])), transaction_sets=chosen,
            interchange_control=control, group_control=args.group or max(groups) + 1,
            first_transaction_control=max(sets) + 1,
            sent_at=args.at or _sent(envelope, timedelta(days=1)), corrections=corrections,
        )  # fmt: skip
    except ValueError as error:
        raise CommandError(f"{args.source}: {error}") from None
    name = f"{Path(args.source).stem}.resend-{int(resent.interchange_control)}.834"
    path = _write(out / "outbound" / name, resent.data)
    print(
        f"wrote {path}: ISA13 {resent.interchange_control}, GS06 {resent.group_control}, "
        f"set(s) {', '.join(resent.transaction_controls)}: {resent.members} member(s) of "
        f"{len(resent.families)} famil{'y' if len(resent.families) == 1 else 'ies'} "
        f"to {resent.receiver_id}",
        file=sys.stderr,
    )
    return EXIT_OK
