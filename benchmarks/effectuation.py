"""Effectuation writes: an insurer's effectuation 834 for a sent file, the DynamoDB write
requests its ingest makes, and the most-written item (issue 29). Counted, not timed: the
inbound handler runs in this process against moto's in-process mock, a botocore
``before-call.dynamodb`` hook on the handlers' client names every item each write touches.

    python benchmarks/effectuation.py --members 2000           # prints one JSON line per shape

Shapes: ``family_per_set`` (about 1.7 members a family, one family per set),
``set_of_1000`` (the same families, 1,000 members a set) and ``large_families`` (families
of ``--family-size`` members: every subscriber id repeated, the 100-item split exercised).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SENT = datetime(2024, 1, 15, 12)
SHAPES = ("family_per_set", "set_of_1000", "large_families")


def _keys(action: dict[str, Any]) -> tuple[str, str]:
    body = action.get("Key") or action.get("Item") or {}
    return body["pk"]["S"], body["sk"]["S"]


class Writes:
    """Write requests by operation (attempts: a transaction refused for a conflict and
    retried counts each time), and writes per item (pk, sk) of the requests that succeeded."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.done: Counter[str] = Counter()
        self.items: Counter[tuple[str, str]] = Counter()
        self.pending = threading.local()  # families are reconciled on a few threads
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls[model.name] += 1
        raw = params["body"]
        body = json.loads(raw if isinstance(raw, str) else raw.decode())
        named: list[tuple[str, str]] = []
        if model.name == "TransactWriteItems":
            for item in body["TransactItems"]:
                ((kind, action),) = item.items()
                if kind != "ConditionCheck":
                    named.append(_keys(action))
        elif model.name == "BatchWriteItem":
            for requests in body["RequestItems"].values():
                named += [_keys(next(iter(request.values()))) for request in requests]
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            named.append(_keys(body))
        self.pending.named = named

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if "Error" in parsed:
            return
        self.done[model.name] += 1
        self.items.update(getattr(self.pending, "named", []))

    def clear(self) -> None:
        self.calls, self.done, self.items = Counter(), Counter(), Counter()


def sent_file(members: int, shape: str, family_size: int) -> bytes:
    from acktrack.synthetic.enrollment import EnrollmentSpec, write_834

    sets = {"family_per_set": max(1, round(members / 1.7)), "set_of_1000": -(-members // 1000),
            "large_families": -(-members // 1000)}[shape]  # fmt: skip
    buffer = io.BytesIO()
    write_834(EnrollmentSpec(seed=2029, members=members, sets_per_group=sets, sent_at=SENT,
                             keep_members=False), buffer)  # fmt: skip
    data = buffer.getvalue()
    if shape != "large_families":
        return data
    seen = iter(range(10**9))  # every family_size members share one subscriber id

    def same(match: re.Match[bytes]) -> bytes:
        return b"REF*0F*%d~" % (900000000 + next(seen) // family_size)

    return re.sub(rb"REF\*0F\*\d+~", same, data)


def measure(members: int, shape: str, family_size: int = 100) -> dict[str, Any]:
    from moto import mock_aws

    from acktrack.handlers import wiring
    from acktrack.local.stack import EmbeddedStack
    from acktrack.synthetic.acknowledgments import respond
    from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation
    from acktrack.x12 import MemberTransaction, read_x12

    data = sent_file(members, shape, family_size)
    families = {m.subscriber_id for m in read_x12(io.BytesIO(data))
                if isinstance(m, MemberTransaction)}  # fmt: skip
    effectuation = io.BytesIO()
    write_effectuation(data, effectuation, EffectuationSpec(sent_at=SENT + timedelta(days=6)))
    with mock_aws():
        stack = EmbeddedStack(ROOT / "template.yaml", {}, server=False).start()
        stack.clock = lambda: datetime(2024, 1, 22, 12, tzinfo=UTC)
        os.environ["TABLE_NAME"] = stack.table
        writes = Writes(wiring.repository().client)
        outbound, inbound = stack.bucket("Outbound"), stack.bucket("Inbound")
        assert all(r.ok for r in stack.put(outbound, "outbound/sent.834", data))
        reply = respond(data, insurer_control=7001, sent_at=SENT + timedelta(hours=5))
        assert all(r.ok for r in stack.put(inbound, "inbound/sent.999", reply))
        figures: dict[str, Any] = {"members": members, "shape": shape, "families": len(families)}
        for run in ("first", "again"):  # the same file twice: the second changes nothing
            writes.clear()
            assert all(r.ok for r in stack.put(inbound, f"inbound/eff-{run}.834",
                                               effectuation.getvalue()))  # fmt: skip
            ((hot, hot_writes),) = writes.items.most_common(1) or [(("", ""), 0)]
            counters = [n for (pk, _), n in writes.items.items() if pk.startswith("STAT#")]
            figures[run] = {
                "transactions": writes.done["TransactWriteItems"],
                "transaction_attempts": writes.calls["TransactWriteItems"],
                "write_requests": sum(n for op, n in writes.done.items()
                                      if op not in ("Query", "GetItem", "BatchGetItem", "Scan")),
                "most_written_item": hot[0].split("#", 1)[0] + "#...",
                "most_written_item_writes": hot_writes,
                "counter_items": len(counters),
                "most_written_counter_writes": max(counters, default=0),
            }  # fmt: skip
        stack.stop()
    first = figures["first"]
    per = 1000 / members
    figures["per_1000_members"] = {
        "transactions": round(first["transactions"] * per, 1),
        "most_written_item_writes": round(first["most_written_item_writes"] * per, 1),
    }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000, help="members in the file")
    parser.add_argument("--shape", choices=SHAPES, action="append", help="default: every shape")
    parser.add_argument(
        "--family-size", type=int, default=100, help="large_families: members a family"
    )
    args = parser.parse_args()
    for shape in args.shape or SHAPES:
        print(json.dumps(measure(args.members, shape, args.family_size)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
