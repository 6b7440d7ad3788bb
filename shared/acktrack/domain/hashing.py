"""Keyed hashes of personal values: how a person is recognised and compared without being
stored (pure).

HMAC-SHA256 under the stack's secret, of a normalised value within one subscriber's family:
the same value in the same family gives the same hash under one key; two families' hashes
cannot be linked, and nothing is revealed without the key. 64 bits are kept: among the few
people of one family a false match is about 1 in 1.8e19 per pair; over 10 million people
compared within their families (about 3 per family) that is about 1 in 10^12 a year.

Keys are versioned. A key's version is a fingerprint of it (it reveals nothing of the key),
kept beside every hash made with it, and hashes are compared only within a version. While a
key is rotated, values are hashed under the new key and the previous one, so the people
hashed before the rotation are still recognised after it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from acktrack.x12.records import MemberTransaction

HASH_CHARS = 16  # 64 bits, as hex
VERSION_CHARS = 8
MIN_KEY_BYTES = 32  # a shorter secret is refused: guessing it would reveal every hash
DEMOGRAPHIC_KINDS = ("name", "birth_date", "gender", "ssn")  # compared by reconciliation
PERSON = "person"  # first name and birth date: who a dependent without a member id is
KINDS = (*DEMOGRAPHIC_KINDS, PERSON)

# version -> kind -> hash (hex). Most items carry one version; two while a key rotates.
Hashes = dict[str, dict[str, str]]


class KeyRefused(ValueError):
    """A secret unfit to key the hashes (the reason says why, never the secret)."""


@dataclass(frozen=True, slots=True)
class HashKey:
    secret: bytes = field(repr=False)
    version: str

    @classmethod
    def of(cls, secret: bytes) -> HashKey:
        if len(secret.strip()) < MIN_KEY_BYTES:
            raise KeyRefused(
                f"the demographic hash key has {len(secret.strip())} bytes; at least "
                f"{MIN_KEY_BYTES} are needed (generate one: openssl rand -base64 48)"
            )
        digest = hmac.new(secret, b"acktrack hash key version", hashlib.sha256).hexdigest()
        return cls(secret, digest[:VERSION_CHARS])


@dataclass(frozen=True, slots=True)
class Keyring:
    """The keys hashes are made with: the current one first, then the previous one while a
    rotation is under way. ``problem``: why there is no key when one was configured (then
    tracking goes on; only the demographic comparison waits)."""

    keys: tuple[HashKey, ...] = ()
    problem: str = ""

    @classmethod
    def of(cls, *secrets: bytes | None) -> Keyring:
        """From the current secret and, optionally, the previous one (None: absent)."""
        if not secrets or secrets[0] is None:
            return cls()
        keys: list[HashKey] = []
        for secret in secrets:
            if secret is None:
                continue
            try:
                key = HashKey.of(secret)
            except KeyRefused as refused:
                if not keys:  # the current key is unfit: no hashing at all
                    return cls(problem=str(refused))
                continue  # an unfit previous key is simply not used
            if key.version not in {k.version for k in keys}:
                keys.append(key)
        return cls(tuple(keys))

    def __bool__(self) -> bool:
        return bool(self.keys)

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(key.version for key in self.keys)


def normalise(kind: str, value: str | None) -> str:
    """Names: letters only, accents folded, upper case (José and JOSE alike); dates: YYYYMMDD
    digits; SSN: digits; gender: M/F/U."""
    text = (value or "").strip()
    if kind in ("last_name", "first_name", "name"):
        folded = unicodedata.normalize("NFKD", text)
        folded = "".join(c for c in folded if not unicodedata.combining(c))
        return re.sub(r"[^A-Z]", "", folded.upper())
    if kind in ("birth_date", "ssn"):
        return re.sub(r"\D", "", text)
    if kind == "gender":
        return text[:1].upper()
    return text


def keyed_hash(
    key: HashKey | bytes | None, kind: str, value: str | None, subscriber_id: str = ""
) -> str | None:
    """The hash of one normalised value within one family (None without a value or key)."""
    normal = normalise(kind, value)
    if not normal or not key:  # no key: nothing personal is kept, not even a hash
        return None
    secret = key.secret if isinstance(key, HashKey) else key
    text = f"{kind}\x1f{subscriber_id.strip()}\x1f{normal}"
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()[:HASH_CHARS]


def person_value(first_name: str | None, birth_date: str | None) -> str | None:
    """What identifies a dependent without a member id: first name and birth date, both."""
    first, born = normalise("first_name", first_name), normalise("birth_date", birth_date)
    return f"{first}|{born}" if first and born else None


def member_hashes(member: MemberTransaction, keyring: Keyring) -> Hashes:
    """Keyed hashes of one member's name, birth date, gender, SSN (NM109 when NM108 is 34)
    and person (first name and birth date), under every key of the ring; absent ones left
    out."""
    name = " ".join(p for p in (member.last_name, member.first_name) if p)
    ssn = member.member_identifier if member.member_identifier_qualifier == "34" else None
    values = {
        "name": name,
        "birth_date": member.birth_date,
        "gender": member.gender,
        "ssn": ssn,
        PERSON: person_value(member.first_name, member.birth_date),
    }
    return values_hashes(values, member.subscriber_id or "", keyring)


def values_hashes(values: Mapping[str, str | None], family: str, keyring: Keyring) -> Hashes:
    """Hashes of the given kinds' values under every key of the ring."""
    found: Hashes = {}
    for key in keyring.keys:
        hashed = {kind: keyed_hash(key, kind, value, family) for kind, value in values.items()}
        kept = {kind: value for kind, value in hashed.items() if value}
        if kept:
            found[key.version] = kept
    return found


def person_tokens(hashes: Mapping[str, Mapping[str, str]]) -> frozenset[str]:
    """The person hash under each version, as ``version:hash`` (compared within a version)."""
    return frozenset(
        f"{version}:{kinds[PERSON]}" for version, kinds in hashes.items() if kinds.get(PERSON)
    )


def in_version(
    hashes: Mapping[str, Mapping[str, str]], versions: Iterable[str]
) -> tuple[str, dict[str, str]]:
    """The hashes under the first of ``versions`` they have (``("", {})`` when none)."""
    for version in versions:
        if version in hashes:
            return version, dict(hashes[version])
    return "", {}
