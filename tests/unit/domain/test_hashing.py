"""Keyed hashes of personal values (pure): versions, short keys, rotation, normalising."""

from __future__ import annotations

import pytest

from acktrack.domain.hashing import (
    MIN_KEY_BYTES,
    HashKey,
    KeyRefused,
    Keyring,
    keyed_hash,
    normalise,
    person_tokens,
    person_value,
    values_hashes,
)

OLD, NEW = b"o" * 40, b"n" * 40


def test_a_key_shorter_than_32_bytes_is_refused_and_hashes_nothing() -> None:
    with pytest.raises(KeyRefused, match="at least 32"):
        HashKey.of(b" ")
    ring = Keyring.of(b"x" * (MIN_KEY_BYTES - 1))
    assert not ring and "at least 32" in ring.problem
    assert values_hashes({"person": "BOB|20100505"}, "S1", ring) == {}


def test_a_version_is_a_fingerprint_of_the_key_and_reveals_nothing_of_it() -> None:
    one, again, other = HashKey.of(OLD), HashKey.of(OLD), HashKey.of(NEW)
    assert one.version == again.version != other.version
    assert len(one.version) == 8 and "o" not in one.version
    assert "ooo" not in repr(one)  # the secret is not in its repr


def test_while_a_key_rotates_every_value_is_hashed_under_both() -> None:
    ring = Keyring.of(NEW, OLD)
    assert ring.versions == (HashKey.of(NEW).version, HashKey.of(OLD).version)
    hashes = values_hashes({"person": person_value("Bob", "2010-05-05")}, "S1", ring)
    before = values_hashes({"person": person_value("BOB", "20100505")}, "S1", Keyring.of(OLD))
    assert set(hashes) == set(ring.versions)
    assert person_tokens(before) <= person_tokens(hashes)  # the old hash is still there


def test_an_unfit_previous_key_is_left_out() -> None:
    assert Keyring.of(NEW, b"short").versions == (HashKey.of(NEW).version,)


def test_names_are_folded_the_same_way_on_both_sides() -> None:
    assert normalise("first_name", "José") == normalise("first_name", "JOSE") == "JOSE"
    assert normalise("name", "O'Brien  Zoë") == "OBRIENZOE"
    assert keyed_hash(OLD, "name", "Renée") == keyed_hash(OLD, "name", "RENEE")


def test_a_person_needs_both_first_name_and_birth_date() -> None:
    assert person_value("BOB", None) is None
    assert person_value(None, "20100505") is None
    assert person_value("bob", "2010-05-05") == "BOB|20100505"
