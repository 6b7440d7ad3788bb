"""Make the embedded stack's DynamoDB behave like DynamoDB: atomic writes, transaction
conflicts, partition queries. Written against moto 5.2's internals: ``install`` refuses any
other major or minor version, every time a stack starts (pyproject.toml pins >=5.2,<5.3);
tests/integration/test_moto_double.py proves each behaviour below.

Atomic writes: moto's backend reads, changes and stores an item without a lock, so two
threads adding to one counter (the family reconcilers, the threaded server) can lose an
update that DynamoDB would never lose. Each write runs under one re-entrant lock here:
that is moto's own consistency, not a lock clients can see.

Transaction conflicts: DynamoDB holds a transaction's items while it runs; a concurrent
transaction naming one of them is cancelled (TransactionCanceledException, reason
TransactionConflict), a PutItem, UpdateItem or DeleteItem on one fails with
TransactionConflictException, and a BatchWriteItem request for one comes back in
UnprocessedItems. Here a transaction registers its items before it takes the lock and
releases them after, so concurrent clients meet exactly those refusals.

Transactions at item cost: moto backs up every table a transaction touches with a deep
copy (once per item in it) so that it can roll back; on a table of 100,000 members one
TransactWriteItems took seconds and gigabytes. Here the items the transaction names are
backed up instead, and restored if it is cancelled (what DynamoDB guarantees).

Queries read only the partition or index key they name, and only the items in range of
their sort key condition (``local/moto_queries.py``).
Reads at JSON cost: moto (5.2) writes every response through botocore's shape model, about
20 microseconds per attribute value, which made reading a large day's items the local
stack's largest cost. A GetItem, BatchGetItem, Query or Scan result already is DynamoDB's
wire format (binary values as bytes), so it is written as JSON directly, binary values in
base64 and capacity units as doubles, as the shape model would.
tests/integration/test_moto_double.py compares both writings on every attribute type,
value types included.

Work done again and again, done once:
- botocore reads a service's JSON model once per session, and moto starts each mock with a
  new default session, so every stack decoded its clients' models again (a new stack took
  0.45 s, now 0.10 s). Sessions share one loader; it caches each model it loads.
- moto's server listed its package folder on every request, under its one lock, to find the
  backend a request is for; and each request listed its handler class's methods. Both are
  listed once.
- A query weighed each item it returns twice (before and after taking it) against the page
  limit; each item is weighed once per query.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import threading
import time
from typing import Any

from acktrack.local import moto_queries

_writes = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
# The (major, minor) versions whose internals these patches were written against: a minor
# release of moto may move what they replace (moto's own private names), so 5.3 is refused
# until it has been checked (tests/integration/test_moto_double.py, then this and pyproject).
SUPPORTED_MOTO = ((5, 2),)

# Items held by running transactions: (table, key) -> the holding thread.
_held: dict[tuple[str, str], int] = {}
_held_lock = threading.Lock()
_batch = threading.local()  # the requests of the BatchWriteItem this thread is applying


def _item_id(table: str, key: dict[str, Any]) -> tuple[str, str]:
    return table, repr(sorted((name, repr(value)) for name, value in key.items()))


def _held_by_another(table: str, key: dict[str, Any]) -> bool:
    holder = _held.get(_item_id(table, key))
    return holder is not None and holder != threading.get_ident()


def _conflict_error() -> Exception:
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException

    return DynamodbException(
        ERROR_TYPE_PREFIX + "TransactionConflictException",
        "Transaction is ongoing for the item",
    )


def _serialise_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, _name: str = name,
                   **kwargs: Any) -> Any:  # fmt: skip
            if _name in ("put_item", "update_item", "delete_item"):
                table_name = kwargs.get("table_name", args[0] if args else "")
                key = _single_write_key(self, _name, args, kwargs)
                if key is not None and _held_by_another(table_name, key):
                    skipped = getattr(_batch, "unprocessed", None)
                    if skipped is None:
                        raise _conflict_error()
                    # Inside a BatchWriteItem: this request comes back unprocessed.
                    request = ({"PutRequest": {"Item": args[1] if len(args) > 1 else kwargs["item_attrs"]}}
                               if _name == "put_item" else {"DeleteRequest": {"Key": key}})  # fmt: skip
                    skipped.setdefault(table_name, []).append(request)
                    return None
            with _writes:
                try:
                    result = _original(self, *args, **kwargs)
                finally:
                    moto_queries.WRITTEN[0] += 1  # the index maps built before are stale
                # Its answer is written from this version, not the live item (another write
                # may change that while moto writes the answer, after the lock).
                return copy.deepcopy(result) if _name == "update_item" else result

        setattr(DynamoDBBackend, name, locked)


def _single_write_key(
    backend: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any] | None:
    table = backend.tables.get(kwargs.get("table_name", args[0] if args else None))
    if table is None:
        return None
    if name == "put_item":
        item = kwargs.get("item_attrs", args[1] if len(args) > 1 else {})
        names = (table.hash_key_attr, table.range_key_attr)
        return {attr: item[attr] for attr in names if attr and attr in item}
    key = kwargs.get("key", args[1] if len(args) > 1 else None)
    return key if isinstance(key, dict) else None


def _batch_writes_meet_transactions() -> None:
    """A BatchWriteItem request for an item a running transaction holds is not applied:
    it comes back in UnprocessedItems (the client retries it)."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.batch_write_item

    def batch_write_item(self: Any) -> Any:
        unprocessed: dict[str, list[dict[str, Any]]] = {}
        for table_name, requests in self.body["RequestItems"].items():
            table = self.dynamodb_backend.tables.get(table_name)
            if table is None:
                continue
            kept = []
            for request in requests:
                body = next(iter(request.values()))
                key = body.get("Key") or {
                    attr: body["Item"][attr]
                    for attr in (table.hash_key_attr, table.range_key_attr)
                    if attr and attr in body.get("Item", {})
                }
                if _held_by_another(table_name, key):
                    unprocessed.setdefault(table_name, []).append(request)
                else:
                    kept.append(request)
            self.body["RequestItems"][table_name] = kept
        # A transaction may take an item between this check and its write: the write then
        # comes back unprocessed too (``_serialise_writes``), never as an error.
        _batch.unprocessed = unprocessed
        try:
            result = original(self)
        finally:
            _batch.unprocessed = None
        response = result.result
        if unprocessed and isinstance(response, dict):
            response["UnprocessedItems"] = unprocessed
        return result

    DynamoHandler.batch_write_item = batch_write_item  # type: ignore[method-assign]


def _item_level_transactions() -> None:
    import copy
    import types

    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    vars(backend_module)["copy"] = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)
    original = DynamoDBBackend.transact_write_items

    def item_key(self: Any, op: dict[str, Any]) -> dict[str, Any] | None:
        table = self.tables.get(op.get("TableName"))
        if table is None or ("Key" not in op and "Item" not in op):
            return None
        names = (table.hash_key_attr, table.range_key_attr)
        return op.get("Key") or {name: op["Item"][name] for name in names if name in op["Item"]}

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        from moto.dynamodb.exceptions import TransactionCanceledException

        ops = [(op.get("TableName", ""), item_key(self, op)) for entry in transact_items
               for op in entry.values()]  # fmt: skip
        held = [_item_id(table, key) for table, key in ops if key is not None]
        with _held_lock:
            if any(_held_by_another(table, key) for table, key in ops if key is not None):
                raise TransactionCanceledException([
                    ("TransactionConflict", "Transaction is ongoing for the item", None)
                    if key is not None and _held_by_another(table, key) else (None, None, None)
                    for table, key in ops
                ])  # fmt: skip
            mine = [item for item in held if item not in _held]
            for item in mine:
                _held[item] = threading.get_ident()
        try:
            _run_transaction(self, transact_items)
        finally:
            with _held_lock:
                for item in mine:
                    _held.pop(item, None)

    def _run_transaction(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _writes:
            saved = []
            for op in (op for entry in transact_items for op in entry.values()):
                key = item_key(self, op)
                if key:
                    current = self.get_item(op["TableName"], key)
                    attributes = copy.deepcopy(current.to_json()["Attributes"]) if current else None
                    saved.append((op["TableName"], key, attributes))
            try:
                original(self, transact_items)
            except Exception:
                for table_name, key, attributes in reversed(saved):
                    if attributes is None:
                        if self.get_item(table_name, key) is not None:
                            self.delete_item(table_name, key)
                    else:
                        self.put_item(table_name, attributes)
                raise

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


TOKEN_SECONDS = 600.0  # DynamoDB keeps a ClientRequestToken this long after its transaction
_tokens_lock = threading.Lock()
_PENDING = -1.0


def _idempotent_transactions() -> None:
    """A TransactWriteItems is applied once per ClientRequestToken, as DynamoDB does for ten
    minutes: the same request sent again (botocore resends it, token and all, when an
    answer was lost) succeeds and changes nothing; the same token with other items is
    IdempotentParameterMismatchException, and while the first is still running,
    TransactionInProgressException. moto ignores the token and would apply it twice.
    A cancelled transaction leaves no token behind: sent again, it is judged again."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.transact_write_items

    def transact_write_items(self: Any) -> Any:
        token = self.body.get("ClientRequestToken")
        if not token:
            return original(self)
        tokens = self.dynamodb_backend.__dict__.setdefault("_acktrack_tokens", {})
        request = json.dumps(self.body.get("TransactItems"), sort_keys=True)
        with _tokens_lock:
            known = tokens.get(token)
            if (
                known is not None
                and known[1] != _PENDING
                and time.monotonic() - known[1] > TOKEN_SECONDS
            ):
                known = None
            if known is not None and known[0] != request:
                raise DynamodbException(ERROR_TYPE_PREFIX + "IdempotentParameterMismatchException",
                                        "The request uses the same client token as a previous, but "
                                        "non-identical request.")  # fmt: skip
            if known is not None and known[1] == _PENDING:
                raise DynamodbException(ERROR_TYPE_PREFIX + "TransactionInProgressException",
                                        "The transaction with the given request token is already in "
                                        "progress.")  # fmt: skip
            if known is not None:
                return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
            tokens[token] = (request, _PENDING)
        try:
            result = original(self)
        except BaseException:
            with _tokens_lock:
                tokens.pop(token, None)
            raise
        with _tokens_lock:
            now = time.monotonic()
            if len(tokens) > 10_000:  # a long-running local stack: forget expired tokens
                for old in [
                    t for t, (_, at) in tokens.items() if _PENDING < at < now - TOKEN_SECONDS
                ]:
                    del tokens[old]
            tokens[token] = (request, now)
        return result

    DynamoHandler.transact_write_items = transact_write_items  # type: ignore[method-assign]


_queues = threading.RLock()
_QUEUE_CALLS = ("send_message", "send_message_batch", "receive_message", "delete_message",
                "delete_message_batch", "change_message_visibility",
                "change_message_visibility_batch", "purge_queue")  # fmt: skip


def _whole_items_in_answers() -> None:
    """moto writes a read's answer from the live items, after the write lock: another thread
    writing one of them meanwhile (family reconcilers naming one set) broke the answer
    ("dictionary changed size during iteration"). DynamoDB answers from one version of an
    item: here a read's answer is written under the write lock, and an update's from a copy
    taken under it (``_serialise_writes``)."""
    from moto.dynamodb.responses import DynamoHandler

    for name in ("get_item", "batch_get_item", "query", "scan"):
        original = getattr(DynamoHandler, name)

        def locked(self: Any, _original: Any = original) -> Any:
            with _writes:
                return _original(self)

        setattr(DynamoHandler, name, locked)


def _serialise_queues() -> None:
    """moto's SQS backend keeps a queue's messages in plain sets: a receive iterating them
    while another thread sends or deletes fails with "Set changed size during iteration"
    (seen with four workers pumping the parts queue). Each queue call runs under one lock;
    a long poll (never made here) is left unlocked so that it cannot hold the others."""
    from moto.sqs.models import SQSBackend

    for name in _QUEUE_CALLS:
        original = getattr(SQSBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, _name: str = name,
                   **kwargs: Any) -> Any:  # fmt: skip
            waits = _name == "receive_message" and (kwargs.get("wait_seconds_timeout")
                                                     or (args[2] if len(args) > 2 else 0))  # fmt: skip
            if waits:
                return _original(self, *args, **kwargs)
            with _queues:
                return _original(self, *args, **kwargs)

        setattr(SQSBackend, name, locked)


PLAIN_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})


def _base64(value: Any) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} in a DynamoDB read result")


def plain_body(result: dict[str, Any]) -> str:
    """A read's result as the JSON DynamoDB sends (binary values in base64)."""
    return json.dumps(result, default=_base64)


def _reads_as_json() -> None:
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    original = DynamoHandler.serialized

    def serialized(self: Any, action_result: Any) -> Any:
        result = action_result.result
        if (type(action_result) is not DynamoResult or not isinstance(result, dict)
                or self._get_action() not in PLAIN_READS):  # fmt: skip
            return original(self, action_result)
        status, headers, _ = original(self, DynamoResult({}))
        if "ConsumedCapacity" in result:  # PynamoDB asks for it on every request
            result = {**result, "ConsumedCapacity": _doubles(result["ConsumedCapacity"])}
        return status, headers, plain_body(result)

    DynamoHandler.serialized = serialized  # type: ignore[method-assign]


def _doubles(capacity: Any) -> Any:
    """ConsumedCapacity with its units as doubles, as the shape model writes them."""
    if isinstance(capacity, list):
        return [_doubles(entry) for entry in capacity]
    if isinstance(capacity, dict):
        return {name: float(value) if name.endswith("CapacityUnits") else _doubles(value)
                for name, value in capacity.items()}  # fmt: skip
    return capacity


class UnsupportedMoto(RuntimeError):
    """The installed moto is not one these patches were written against."""


def _major_minor(version: str) -> tuple[int, int] | None:
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def check_version(version: str | None = None) -> None:
    """Refuse a moto whose major and minor version these patches were not written for."""
    import moto

    found = version or str(getattr(moto, "__version__", "unknown"))
    if _major_minor(found) not in SUPPORTED_MOTO:
        raise UnsupportedMoto(
            f"moto {found} is installed; the local stack's DynamoDB fixes were written for moto "
            f"{', '.join(f'{major}.{minor}.x' for major, minor in SUPPORTED_MOTO)} "
            "(pyproject.toml pins it): reinstall with `make clean demo`"
        )


def _one_model_loader() -> None:
    import botocore.session

    original = botocore.session.create_loader
    loaders: dict[Any, Any] = {}
    lock = threading.Lock()

    def create_loader(search_path_string: Any = None) -> Any:
        with lock:
            if search_path_string not in loaders:
                loaders[search_path_string] = original(search_path_string)
            return loaders[search_path_string]

    botocore.session.create_loader = create_loader


def _one_module_listing() -> None:
    from moto import backends

    listing = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: listing


def _one_method_listing() -> None:
    from functools import cache

    from moto.core import responses, utils

    responses.method_names_from_class = cache(utils.method_names_from_class)  # type: ignore[attr-defined]


def install() -> None:
    from moto.dynamodb.models.table import Table

    check_version()  # on every start: the moto of this process, whatever was installed before
    if getattr(Table, "_acktrack_partition_queries", False):
        return
    _one_model_loader()
    _one_module_listing()
    _one_method_listing()
    _serialise_writes()
    _batch_writes_meet_transactions()
    _item_level_transactions()
    _idempotent_transactions()
    _reads_as_json()
    _whole_items_in_answers()
    _serialise_queues()
    moto_queries.install()
    Table._acktrack_partition_queries = True  # type: ignore[attr-defined]


def serve(port: int, callback: str = "") -> None:
    """moto's server with these fixes, in this process, until killed (benchmarks run it apart
    so that the memory measured is the handler's, not moto's). Its state machines run, their
    Lambda tasks answered by the handlers of the process at ``callback``
    (``workflow.answer_tasks``)."""
    import logging
    import time

    from moto.server import ThreadedMotoServer

    from acktrack.local import workflow

    os.environ["MOTO_PORT"] = str(port)  # where the interpreter sends its tasks' calls
    install()
    workflow.install()
    if callback:
        workflow.CALLBACK.append(callback)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    while True:
        time.sleep(3600)
