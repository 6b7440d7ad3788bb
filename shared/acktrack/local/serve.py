"""`acktrack local`: the embedded stack in the foreground, fed from a watched folder.

Files copied under <folder>/outbound/ and <folder>/inbound/ go into the matching
bucket as they appear (and again when they change). The endpoint and table are written
to the user's state file (local/state.py) so that `acktrack report --local` finds the
stack from any folder; one stack per user runs at a time.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acktrack.local.replay import object_key
from acktrack.local.stack import EmbeddedStack
from acktrack.local.state import claim, describe

if TYPE_CHECKING:
    from acktrack.local.trace import RequestTrace


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop the stack cleanly, even when the shell that started this
    process ignores SIGINT (a background job, a service manager)."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, stop)


def serve(
    template: Path,
    folder: Path | None,
    interval: float = 1.0,
    *,
    parameters: dict[str, Any] | None = None,
    verbose: bool = False,
    trace: RequestTrace | None = None,
) -> int:
    """Run the stack until Ctrl-C or SIGTERM. LocalStackError (from ``claim``) when this
    user's stack already runs; TemplateError when a parameter is refused."""
    ours = claim()  # before anything starts: a second stack is refused, naming the first
    try:
        _stop_on_signals()
        if ours.replaced is not None:
            print(f"replacing the state of a local stack that is gone ({describe(ours.replaced)})",
                  file=sys.stderr)  # fmt: skip
        stack = EmbeddedStack(
            template, dict(parameters or {}), log_stream=sys.stderr if verbose else None,
            trace=trace,
        ).start()  # fmt: skip
    except BaseException:
        ours.release()
        raise
    state = {
        "endpoint": stack.endpoint,
        "table": stack.table,
        "region": "us-east-1",
        "buckets": stack.buckets,
        "template": str(template.resolve()),
        "parameters": {name: str(value) for name, value in (parameters or {}).items()},
        "watching": str(folder.resolve()) if folder is not None else None,
    }
    path = ours.publish(state)
    print(f"acktrack local stack on {stack.endpoint} (table {stack.table}); state in {path}",
          file=sys.stderr)  # fmt: skip
    if folder is not None:
        for name in ("outbound", "inbound"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        print(
            f"watching {folder}/outbound and {folder}/inbound (and inbound/<insurer id>/); "
            "Ctrl-C to stop",
            file=sys.stderr,
        )
    print("report, from any folder: acktrack report --local", file=sys.stderr)
    seen: dict[Path, float] = {}
    try:
        while True:
            if folder is not None:
                for path in sorted(folder.glob("*bound/**/*")):
                    key = object_key(path.relative_to(folder))
                    if key is None or not path.is_file():
                        continue
                    changed = path.stat().st_mtime
                    if seen.get(path) == changed:
                        continue
                    seen[path] = changed
                    bucket = stack.bucket("Outbound" if key.startswith("outbound/") else "Inbound")
                    results = stack.put(bucket, key, path.read_bytes())
                    outcomes = [
                        o.get("outcome")
                        for r in results
                        if r.ok
                        for o in r.result.get("objects", [])
                    ]
                    print(f"{key}: {', '.join(outcomes) or 'failed'}", file=sys.stderr)
            time.sleep(interval)
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        stack.stop()
        ours.release()
    return 0
