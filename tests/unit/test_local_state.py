"""Where `acktrack local` records its stack (one state file per user, found from any
folder), one stack per user, and what `--local` says when the stack is gone."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from acktrack.cli import main
from acktrack.local.state import LocalStackError, claim, running_stack, state_file


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("ACKTRACK_STATE_DIR", str(folder))
    return folder


@pytest.fixture
def endpoint() -> Iterator[str]:
    """Something listening where the stack says it is."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as server:
        return int(server.getsockname()[1])


def test_the_state_file_is_per_user_xdg_first_then_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACKTRACK_STATE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    assert state_file() == tmp_path / "home" / ".local" / "state" / "acktrack" / "local.json"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_file() == tmp_path / "xdg" / "acktrack" / "local.json"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # the spec says: ignore it
    assert state_file() == tmp_path / "home" / ".local" / "state" / "acktrack" / "local.json"
    monkeypatch.setenv("ACKTRACK_STATE_DIR", str(tmp_path / "mine"))
    assert state_file() == tmp_path / "mine" / "local.json"


def test_a_stack_started_in_one_folder_is_found_from_another(
    state_dir: Path, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "here").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    ours = claim()
    try:
        path = ours.publish({"endpoint": endpoint, "table": "t", "region": "us-east-1"})
        assert path == state_dir / "local.json"
        assert (path.stat().st_mode & 0o777, state_dir.stat().st_mode & 0o777) == (0o600, 0o700)
        monkeypatch.chdir(tmp_path / "elsewhere")
        found = running_stack()
        assert (found["endpoint"], found["pid"]) == (endpoint, os.getpid())
        assert found["folder"] == str(tmp_path / "here")
        # A second stack of the same user is refused, and told which one runs.
        with pytest.raises(LocalStackError) as refused:
            claim(attempts=1)
        message = str(refused.value)
        assert "already running" in message and f"pid {os.getpid()}" in message
        assert str(tmp_path / "here") in message and endpoint in message
    finally:
        ours.release()
    assert not (state_dir / "local.json").exists()
    with pytest.raises(LocalStackError, match=r"^no local stack is running \(start one with"):
        running_stack()


def test_a_stack_that_died_leaves_a_stale_file_that_is_named_then_replaced(
    state_dir: Path, endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = claim()
    dead.publish({"endpoint": endpoint, "table": "t", "region": "us-east-1"})
    assert dead.lock is not None
    dead.lock.close()  # the process ended without cleaning up: the system drops its lock
    with pytest.raises(LocalStackError, match=r"is no longer running .*start it again"):
        running_stack()
    assert main(["report", "--local"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("acktrack: the local stack recorded in ") and err.count("\n") == 1
    again = claim()  # the next start takes over
    try:
        assert again.replaced is not None and again.replaced["endpoint"] == endpoint
    finally:
        again.release()


def test_a_running_stack_whose_endpoint_does_not_answer_is_named(state_dir: Path) -> None:
    ours = claim()
    try:
        ours.publish({"endpoint": f"http://127.0.0.1:{_closed_port()}", "table": "t"})
        with pytest.raises(LocalStackError, match="does not answer"):
            running_stack()
    finally:
        ours.release()


def test_report_local_without_any_stack_says_how_to_start_one(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "--local"]) == 2
    assert capsys.readouterr().err == (
        "acktrack: no local stack is running (start one with `acktrack local`)\n"
    )


def test_a_state_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("ACKTRACK_STATE_DIR", str(blocker / "state"))  # under a file: no folder
    assert main(["local", "--template", str(Path(__file__).parents[2] / "template.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("acktrack: cannot keep the local stack's state in ")
    assert "set ACKTRACK_STATE_DIR to a folder you can write" in err and err.count("\n") == 1
