"""Queries on the embedded stack's DynamoDB read what DynamoDB reads: the partition or index
key they name, the items in range of their sort key. Written against moto 5.2's internals
(``moto_speed.install`` checks the version and installs this). Proved by
tests/integration/test_moto_double.py.

moto (5.x) answers every base-table Query by listing and sorting every item in the
table, so a per-family query costs O(table) and ingesting a large file locally turns
quadratic. DynamoDB itself reads only the partition. While moto runs a base-table
query, ``Table.all_items`` returns just that partition's items (sorted as moto sorts
them), so results, ordering and paging are unchanged. An index query is narrowed the same
way: moto sorts the whole table before it keeps the items whose index key matches, so here
it is handed only the items with that index hash key (it sorts those as before), found in a
map of the table's items by that key built once per write count. Thread-local:
the threaded server answers requests concurrently. Installed by the local stack only.
A query's range condition is applied before moto's loop too: moto weighs every item of
the partition against the 1 MB page limit before it compares its sort key, so a "the
last position at or before N, limit 1" query weighed the whole partition. Only the items
in range, and the nearest one on either side, are handed to it; items further out no
longer count against the page limit, as in DynamoDB.
The index maps are built again after any write through the backend's write methods
(``moto_speed`` counts them in ``WRITTEN``). Writes that go around them (PartiQL's
ExecuteStatement and ExecuteTransaction, ImportTable) would leave a map stale: acktrack
makes none. A map pays while reads come between writes (the report: one index query per
set, linear now, was quadratic); a path that alternates writes and index queries builds
it again after each write, about what walking the table cost before.
"""

from __future__ import annotations

import threading
from typing import Any

_current = threading.local()
# Writes so far (any table): an index map built at another count is built again.
WRITTEN = [0]


def _index_map(table: Any, name: str) -> dict[Any, list[Any]]:
    """The table's items by their value of ``name`` (an index's hash key), built once per
    write count: an index query reads its key's items, not the whole table (a report over
    60,000 sets made one such query per set). Built again after any write, so a stale map is
    never read; moto checks every condition again on what it is handed."""
    written = WRITTEN[0]
    maps: tuple[int, dict[str, dict[Any, list[Any]]]] | None = getattr(
        table, "_acktrack_index_maps", None
    )
    if maps is None or maps[0] != written:
        maps = (written, {})
        table._acktrack_index_maps = maps
    found: dict[Any, list[Any]] | None = maps[1].get(name)
    if found is None:
        found = {}
        # list() copies each dict in one step: a write from another thread cannot change it
        # while it is read (that write moves the count, so this map is not kept after).
        for partition in list(table.items.values()):
            for item in list(partition.values()) if isinstance(partition, dict) else [partition]:
                value = item.attrs.get(name)
                if value is not None:
                    found.setdefault(value, []).append(item)
        maps[1][name] = found
    return found


def _equals(found: Any, expected: Any) -> bool:
    return found is not None and bool(found == expected)


NARROW_RANGES = True  # tests turn it off to compare with moto's own answers


def _in_range(
    table: Any, items: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[Any]:
    """The items whose sort key meets the query's range condition, as moto compares it, and
    the nearest item on either side of them: moto meets that one next when a page is full
    and answers with a LastEvaluatedKey. Pages are moto's own, except that items further
    out no longer count against the 1 MB page limit (DynamoDB does not count them)."""
    comparison, values = (args[0], args[1]) if len(args) > 1 else (None, None)
    extra = set(kwargs) - {"hash_key_conditions", "range_key_conditions"}
    if not NARROW_RANGES or not comparison or extra:
        return items  # no condition, or legacy filters moto applies in the same loop
    conditions = kwargs.get("range_key_conditions")
    index_name = args[6] if len(args) > 6 else None
    if conditions and len(conditions) > 1:
        return items  # a multi-attribute sort key: moto drops items on the others first
    if conditions:
        name = conditions[-1][0]
    elif index_name:
        ranges = [k for k in table.get_index(index_name).schema if k["KeyType"] == "RANGE"]
        if not ranges:
            return items  # moto refuses the query itself
        name = ranges[0]["AttributeName"]
    else:
        name = table.range_key_attr
    keyed = sorted((item for item in items if item.attrs.get(name)),
                   key=lambda item: item.attrs[name].cast_value)  # fmt: skip
    inside = [n for n, item in enumerate(keyed) if item.attrs[name].compare(comparison, values)]
    if not inside:
        return []
    return keyed[max(0, inside[0] - 1) : inside[-1] + 2]  # a sort key range is one run


def install() -> None:
    """Narrow moto's Table.query to the partition, the index key and the range asked for."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    original_query = Table.query
    original_all_items = Table.all_items
    original_size = Item.size

    def size(self: Any) -> int:
        sizes = getattr(_current, "sizes", None)
        if sizes is None:
            return original_size(self)
        known = sizes.get(id(self))
        if known is None or known[0] is not self:
            known = sizes[id(self)] = (self, original_size(self))
        return known[1]  # type: ignore[no-any-return]

    def all_items(self: Any) -> list[Any]:
        partition = getattr(_current, "partition", None)
        if partition is not None and partition[0] is self:
            return list(partition[1])
        return original_all_items(self)

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("index_name") or (len(args) > 6 and args[6]):
            conditions = kwargs.get("hash_key_conditions") or []
            if not conditions:
                return original_query(self, hash_key, *args, **kwargs)
            # A superset of what moto keeps (it checks every condition again), in any order:
            # moto sorts the index's candidates itself.
            name, value = conditions[0]
            items = [item for item in _index_map(self, name).get(value, ())
                     if all(_equals(item.attrs.get(n), v) for n, v in conditions)]  # fmt: skip
        else:
            bucket = self.items.get(hash_key) if hash_key is not None else None
            items = (list(bucket.values()) if isinstance(bucket, dict)
                     else ([bucket] if bucket else []))  # fmt: skip
            items.sort(key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
        items = _in_range(self, items, args, kwargs)
        previous = getattr(_current, "partition", None), getattr(_current, "sizes", None)
        _current.partition, _current.sizes = (self, items), {}
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _current.partition, _current.sizes = previous

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Item.size = size  # type: ignore[method-assign]
