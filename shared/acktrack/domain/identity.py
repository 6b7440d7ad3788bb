"""Who a member transaction is about, within one subscriber's family (pure).

Safest first:

1. the subscriber (INS01 Y) is the person the subscriber id (REF*0F) names (when the
   family's INS01 Y transactions carry two different member ids, a data error flagged as
   ``second_subscriber``, each member id is its own person, and one without is alone);
2. a dependent with an exchange member id (REF*17) is that member;
3. a dependent without one is the member the family's other transactions link it to: the
   insurer's member id (REF*23, sent or learned from an effectuation), else a keyed hash of
   first name and birth date (``hashing.PERSON``, compared within a key version);
4. a dependent with none of these is a person of its own: never merged with another
   transaction, so never closed by another's confirmation.

Two transactions are one person only when their identifiers say so. When the links are
contradictory (one hash shared by two member ids, say), a transaction without a member id
is joined to a member only if its own identifiers point at one member; otherwise it stays
on its own. The answer depends on the family's transactions only, never on their order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

SUBSCRIBER = "SUBSCRIBER"

Ref = tuple[str, str]
Token = tuple[str, str]  # ("M", member id) | ("I", insurer member id) | ("H", version:hash)


@dataclass(frozen=True, slots=True)
class Who:
    """What identifies one member transaction (or one insurer record) in its family."""

    ref: Ref
    subscriber_indicator: str
    member_id: str | None = None  # REF*17
    insurer_ids: frozenset[str] = frozenset()  # REF*23: sent, or the insurer's own
    person: frozenset[str] = frozenset()  # "version:hash" of first name and birth date

    def tokens(self) -> list[Token]:
        found: list[Token] = [("M", self.member_id)] if self.member_id else []
        found += [("I", value) for value in sorted(self.insurer_ids) if value]
        found += [("H", value) for value in sorted(self.person)]
        return found


def alone(ref: Ref) -> str:
    """The identity of a transaction that is its own person."""
    return f"A:{ref[0]}|{ref[1]}"


def identities(people: Iterable[Who]) -> dict[Ref, str]:
    """Each transaction's person within the family (see the module docstring)."""
    found: dict[Ref, str] = {}
    dependents: list[Who] = []
    everyone = list(people)
    subscribers = [who for who in everyone if who.subscriber_indicator == "Y"]
    named = {who.member_id for who in subscribers if who.member_id}
    for who in subscribers:
        if len(named) <= 1:
            found[who.ref] = SUBSCRIBER
        else:  # two subscribers under one REF*0F: never merged
            found[who.ref] = f"M:{who.member_id}" if who.member_id else alone(who.ref)
    for who in everyone:
        if who.subscriber_indicator == "Y":
            continue
        if who.tokens():
            dependents.append(who)
        else:
            found[who.ref] = alone(who.ref)
    parent: dict[Token, Token] = {}

    def root(token: Token) -> Token:
        parent.setdefault(token, token)
        while parent[token] != token:
            parent[token] = parent[parent[token]]
            token = parent[token]
        return token

    for who in dependents:
        first, *rest = who.tokens()
        root(first)  # a transaction with one identifier is a group of its own too
        for token in rest:
            a, b = root(first), root(token)
            if a != b:
                parent[max(a, b)] = min(a, b)  # deterministic whatever the order
    groups: dict[Token, set[Token]] = defaultdict(set)
    for token in list(parent):
        groups[root(token)].add(token)
    # Which member ids and insurer ids stand beside each token (its direct links).
    beside: dict[Token, set[Token]] = defaultdict(set)
    for who in dependents:
        tokens = who.tokens()
        for token in tokens:
            beside[token].update(t for t in tokens if t[0] in "MI")
    for who in dependents:
        if who.member_id:
            found[who.ref] = f"M:{who.member_id}"
            continue
        tokens = who.tokens()
        group = groups[root(tokens[0])]
        members = sorted(v for kind, v in group if kind == "M")
        insurers = sorted(v for kind, v in group if kind == "I")
        if len(members) <= 1 and len(insurers) <= 1:
            found[who.ref] = _named(members, insurers, sorted(v for k, v in group if k == "H"))
            continue
        # Contradictory links in the family: only this transaction's own links count.
        linked = set().union(*(beside[token] for token in tokens))
        members = sorted(v for kind, v in linked if kind == "M")
        insurers = sorted(v for kind, v in linked if kind == "I")
        if len(members) > 1 or (not members and len(insurers) > 1):
            found[who.ref] = alone(who.ref)
        else:
            found[who.ref] = _named(members, insurers, sorted(who.person))
    return found


def _named(members: list[str], insurers: list[str], hashes: list[str]) -> str:
    if members:
        return f"M:{members[0]}"
    if insurers:
        return f"I:{insurers[0]}"
    return f"H:{hashes[0]}"


def same_subscriber(one: Who, other: Who) -> bool:
    """Whether two INS01 Y transactions of one subscriber id name the same person, as far as
    their identifiers tell (a second, different subscriber is a data-quality finding)."""
    if one.member_id and other.member_id:
        return one.member_id == other.member_id
    versions = {t.split(":", 1)[0] for t in one.person} & {t.split(":", 1)[0] for t in other.person}
    if versions:
        return bool(one.person & other.person)
    return True  # nothing tells them apart
