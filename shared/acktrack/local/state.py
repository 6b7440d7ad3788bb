"""Where the running local stack is: one state file per user, so that `acktrack report
--local` (and stats, member, resolve) finds the stack `acktrack local` runs from any folder.

The file is ``$ACKTRACK_STATE_DIR/local.json`` when that is set, else
``$XDG_STATE_HOME/acktrack/local.json``, else ``~/.local/state/acktrack/local.json``. It
holds the endpoint, the table and the buckets (no data), and who runs the stack: its
process id, when and from which folder it started.

One stack per user at a time: `acktrack local` holds an exclusive lock on ``local.lock``
beside it for as long as it runs (the system releases it when the process ends, however it
ends), so a second start is refused with the first one named, and a reader tells a file
left behind by a stack that died (nobody holds the lock) from a running one.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the process id alone says who runs
    fcntl = None  # type: ignore[assignment]

STATE_DIR_VARIABLE = "ACKTRACK_STATE_DIR"
START_HINT = "start one with `acktrack local`"


class LocalStackError(Exception):
    """The local stack cannot be found, or cannot be started; one line that says why."""


def state_dir() -> Path:
    explicit = os.environ.get(STATE_DIR_VARIABLE)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "acktrack"


def state_file() -> Path:
    return state_dir() / "local.json"


def _lock_file() -> Path:
    return state_dir() / "local.lock"


def describe(state: dict[str, Any]) -> str:
    """Who runs it, for a person: "pid 4242, started 2024-01-15 09:30 in /home/me/day, on
    http://127.0.0.1:40123"."""
    parts = [f"pid {state.get('pid', '?')}"]
    if state.get("started_at"):
        started = str(state["started_at"])[:16].replace("T", " ")
        parts.append(f"started {started} in {state.get('folder', '?')}")
    if state.get("endpoint"):
        parts.append(f"on {state['endpoint']}")
    return ", ".join(parts)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _process_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _lock_held(state: dict[str, Any]) -> bool:
    """Whether a running `acktrack local` holds the lock (without fcntl: its process lives)."""
    if fcntl is None:  # pragma: no cover
        return _process_alive(state.get("pid"))
    try:
        handle = _lock_file().open("a")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _answers(endpoint: str, timeout: float = 2.0) -> bool:
    address = urlsplit(endpoint)
    if not address.hostname or not address.port:
        return False
    try:
        with socket.create_connection((address.hostname, address.port), timeout):
            return True
    except OSError:
        return False


def running_stack() -> dict[str, Any]:
    """The running stack's state (endpoint, table, region, buckets); LocalStackError with
    one line that says what to do when there is none, or it is gone."""
    path = state_file()
    state = _read(path)
    if state is None:
        if path.exists():
            raise LocalStackError(f"{path} cannot be read; {START_HINT}")
        raise LocalStackError(f"no local stack is running ({START_HINT})")
    if not _lock_held(state):
        raise LocalStackError(
            f"the local stack recorded in {path} is no longer running ({describe(state)}); "
            "start it again with `acktrack local`"
        )
    if not state.get("endpoint"):
        raise LocalStackError(
            f"the local stack is still starting ({describe(state)}); try again in a moment"
        )
    if not _answers(str(state["endpoint"])):
        raise LocalStackError(
            f"the local stack does not answer ({describe(state)}); stop it and start "
            "`acktrack local` again"
        )
    return state


@dataclass
class Claim:
    """This process's claim on the user's local stack: held from before the stack starts
    until it has stopped."""

    lock: TextIO | None
    replaced: dict[str, Any] | None  # the state a stack that died left behind

    def publish(self, state: dict[str, Any]) -> Path:
        """Write the running stack's state (whole or not at all: a reader never sees half)."""
        path = state_file()
        record = {
            "pid": os.getpid(),
            "started_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "folder": str(Path.cwd()),
            **state,
        }
        scratch = path.with_name(f".local.{os.getpid()}.json")
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            json.dump(record, stream, indent=1)
        os.replace(scratch, path)
        return path

    def release(self) -> None:
        path = state_file()
        state = _read(path)
        if state is not None and state.get("pid") == os.getpid():
            path.unlink(missing_ok=True)
        if self.lock is not None:
            self.lock.close()  # closing the file releases the lock
            self.lock = None


def claim(attempts: int = 5) -> Claim:
    """Take the user's local stack for this process, or LocalStackError naming the one that
    runs. A state file nobody holds is a stack that died: it is replaced."""
    path = state_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_descriptor = os.open(_lock_file(), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise LocalStackError(
            f"cannot keep the local stack's state in {path.parent}: {error.strerror or error} "
            f"(set {STATE_DIR_VARIABLE} to a folder you can write)"
        ) from None
    if fcntl is None:  # pragma: no cover
        os.close(lock_descriptor)
        existing = _read(path)
        if existing is not None and _process_alive(existing.get("pid")):
            raise LocalStackError(_already_running(existing))
        return Claim(None, existing)
    lock = os.fdopen(lock_descriptor, "a")
    for attempt in range(attempts):
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if attempt == attempts - 1:
                lock.close()
                raise LocalStackError(_already_running(_read(path) or {})) from None
            time.sleep(0.1)  # a reader checking the lock holds it for an instant
    return Claim(lock, _read(path))


def _already_running(state: dict[str, Any]) -> str:
    pid = state.get("pid")
    stop = f"Ctrl-C where it runs, or kill {pid}" if pid else "Ctrl-C where it runs"
    return (
        f"a local stack is already running ({describe(state) if state else 'starting'}); "
        f"one per user: use it (`acktrack report --local`) or stop it first ({stop})"
    )
