"""`acktrack local`: the embedded stack in the foreground, fed from a watched folder.

Files copied under <folder>/outbound/ and <folder>/inbound/ go into the matching
bucket as they appear (and again when they change). The endpoint and table are
written to .acktrack/local.json so `acktrack report --local` can read the state.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from acktrack.local.replay import object_key
from acktrack.local.stack import EmbeddedStack

STATE = Path(".acktrack") / "local.json"


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop the stack cleanly, even when the shell that started this
    process ignores SIGINT (a background job, a service manager)."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, stop)


def serve(template: Path, folder: Path | None, interval: float = 1.0) -> int:
    _stop_on_signals()
    stack = EmbeddedStack(
        template, log_stream=sys.stderr if "--verbose" in sys.argv else None
    ).start()
    state = {
        "endpoint": stack.endpoint,
        "table": stack.table,
        "region": "us-east-1",
        "buckets": stack.buckets,
    }
    STATE.parent.mkdir(exist_ok=True)
    STATE.write_text(json.dumps(state, indent=1))
    print(f"acktrack local stack on {stack.endpoint} (table {stack.table})", file=sys.stderr)
    if folder is not None:
        for name in ("outbound", "inbound"):
            (folder / name).mkdir(parents=True, exist_ok=True)
        print(
            f"watching {folder}/outbound and {folder}/inbound (and inbound/<insurer id>/); "
            "Ctrl-C to stop",
            file=sys.stderr,
        )
    print("report: acktrack report --local", file=sys.stderr)
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
        STATE.unlink(missing_ok=True)
    return 0


def local_state() -> dict[str, str]:
    if not STATE.is_file():
        raise FileNotFoundError("no local stack is running here (start one with `acktrack local`)")
    data: dict[str, str] = json.loads(STATE.read_text())
    return data
