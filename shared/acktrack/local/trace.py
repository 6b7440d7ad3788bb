"""The request trace (``--trace-requests FILE``): one JSON line per invocation the embedded
stack runs (a handler run: an S3 event, a queue batch, a scheduled run, each task of a
state machine), with its DynamoDB requests by operation and the items it wrote most.

Every DynamoDB call goes through ``botocore.client.BaseClient._make_api_call``, whoever
made the client (boto3, or PynamoDB's own botocore session), so it is wrapped once per
process. The invocation a call belongs to is a context variable set by
``EmbeddedStack.invoke`` in the thread that runs the handler (a state machine's tasks run
in moto's interpreter threads: the variable is set there); the handlers' thread pools
start in the context of the thread that made them, so their calls count too.

A line carries counts, operation names, key prefixes and hashes only: a key's values
(which can hold trading-partner and subscriber ids) never leave this module. Items written
are counted per request sent: PutItem, UpdateItem, DeleteItem, each item of a
BatchWriteItem and each Put, Update and Delete of a TransactWriteItems. A transaction's
ConditionCheck writes nothing and is not counted; an UnprocessedItem sent again is counted
again (it is written again). A call retried inside botocore is one request here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

HOT_ITEMS = 10
_CURRENT: ContextVar[Traced | None] = ContextVar("acktrack_traced_invocation", default=None)
_INSTALLED = threading.Lock()
_DONE: list[bool] = []


@dataclass
class Traced:
    """One invocation's DynamoDB requests and writes, as they are made."""

    function: str
    invocation: int
    at: datetime
    attempt: int = 1
    by_operation: Counter[str] = field(default_factory=Counter)
    writes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, key hash)
    ok: bool = True
    cpu_ms: float = 0.0  # CPU of the thread that ran the handler (its pools' not counted)
    peak_mb: float | None = None  # RSS high-water mark over the start (``memory``)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, operation: str, params: dict[str, Any]) -> None:
        written = list(written_keys(operation, params))
        with self._lock:
            self.by_operation[operation] += 1
            self.writes.update(written)

    def line(self) -> dict[str, Any]:
        hot = sorted(self.writes.items(), key=lambda entry: (-entry[1], entry[0]))[:HOT_ITEMS]
        line: dict[str, Any] = {
            "function": self.function, "invocation": self.invocation,
            "at": self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "attempt": self.attempt,
            "ok": self.ok, "dynamodb_requests": sum(self.by_operation.values()),
            "by_operation": dict(sorted(self.by_operation.items())),
            "items_written": sum(self.writes.values()),
            "hot_items": [{"kind": kind, "key": key, "writes": n} for (kind, key), n in hot],
            "cpu_ms": round(self.cpu_ms, 1),
        }  # fmt: skip
        if self.peak_mb is not None:
            line["peak_mb"] = round(self.peak_mb, 1)
        return line


class RequestTrace:
    """Where the lines go (a file, appended as each invocation ends), and what was traced.
    ``memory``: each invocation's peak resident memory over its start (the process's
    high-water mark is reset as it starts: meaningful when invocations run one at a time)."""

    def __init__(self, stream: IO[str] | None = None, *, memory: bool = False) -> None:
        self.stream = stream
        self.memory = memory
        self.lines: list[dict[str, Any]] = []
        self._numbers = iter(range(1, 1 << 62))
        self._lock = threading.Lock()

    @classmethod
    def to_file(cls, path: Path, **options: Any) -> RequestTrace:
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path.open("w", encoding="utf-8"), **options)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    @contextlib.contextmanager
    def invocation(self, function: str, at: datetime, attempt: int = 1) -> Iterator[Traced]:
        install()
        with self._lock:
            number = next(self._numbers)
        traced = Traced(function, number, at, attempt)
        token = _CURRENT.set(traced)
        start_rss = _reset_high_water() if self.memory else None
        cpu = time.thread_time()
        try:
            yield traced
        except BaseException:
            traced.ok = False
            raise
        finally:
            traced.cpu_ms = (time.thread_time() - cpu) * 1000
            if start_rss is not None:
                traced.peak_mb = max(0.0, _status_kib("VmHWM") - start_rss) / 1024
            _CURRENT.reset(token)
            self._write(traced.line())

    def _write(self, line: dict[str, Any]) -> None:
        with self._lock:
            self.lines.append(line)
            if self.stream is not None:
                self.stream.write(json.dumps(line) + "\n")
                self.stream.flush()


def key_hash(pk: str, sk: str) -> str:
    """An item's name in a trace: the first 12 hex digits of sha256(pk|sk)."""
    return hashlib.sha256(f"{pk}|{sk}".encode()).hexdigest()[:12]


def _item_name(key: dict[str, Any]) -> tuple[str, str]:
    pk, sk = _scalar(key.get("pk")), _scalar(key.get("sk"))
    return pk.split("#", 1)[0], key_hash(pk, sk)


def _scalar(value: Any) -> str:
    """An attribute's value in the wire format ({"S": "..."}), or as given."""
    if isinstance(value, dict) and len(value) == 1:
        return str(next(iter(value.values())))
    return "" if value is None else str(value)


def written_keys(operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(kind, key hash) of each item a DynamoDB request writes (see the module docstring)."""
    if operation == "PutItem":
        yield _item_name(params.get("Item", {}))
    elif operation in ("UpdateItem", "DeleteItem"):
        yield _item_name(params.get("Key", {}))
    elif operation == "BatchWriteItem":
        for requests in params.get("RequestItems", {}).values():
            for request in requests:
                if "PutRequest" in request:
                    yield _item_name(request["PutRequest"].get("Item", {}))
                elif "DeleteRequest" in request:
                    yield _item_name(request["DeleteRequest"].get("Key", {}))
    elif operation == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            if "Put" in entry:
                yield _item_name(entry["Put"].get("Item", {}))
            for kind in ("Update", "Delete"):
                if kind in entry:
                    yield _item_name(entry[kind].get("Key", {}))


def install() -> None:
    """Wrap botocore's one door for every API call, once per process."""
    with _INSTALLED:
        if _DONE:
            return
        from botocore.client import BaseClient

        original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, untyped

        def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            traced = _CURRENT.get()
            if traced is not None and self.meta.service_model.service_name == "dynamodb":
                traced.count(operation_name, api_params)
            return original(self, operation_name, api_params)

        setattr(BaseClient, "_make_api_call", _make_api_call)  # noqa: B010
        _DONE.append(True)


def current() -> Traced | None:
    """The invocation this thread's calls count for (None: no trace)."""
    return _CURRENT.get()


def _status_kib(name: str) -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def _reset_high_water() -> float:
    """Reset the process's RSS high-water mark (Linux ``clear_refs`` 5); the RSS now, KiB."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")
    return _status_kib("VmRSS")
