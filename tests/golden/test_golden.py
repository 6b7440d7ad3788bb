"""Golden snapshots: the final table and reports of the demo day and of the reliability
day, taken before the code was moved into its new layout, must stay identical (keys,
item shapes, report). Regenerate only for a change meant to alter what is stored:
ACKTRACK_UPDATE_GOLDEN=1 .venv/bin/pytest tests/golden. Regenerated since for the
enrollment ledger (issue 16): both days gained a rejected set resent and accepted, the demo
day an operator's resolution, and the report its people-based rows and figures; then for
the report's first-pass rate (new fields only; every other value compared equal); then for
monthly reconciliation (issue 17): member items gained their demographic hashes (compared
by kind, each stack's key being its own), the demo day Pine's audit 834 (three new items),
the report its reconciliation section; nothing else changed. Then for operators'
resolutions an auditor can read: the demo day's resolution item gained `caller` (the
identity that wrote it), nothing else; then it gained the report index's `rk`/`rs`
(`RESOLVED#<shard>`, by time), and both reports `resolutions` and `summary.resolutions`.
Then the demo day's audit 834 moved to `inbound/PINEHEALTH01/` (a population is accepted
only in its insurer's folder): its object item's key, nothing else.
Then for reconciliation's order of action (round three): the demo day's discrepancy rows
(the same four) are stored in one chunk per rank of what needs action first (`#D#0z…`
missing at the insurer, `#D#2z…` fields differing, `#D#3z…` insurer only) instead of one
`#D#z000000`, its summary's `chunks` 1 -> 3, and the report's file gained `by_code`.
Then for the lists that grew forever (issue 27): each day's unmatched acknowledgment and
notice gained `expires` (arrival + RawRetentionDays) and the notice's `rs` starts with the
arrival of the file that raised it (`<time>#NOTICE#…`, not `<kind>#NOTICE#…`); nothing else,
and both reports are unchanged (their lists are within the window and under the cap).
(Quarantined object items gained `expires` too, but object items are compared by outcome.)"""

from __future__ import annotations

import base64
import gzip
import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from acktrack.domain.tally import COUNTS
from acktrack.local.demo import DEMO_PARAMETERS, operator_resolutions
from acktrack.local.demo import build_day as build_demo_day
from acktrack.local.replay import object_key
from tests.reliability.support import (
    build_day,
    deliver,
    fresh_stack,
    report_state,
    table_state,
    without_jobs,
)

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
DEMO_AS_OF = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def _demo_day() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder, fresh_stack(DEMO_PARAMETERS) as stack:
        stack.clock = lambda: DEMO_AS_OF - timedelta(hours=1)  # every file arrives then
        delivered: set[str] = set()
        for path in build_demo_day(Path(folder), DEMO_AS_OF):
            key = object_key(path.relative_to(folder)) or ""
            outbound = key.startswith(("outbound/", "expected/"))
            bucket = stack.bucket("Outbound" if outbound else "Inbound")
            if key in delivered:
                stack.redeliver(bucket, key)
            else:
                stack.put(bucket, key, path.read_bytes())
                delivered.add(key)
        operator_resolutions(DEMO_AS_OF)(stack)
        return without_jobs(
            {"table": table_state(stack), "report": report_state(stack, DEMO_AS_OF)}
        )


def _reliability_day() -> dict[str, Any]:
    with fresh_stack() as stack:
        for file in build_day():
            deliver(stack, file)
        return without_jobs({"table": table_state(stack), "report": report_state(stack)})


def _plain(value: Any) -> Any:
    """JSON-ready: binary attributes as base64, DynamoDB sets sorted."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)) in ("SS", "NS", "BS"):  # a set: no order
            ((kind, items),) = value.items()
            return {kind: sorted(_plain(item) for item in items)}
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _counted(table: dict[str, Any]) -> dict[str, Any]:
    """Counter items as what they count: per insurer, the totals and each sent day's counts
    (the effectuated count: in the totals only, as the snapshots' ``ALL`` kept it). The
    snapshots hold ``ALL`` and ``D#<day>`` items; the store now writes ``D#<day>#<shard>``
    items with histograms and codes beside the counts, which the state holds summed per
    sent day (``tests/reliability/support.table_state``) (issue 28: compared by their sums,
    the histograms and codes in tests/integration/test_counters.py)."""
    view = {key: item for key, item in table.items() if not key.startswith("STAT#")}
    legacy = {
        key.split("|")[0] for key in table if key.startswith("STAT#") and key.endswith("|ALL")
    }
    for key, item in sorted(table.items()):
        pk, _, sk = key.partition("|")
        if not pk.startswith("STAT#"):
            continue
        counts = {name: int(value["N"] if isinstance(value, dict) else value)
                  for name, value in item.items() if name in COUNTS}  # fmt: skip
        if sk == "ALL" or pk not in legacy:
            _add(view.setdefault(f"{pk}|totals", {}), counts)
        if sk != "ALL":
            day = {name: n for name, n in counts.items() if name != "members_effectuated"}
            _add(view.setdefault(f"{pk}|D#{sk[2:12]}", {}), day)
    return {key: {n: v for n, v in item.items() if v} if key.startswith("STAT#") else item
            for key, item in view.items()}  # fmt: skip


def _add(into: dict[str, int], counts: dict[str, int]) -> None:
    for name, count in counts.items():
        into[name] = into.get(name, 0) + count


@pytest.mark.parametrize(
    ("name", "run"), [("demo_day", _demo_day), ("reliability_day", _reliability_day)]
)
def test_the_final_state_is_the_golden_one(name: str, run: Any) -> None:
    state = _plain(run())
    path = HERE / f"{name}.json.gz"
    if os.environ.get("ACKTRACK_UPDATE_GOLDEN") == "1" or not path.exists():
        path.write_bytes(
            gzip.compress(json.dumps(state, sort_keys=True, indent=0).encode(), mtime=0)
        )
    golden = json.loads(gzip.decompress(path.read_bytes()))
    state["table"], golden["table"] = _counted(state["table"]), _counted(golden["table"])
    changed = sorted(key for key in set(golden["table"]) | set(state["table"])
                     if golden["table"].get(key) != state["table"].get(key))  # fmt: skip
    assert changed == [], f"{len(changed)} items differ, first: {changed[:5]}"
    assert state["report"] == golden["report"]
    assert state == golden
