"""Identifiers as they are kept: clipped to X12's lengths with a hash of the whole value,
so a malformed over-long value can break no key or item limit, and hashed keys."""

from __future__ import annotations

import hashlib
from typing import Any


def short_hash(*parts: str, size: int = 20) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=size // 2).hexdigest()


def set_id(our: str, partner: str, group_control: str | None, interchange_control: str, digest: str,
           transaction_control: str) -> str:  # fmt: skip
    """The id of one version of a transaction set: its controls and its interchange's digest."""
    return short_hash(
        our, partner, group_control or "-", interchange_control, digest[:20], transaction_control
    )


SHORT = 35  # X12 envelope identifiers and codes: 35 characters at most
ID = 50  # a REF02 reference identification (subscriber, member, policy ids): 50 at most
LONG = 99  # a bad-value copy, a name, a plan id


def clip(value: Any, size: int = SHORT) -> Any:
    """An identifier or code as stored and keyed on. A longer one is malformed and would break
    DynamoDB's key and item limits: it keeps a prefix and a hash of the whole value, so two
    long values stay apart and the same value always clips the same way."""
    if not isinstance(value, str) or len(value) <= size:
        return value
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    return value[: size - 13] + "#" + digest
