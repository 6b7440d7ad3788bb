"""`acktrack local --watch` as a user runs it, `--stack` reading a deployed stack's table
(a CloudFormation stack in moto), and a function stopped partway through a file."""

from __future__ import annotations

import argparse
import io
import json
import os
import pwd
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from acktrack.cli import main
from acktrack.cli.common import sla_hours
from acktrack.handlers import wiring
from acktrack.local.stack import EmbeddedStack
from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.reliability.support import SENT, File, deliver, final_state, fresh_stack

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _834(members: int, seed: int, **spec: Any) -> bytes:
    buffer = io.BytesIO()
    write_834(EnrollmentSpec(seed=seed, members=members, sent_at=SENT, **spec), buffer)
    return buffer.getvalue()


def _wait_for(process: subprocess.Popen[str], text: str, seconds: float = 180) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if line:
            lines.append(line.rstrip())
            if text in line:
                return lines
        elif process.poll() is not None:
            break
    raise AssertionError(f"{text!r} not seen; got {lines}")


def test_local_watch_tracks_files_as_they_are_copied_in(tmp_path: Path) -> None:
    """Started in one folder, read from another (the state file is the user's, not the
    folder's); one stack per user; a template parameter set on the stack is the one the
    CLI judges by; gone when it stops."""
    data = _834(6, seed=61)
    started, elsewhere, third = (tmp_path / name for name in ("started-here", "elsewhere", "third"))
    for folder in (started, elsewhere, third):
        folder.mkdir()
    state = tmp_path / "state"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "ACKTRACK_STATE_DIR": str(state)}

    def cli(*args: str, cwd: Path = elsewhere) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "acktrack.cli", *args], cwd=cwd,
                              capture_output=True, text=True, env=env)  # fmt: skip

    process = subprocess.Popen(
        [sys.executable, "-m", "acktrack.cli", "local", "--watch", str(tmp_path / "day"),
         "--template", str(ROOT / "template.yaml"), "--parameter", "AckSlaHours=24"],
        cwd=started, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        _wait_for(process, "watching")
        assert json.loads((state / "local.json").read_text())["folder"] == str(started)
        (tmp_path / "day" / "outbound" / "a.834").write_bytes(data)
        _wait_for(process, "outbound/a.834: tracked")
        (tmp_path / "day" / "inbound" / "a.999").write_bytes(
            respond(data, insurer_control=5001, sent_at=SENT + timedelta(hours=2))
        )
        _wait_for(process, "inbound/a.999: acknowledgments")
        report = cli("report", "--local", "--json", "--as-of", "2024-01-16T07:00:00+00:00")
        assert report.returncode == 0, report.stderr
        document = json.loads(report.stdout)
        assert (document["summary"]["members_sent"], document["summary"]["confirmed"]) == (6, 6)
        assert document["sla_hours"] == 24  # the stack's AckSlaHours, not the CLI's 48
        # A second stack by the same user is refused, naming the one that runs.
        second = cli("local", "--template", str(ROOT / "template.yaml"), cwd=third)
        assert second.returncode == 2
        assert second.stderr.startswith("acktrack: a local stack is already running (pid ")
        assert f"in {started}" in second.stderr and second.stderr.count("\n") == 1
        # Two people the insurer never answers for; an operator closes one of them.
        (tmp_path / "day" / "outbound" / "b.834").write_bytes(
            _834(2, seed=63, dependents=0.0, interchange_control=1002, first_group_control=2,
                 subscriber_id_start=700000001)
        )  # fmt: skip
        _wait_for(process, "outbound/b.834: tracked")
        resolved = cli("resolve", "700000001", "--partner", "HEALTHPLAN01",
                       "--reason", "withdrew before coverage began", "--local", cwd=third)  # fmt: skip
        assert resolved.returncode == 0, resolved.stderr
        assert "1 open enrollment (1 member transaction) closed as resolved_by_operator" in (
            resolved.stdout
        )
        later = cli("report", "--local", "--json", "--as-of", "2024-01-20T07:00:00+00:00")
        summary = json.loads(later.stdout)["summary"]
        assert (summary["people_unconfirmed"], summary["resolved_by_operator"]) == (1, 1)
        # Today's report lists it with who wrote it: the OS user running the CLI (--local).
        today = subprocess.run(
            [sys.executable, "-m", "acktrack.cli", "report", "--local", "--json"],
            cwd=tmp_path, capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
        (listed,) = json.loads(today.stdout)["resolutions"]
        login = pwd.getpwuid(os.getuid()).pw_name
        assert (listed["subscriber_id"], listed["caller"]) == ("700000001", f"os-user:{login}")
        assert listed["reason"] == "withdrew before coverage began"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=180)  # reads what it still says while it stops
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0
    assert not (state / "local.json").exists()
    gone = cli("report", "--local")
    assert (gone.returncode, gone.stderr) == (
        2, "acktrack: no local stack is running (start one with `acktrack local`)\n"
    )  # fmt: skip


def test_stack_reads_the_table_a_deployed_stack_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        stack = EmbeddedStack(ROOT / "template.yaml", {}, server=False).start()
        try:
            monkeypatch.setenv("TABLE_NAME", stack.table)
            deliver(stack, File("outbound", "a.834", _834(4, seed=62)))
            template = {"Parameters": {"AckSlaHours": {"Type": "Number", "Default": "24"}},
                        "Resources": {"Marker": {"Type": "AWS::SQS::Queue"}},
                        "Outputs": {"TableName": {"Value": stack.table}}}  # fmt: skip
            stack.client("cloudformation").create_stack(
                StackName="acktrack-prod", TemplateBody=json.dumps(template)
            )
            # The file was sent in 2024: stats' default period (the last 30 days) holds nothing.
            assert main(["stats", "--stack", "acktrack-prod", "--json"]) == 0
            assert json.loads(capsys.readouterr().out)["members_sent"] == 0
            assert (
                main(["stats", "--stack", "acktrack-prod", "--since", "2024-01-01", "--json"]) == 0
            )
            stats = json.loads(capsys.readouterr().out)
            assert json.dumps(stats).count('"members_sent": 4') >= 1
            # The CLI judges overdue and resends with the deployed stack's SLA.
            where = {"stack": "acktrack-prod", "region": "us-east-1", "sla_hours": None}
            assert sla_hours(argparse.Namespace(**where)) == 24.0
            assert sla_hours(argparse.Namespace(**{**where, "sla_hours": 12.0})) == 12.0
            assert main(["stats", "--stack", "no-such-stack", "--json"]) == 2
            assert "cannot read stack 'no-such-stack'" in capsys.readouterr().err
        finally:
            stack.stop()


class Stopped(BaseException):
    """Lambda ends the invocation: a timeout or the memory limit (not an Exception the
    handler could catch)."""


BIG = File("outbound", "big.834", _834(300, seed=63))


@pytest.fixture(scope="module")
def big_read_once() -> dict[str, Any]:
    with fresh_stack() as clean:
        deliver(clean, BIG)
        return final_state(clean)


@pytest.mark.parametrize(
    "limit", ["Task timed out after 900.00 seconds", "Runtime exited: out of memory"]
)
def test_a_function_stopped_partway_through_a_file_ends_clean_on_redelivery(
    limit: str, big_read_once: dict[str, Any]
) -> None:
    big, expected = BIG, big_read_once
    with fresh_stack() as stack:
        writes: list[int] = []

        def stop_midway(**_: Any) -> None:
            writes.append(1)
            if len(writes) == 5:  # some of its 12 member batches are written, most are not
                raise Stopped(limit)

        wiring.repository().client.meta.events.register(
            "before-call.dynamodb.BatchWriteItem", stop_midway
        )
        bucket = stack.bucket("Outbound")
        event = stack.store(bucket, big.key, big.data)
        with pytest.raises(Stopped):
            stack.deliver_event(bucket, big.key, event)
        assert final_state(stack) != expected  # partway
        stack.redeliver(bucket, big.key)  # S3 (or Lambda's retry) delivers the event again
        assert final_state(stack) == expected
