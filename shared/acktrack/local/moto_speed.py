"""Make the embedded stack's DynamoDB behave like DynamoDB: atomic writes, partition queries.

Atomic writes: moto's backend reads, changes and stores an item without a lock, so two
threads adding to one counter (the family reconcilers, the threaded server) can lose an
update that DynamoDB would never lose. Every write operation runs under one re-entrant
lock here, which gives the per-item atomicity of ADD, condition checks and transactions.

Partition queries: a query reads only its partition.

Transactions at item cost: moto backs up every table a transaction touches with a deep
copy (once per item in it) so that it can roll back; on a table of 100,000 members one
TransactWriteItems took seconds and gigabytes. Here the items the transaction names are
backed up instead, and restored if it is cancelled (what DynamoDB guarantees).

moto (5.x) answers every base-table Query by listing and sorting every item in the
table, so a per-family query costs O(table) and ingesting a large file locally turns
quadratic. DynamoDB itself reads only the partition. While moto runs a base-table
query, ``Table.all_items`` returns just that partition's items (sorted as moto sorts
them), so results, ordering and paging are unchanged. Thread-local: the threaded
server answers requests concurrently. Installed by the local stack only.
"""

from __future__ import annotations

import threading
from typing import Any

_current = threading.local()


_writes = threading.RLock()
_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def _serialise_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with _writes:
                return _original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)


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


def install() -> None:
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_acktrack_partition_queries", False):
        return
    _serialise_writes()
    _item_level_transactions()
    original_query = Table.query
    original_all_items = Table.all_items

    def all_items(self: Any) -> list[Any]:
        partition = getattr(_current, "partition", None)
        if partition is not None and partition[0] is self:
            return list(partition[1])
        return original_all_items(self)

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("index_name") or (len(args) > 6 and args[6]):
            return original_query(self, hash_key, *args, **kwargs)
        bucket = self.items.get(hash_key) if hash_key is not None else None
        items = list(bucket.values()) if isinstance(bucket, dict) else ([bucket] if bucket else [])
        items.sort(key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
        previous = getattr(_current, "partition", None)
        _current.partition = (self, items)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _current.partition = previous

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table._acktrack_partition_queries = True  # type: ignore[attr-defined]


def serve(port: int) -> None:
    """moto's server with these fixes, in this process, until killed (benchmarks run it apart
    so that the memory measured is the handler's, not moto's)."""
    import logging
    import time

    from moto.server import ThreadedMotoServer

    install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    while True:
        time.sleep(3600)
