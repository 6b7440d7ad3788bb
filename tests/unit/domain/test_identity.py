"""Who a member transaction is about, within its family (pure): member ids first, then the
insurer's id or a keyed hash of first name and birth date, else a person of its own."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from acktrack.domain.identity import SUBSCRIBER, Who, identities, same_subscriber


def who(number: int, *, member: str | None = None, insurer: str | None = None,
        person: tuple[str, ...] = (), subscriber: bool = False) -> Who:  # fmt: skip
    return Who(("FAM#x", f"M#{number}"), "Y" if subscriber else "N", member,
               frozenset({insurer} if insurer else ()), frozenset(person))  # fmt: skip


def people(*whos: Who) -> list[str]:
    found = identities(whos)
    return [found[w.ref] for w in whos]


def test_children_without_any_identifier_are_each_their_own_person() -> None:
    bob, amy = who(1), who(2)
    first, second = people(bob, amy)
    assert first != second
    assert first.startswith("A:") and second.startswith("A:")


def test_the_same_first_name_and_birth_date_is_the_same_child_across_sends() -> None:
    bob_rejected, amy, bob_again = (
        who(1, person=("v1:b0b",)),
        who(2, person=("v1:a4y",)),
        who(3, person=("v1:b0b",)),
    )
    found = people(bob_rejected, amy, bob_again)
    assert found[0] == found[2] != found[1]


def test_a_hash_links_a_child_to_the_member_id_another_send_carried() -> None:
    with_id, without = who(1, member="E2", person=("v1:h",)), who(2, person=("v1:h",))
    assert people(with_id, without) == ["M:E2", "M:E2"]


def test_the_insurers_member_id_links_too() -> None:
    with_id, later = who(1, member="E2", insurer="C9"), who(2, insurer="C9")
    assert people(with_id, later) == ["M:E2", "M:E2"]


def test_a_hash_shared_by_two_member_ids_joins_neither() -> None:
    """Contradictory links: the transaction without a member id stays on its own."""
    one, other, unknown = (who(1, member="E1", person=("v1:h",)), who(2, member="E2", person=("v1:h",)),
                           who(3, person=("v1:h",)))  # fmt: skip
    found = people(one, other, unknown)
    assert found[:2] == ["M:E1", "M:E2"]
    assert found[2].startswith("A:")


def test_a_rotated_key_does_not_split_a_person() -> None:
    """Hashed under the old key, under both while the key rotates, then under the new one."""
    before, during, after = (
        who(1, person=("v1:h1",)),
        who(2, person=("v1:h1", "v2:h2")),
        who(3, person=("v2:h2",)),
    )
    found = people(before, during, after)
    assert found[0] == found[1] == found[2]


def test_hashes_of_two_key_versions_are_never_compared() -> None:
    assert len(set(people(who(1, person=("v1:h",)), who(2, person=("v2:h",))))) == 2


def test_the_subscriber_is_the_subscriber_id_unless_two_member_ids_disagree() -> None:
    assert people(who(1, subscriber=True, member="E1"), who(2, subscriber=True)) == [SUBSCRIBER] * 2
    found = people(who(1, subscriber=True, member="E1"), who(2, subscriber=True, member="E9"),
                   who(3, subscriber=True))  # fmt: skip
    assert found[:2] == ["M:E1", "M:E9"]
    assert found[2].startswith("A:")


def test_a_second_subscriber_is_told_apart_by_its_ids() -> None:
    assert not same_subscriber(who(1, member="E1"), who(2, member="E9"))
    assert not same_subscriber(who(1, person=("v1:a",)), who(2, person=("v1:b",)))
    assert same_subscriber(who(1, person=("v1:a",)), who(2, person=("v2:b",)))  # nothing to tell


tokens = st.sampled_from(["v1:a", "v1:b", "v2:a", "v2:c"])
row = st.tuples(
    st.sampled_from([None, "E1", "E2"]),
    st.sampled_from([None, "C1", "C2"]),
    st.frozensets(tokens, max_size=2),
    st.booleans(),
)


def _family(rows: list[tuple[str | None, str | None, frozenset[str], bool]]) -> list[Who]:
    return [Who(("F", f"M#{n}"), "Y" if sub else "N", m, frozenset({i} if i else ()), p)
            for n, (m, i, p, sub) in enumerate(rows)]  # fmt: skip


whos = st.lists(row, min_size=1, max_size=7).map(_family)


@given(whos, st.randoms(use_true_random=False))
def test_order_never_matters(family: list[Who], random: object) -> None:
    shuffled = list(family)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert identities(family) == identities(shuffled)


@given(whos)
def test_two_dependents_are_one_person_only_when_their_identifiers_link_them(
    family: list[Who],
) -> None:
    """Soundness: dependents named alike share a member id, or are linked by a chain of shared
    identifiers; and two different member ids are never one person."""
    found = identities(family)
    dependents = [w for w in family if w.subscriber_indicator != "Y"]
    for one in dependents:
        for other in dependents:
            if one is other or found[one.ref] != found[other.ref]:
                continue
            assert not (one.member_id and other.member_id and one.member_id != other.member_id)
            reached, frontier = {one.ref}, [one]
            while frontier:
                current = frontier.pop()
                for candidate in dependents:
                    if candidate.ref not in reached and set(candidate.tokens()) & set(
                        current.tokens()
                    ):
                        reached.add(candidate.ref)
                        frontier.append(candidate)
            assert other.ref in reached
