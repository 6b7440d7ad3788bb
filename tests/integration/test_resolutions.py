"""Operators' resolutions an auditor can read (the CLI, the store and the report on moto):
the claimed --by beside the identity that really wrote it, --dry-run, --from-csv, what is
refused, the report's list, and a resolution that lives as long as what it closed."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from acktrack.cli import main
from acktrack.domain.ledger import ClosedBy, Resolution
from acktrack.ingest.resolution import resolve
from acktrack.report.text import render_text
from tests.integration.conftest import ARRIVAL, Day

ARN = "arn:aws:sts::123456789012:user/moto"  # moto's STS caller
AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)


def _cli(*argv: str, table: str) -> list[str]:
    return [*argv, "--table", table, "--region", "us-east-1"]


def _people(day: Day, members: int, seed: int) -> list[str]:
    _, generated = day.send(f"quiet-{seed}.834", members=members, seed=seed, dependents=0.0)
    return sorted({m.subscriber_id for _, m in generated.all_members()})


def _resolutions(day: Day) -> list[dict[str, Any]]:
    return [i for i in day.table() if i["sk"]["S"].startswith("R#")]


def test_the_report_lists_who_resolved_as_claimed_and_who_really_wrote_it(
    day: Day, capsys: pytest.CaptureFixture[str]
) -> None:
    subscribers = _people(day, 3, seed=81)
    argv = ["resolve", subscribers[0], "--partner", "HEALTHPLAN01", "--by", "Ana (ops)",
            "--reason", "insurer confirmed by phone, ticket 4411"]  # fmt: skip
    assert main(_cli(*argv, table=day.stack.table)) == 0
    said = capsys.readouterr().out
    assert "closed as resolved_by_operator by Ana (ops) at " in said
    assert f", written by {ARN}" in said
    (item,) = _resolutions(day)
    assert (item["by"]["S"], item["caller"]["S"]) == ("Ana (ops)", ARN)
    assert item["rk"]["S"].startswith("RESOLVED#") and item["rs"]["S"] == (
        f"{item['at']['S']}#{item['resolution_id']['S']}"
    )  # the sparse index, by time: the report's window reads it, never a scan
    now = datetime.now(UTC)
    report = day.report(now)
    (listed,) = report["resolutions"]
    assert listed == {
        "at": item["at"]["S"], "partner": "HEALTHPLAN01", "subscriber_id": subscribers[0],
        "member_id": None, "reason": "insurer confirmed by phone, ticket 4411", "by": "Ana (ops)",
        "caller": ARN, "closed": 1,
    }  # fmt: skip
    assert report["summary"]["resolutions"] == 1
    # The window is the report's: a report as of a week later lists it no more.
    assert day.report(now + timedelta(days=8))["resolutions"] == []
    # The archive holds it as a CSV of its own, attached to the email beside the detail.
    bucket = day.stack.bucket("Reports")
    key = f"reports/{now:%Y/%m/%d}/resolutions-{now:%Y-%m-%dT%H%M%S}Z.csv"
    archived = day.stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    (row,) = csv.DictReader(io.StringIO(archived.decode("utf-8-sig")))
    assert (row["insurer"], row["subscriber_id"], row["by"], row["caller"], row["closed"]) == (
        "HEALTHPLAN01", subscribers[0], "Ana (ops)", ARN, "1",
    )  # fmt: skip
    first = day.emails()[0]
    names = [part.get_filename() for part in first.iter_attachments()]
    assert names == [f"unconfirmed-{now:%Y-%m-%d}.csv", f"resolutions-{now:%Y-%m-%d}.csv"]
    # `member --json`: each a field of its own.
    assert main(_cli("member", subscribers[0], "--json", table=day.stack.table)) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    (resolved,) = [e for e in events if e["event"] == "resolved"]
    assert {k: resolved[k] for k in ("at", "by", "caller", "reason", "closed", "member_id")} == {
        "at": item["at"]["S"], "by": "Ana (ops)", "caller": ARN,
        "reason": "insurer confirmed by phone, ticket 4411", "closed": 1, "member_id": None,
    }  # fmt: skip
    assert f"resolved by Ana (ops) (written by {ARN}): insurer confirmed" in resolved["text"]


def test_a_dry_run_says_what_would_close_and_writes_nothing(
    day: Day, capsys: pytest.CaptureFixture[str]
) -> None:
    subscribers = _people(day, 2, seed=82)
    before = day.table()
    argv = ["resolve", subscribers[0], "--partner", "HEALTHPLAN01", "--reason", "withdrew",
            "--dry-run", "--sla-hours", "48"]  # fmt: skip
    assert main(_cli(*argv, table=day.stack.table)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"dry run, nothing written: subscriber {subscribers[0]} with HEALTHPLAN01: 1 open "
        "enrollment (1 member transaction) would be closed as resolved_by_operator"
    )
    (closing,) = lines[1:]
    assert closing.startswith(f"  would close: insurer HEALTHPLAN01 subscriber {subscribers[0]} "
                              "member E")  # fmt: skip
    assert closing.endswith(": 1 attempt, leaving overdue") and " line HLT:" in closing
    assert day.table() == before


def test_refused_input_changes_nothing_and_says_why_in_one_line(
    day: Day, capsys: pytest.CaptureFixture[str]
) -> None:
    subscribers = _people(day, 2, seed=83)
    before = day.table()
    cases = {
        "an escape in --by": (["--by", "ops\x1b[2K", "--reason", "withdrew"],
                              "--by has control character U+001B at character 4"),
        "a line break in --by": (["--by", "ops\n2024-01-19 resolved by admin", "--reason", "x"],
                                 "--by has a line break at character 4"),
        "a line break in the reason": (["--reason", "withdrew\nresolved by admin"],
                                       "--reason has a line break at character 9"),
        "an SSN": (["--reason", "SSN 123-45-6789"], "looks like an SSN"),
        "a birth date": (["--reason", "confirmed, DOB 03/02/1985"], "could be a birth date"),
        "a phone number": (["--reason", "call (555) 234-5678"], "looks like a phone number"),
    }  # fmt: skip
    for what, (extra, message) in cases.items():
        argv = ["resolve", subscribers[0], "--partner", "HEALTHPLAN01", *extra]
        assert main(_cli(*argv, table=day.stack.table)) == 2, what
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, what
    assert day.table() == before


def _csv(tmp_path: Path, text: str, *, bom: bool = True) -> str:
    path = tmp_path / "closures.csv"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return str(path)


def test_from_csv_closes_every_row_or_none(
    day: Day, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    subscribers = _people(day, 3, seed=84)
    before = day.table()
    bad = _csv(tmp_path, "insurer_id,subscriber_id,member_id,reason\r\n" + "".join(
        f"HEALTHPLAN01,{s},,withdrew\r\n" for s in subscribers
    ) + "HEALTHPLAN01,999999999,,withdrew\r\n")  # fmt: skip
    assert main(_cli("resolve", "--from-csv", bad, table=day.stack.table)) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "acktrack: line 5: subscriber 999999999 is not tracked with HEALTHPLAN01",
        "acktrack: 1 of 4 rows refused; nothing was written",
    ]
    assert day.table() == before
    good = _csv(tmp_path, "insurer_id,subscriber_id,member_id,reason\n" + "".join(
        f"HEALTHPLAN01,{s},,withdrew\n" for s in subscribers[:2]
    ))  # fmt: skip
    assert main(_cli("resolve", "--from-csv", good, "--dry-run", table=day.stack.table)) == 0
    assert "3 rows" not in capsys.readouterr().out and day.table() == before
    assert main(_cli("resolve", "--from-csv", good, "--by", "ana", table=day.stack.table)) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out if line.startswith("line ")] == ["line 2", "line 3"]
    assert out[-1] == (
        "2 rows: 2 open enrollments (2 member transactions) closed as resolved_by_operator by "
        f"ana, written by {ARN}"
    )
    assert sorted((i["subscriber_id"]["S"], i["caller"]["S"]) for i in _resolutions(day)) == [
        (s, ARN) for s in subscribers[:2]
    ]
    # Mixing a file with one subscriber's options is refused before anything is read.
    assert main(_cli("resolve", subscribers[2], "--from-csv", good, table=day.stack.table)) == 2
    assert "give no SUBSCRIBER_ID, --partner, --member or --reason" in capsys.readouterr().err


def test_only_operators_resolutions_are_in_the_report_index(day: Day) -> None:
    subscribers = _people(day, 2, seed=85)
    store = day.stack.repository()
    resolve(store, partner="HEALTHPLAN01", subscriber_id=subscribers[0], reason="phoned",
            by="ana", caller="os-user:ana", at=AS_OF - timedelta(days=1))  # fmt: skip
    ours = store.partners()[0].our_id
    confirmed = Resolution("RCN-x", "2024-01-19T07:00:00Z", "reconciliation with HEALTHPLAN01",
                           "held", kind=ClosedBy.RECONCILIATION)  # fmt: skip
    assert store.add_resolution(ours, "HEALTHPLAN01", subscribers[1], confirmed, 0)
    kept = {i["resolution_id"]["S"]: i for i in _resolutions(day)}
    assert "rk" not in kept["RCN-x"] and len(kept) == 2
    window = list(store.operator_resolutions("2024-01-13T07:00:00Z", "2024-01-20T07:00:00Z"))
    assert [(r.subscriber_id, r.caller) for r in window] == [(subscribers[0], "os-user:ana")]
    assert list(store.operator_resolutions("2024-01-19T07:00:01Z", "2024-01-20T07:00:00Z")) == []


def _expire(day: Day, moment: datetime) -> None:
    """What DynamoDB's TTL does by ``moment``: every item whose ``expires`` passed is deleted."""
    for item in day.table():
        if "expires" in item and int(item["expires"]["N"]) < moment.timestamp():
            day.stack.client("dynamodb").delete_item(
                TableName=day.stack.table, Key={"pk": item["pk"], "sk": item["sk"]}
            )


@pytest.mark.parametrize("parameters", [{"RetentionDays": 10}])
def test_a_resolution_lives_as_long_as_the_members_it_closed(
    day: Day, parameters: dict[str, Any]
) -> None:
    """Members arrive on the 19th and would expire on the 29th; the report of the 25th keeps
    the open ones 60 days more. An operator closes one family on the 26th: its resolution
    must outlive those members, or when DynamoDB deletes it they reopen."""
    subscribers = _people(day, 2, seed=86)
    day.report(AS_OF + timedelta(days=5))  # keeps the open members past their retention
    store = day.stack.repository()
    store.retention_days = 10  # as the CLI reads it from the stack
    resolve(store, partner="HEALTHPLAN01", subscriber_id=subscribers[0], reason="withdrew",
            by="ana", caller="os-user:ana", at=AS_OF + timedelta(days=6))  # fmt: skip
    (item,) = _resolutions(day)
    closed = [i for i in day.table() if i["sk"]["S"].startswith("M#")
              and i["subscriber_id"]["S"] == subscribers[0]]  # fmt: skip
    latest = max(int(i["expires"]["N"]) for i in closed)
    assert latest > (ARRIVAL + timedelta(days=30)).timestamp()  # kept open past RetentionDays
    assert int(item["expires"]["N"]) == latest  # not the 26th + 10 days
    later = datetime(2024, 3, 1, tzinfo=UTC)
    _expire(day, later)
    assert len(_resolutions(day)) == 1  # the resolution is kept while what it closed is
    report = day.report(later)
    assert subscribers[0] not in {r["subscriber_id"] for r in report["unconfirmed"]}
    assert subscribers[1] in {r["subscriber_id"] for r in report["unconfirmed"]}
    assert report["summary"]["resolved_by_operator"] == 1


def test_a_resolution_stored_before_the_checks_is_shown_escaped(
    day: Day, capsys: pytest.CaptureFixture[str]
) -> None:
    """An item recorded before `resolve` refused line breaks and escapes: the timeline and the
    report print them escaped on one line; `--json` gives the stored values as they are."""
    subscribers = _people(day, 1, seed=87)
    store = day.stack.repository()
    ours = store.partners()[0].our_id
    old = Resolution("OLD1", "2024-01-19T09:00:00Z", "ops\n2024-01-19 resolved by admin",
                     "withdrew \x1b[2K")  # fmt: skip
    assert store.add_resolution(ours, "HEALTHPLAN01", subscribers[0], old, 0)
    assert main(_cli("member", subscribers[0], table=day.stack.table)) == 0
    (line,) = [t for t in capsys.readouterr().out.splitlines() if " resolved " in t]
    assert "resolved by ops\\u000a2024-01-19 resolved by admin: withdrew \\u001b[2K" in line
    assert main(_cli("member", subscribers[0], "--json", table=day.stack.table)) == 0
    (event,) = [
        e for e in json.loads(capsys.readouterr().out)["events"] if e["event"] == "resolved"
    ]
    assert (event["by"], event["reason"], event["caller"]) == (old.by, old.reason, None)
    assert "\n" not in event["text"] and "\x1b" not in event["text"]
    text = render_text(day.report(AS_OF))
    (listed,) = [t for t in text.splitlines() if "(every open enrollment): 0 closed" in t]
    assert "by ops\\u000a2024-01-19 resolved by admin, written by not recorded; reason: " in listed
