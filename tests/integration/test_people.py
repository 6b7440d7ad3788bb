"""People, exactly, through the handlers (moto): children without a member id, in every
arrival order of their files; the keyed hash of first name and birth date (the stack's own
key) tells a child resent from a sibling."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, date, datetime

from acktrack.synthetic.acknowledgments import GroupResponse, SetResponse, write_999
from acktrack.synthetic.families import Family, FamilyFile, Person, family_834
from tests.integration.conftest import Day

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
BOB = Person("BOB", "DOE", date(2010, 5, 5))
AMY = Person("AMY", "DOE", date(2012, 6, 6))
INSURER, US = "HEALTHPLAN01", "ACKTRACKEXCH"


def _answer(control: int, status: str) -> bytes:
    buffer = io.BytesIO()
    codes = ["5"] if status == "R" else []
    write_999(buffer, sender_id=INSURER, receiver_id=US, interchange_control=700_000 + control,
              sent_at=datetime(2024, 1, 18, 9, 0),
              groups=[GroupResponse(str(control), [SetResponse("0001", status, codes=codes)])])  # fmt: skip
    return buffer.getvalue()


def _sibling_files(number: int, second: Person) -> list[tuple[str, str, bytes]]:
    """Child BOB sent on the 15th and rejected; ``second`` (AMY, or BOB again) sent on the
    17th in a new interchange and accepted. A subscriber id of its own per arrival order."""
    subscriber = f"5{number:08d}"
    first_control, second_control = 10_000 + 2 * number, 10_001 + 2 * number
    first = family_834(FamilyFile(first_control, first_control, datetime(2024, 1, 15, 12, 0),
                                  [Family(subscriber, [BOB])]))  # fmt: skip
    later = family_834(FamilyFile(second_control, second_control, datetime(2024, 1, 17, 12, 0),
                                  [Family(subscriber, [second])]))  # fmt: skip
    return [
        ("outbound", f"first-{number}.834", first),
        ("inbound", f"first-{number}.999", _answer(first_control, "R")),
        ("outbound", f"second-{number}.834", later),
        ("inbound", f"second-{number}.999", _answer(second_control, "A")),
    ]


def test_a_siblings_acceptance_never_closes_a_rejected_child_in_any_arrival_order(
    day: Day,
) -> None:
    orders = list(itertools.permutations(range(4)))
    for number, order in enumerate(orders):
        files = _sibling_files(number, AMY)
        for index in order:
            day.drop(*files[index])
    report = day.report(AS_OF)
    rows = report["unconfirmed"]
    assert len(rows) == len(orders) == 24
    assert {row["status"] for row in rows} == {"rejected"}
    assert {row["interchange_control"] for row in rows} == {
        f"{10_000 + 2 * n:09d}" for n in range(len(orders))
    }  # every BOB, in every order, and never AMY
    assert report["summary"]["people_unconfirmed"] == 24
    assert report["summary"]["resolved_by_resend"] == 0
    assert report["summary"]["all_confirmed"] is False


def test_the_same_child_resent_is_recognised_by_first_name_and_birth_date(day: Day) -> None:
    for number, order in enumerate([(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1)]):
        files = _sibling_files(number, BOB)
        for index in order:
            day.drop(*files[index])
    report = day.report(AS_OF)
    assert report["unconfirmed"] == []
    assert report["summary"]["resolved_by_resend"] == 3
    assert report["summary"]["people_unconfirmed"] == 0


def test_an_insurers_effectuation_finds_children_without_member_ids_by_name_and_birth(
    day: Day,
) -> None:
    """The insurer echoes first names and birth dates (its own 834): each child's addition
    is effectuated, none confirms its sibling, and nothing is flagged as never sent."""
    ann = Person("ANN", "DOE", date(1980, 1, 1), subscriber=True, member_id="E100")
    family = Family("500000777", [ann, BOB, AMY])
    sent = family_834(FamilyFile(4001, 4001, datetime(2023, 11, 1, 12, 0), [family]))
    day.drop("outbound", "family.834", sent)
    day.drop("inbound", "family.999", _answer(4001, "A"))
    # The insurer effectuates the subscriber and BOB only (AMY still waits).
    insurer = family_834(FamilyFile(6001, 6001, datetime(2023, 11, 20, 9, 0),
                                    [Family("500000777", [ann, BOB])], sender_id=INSURER,
                                    receiver_id=US))  # fmt: skip
    day.drop("inbound", "effectuation.834", insurer)
    report = day.report(AS_OF)
    kinds = {item["kind"] for item in report["data_quality"]}
    assert not kinds & {"never_sent", "unidentified_member"}
    assert report["summary"]["effectuated"] == 2
    (late,) = [row for row in report["unconfirmed"] if row["status"] == "not_effectuated"]
    assert late["subscriber_id"] == "500000777" and late["member_id"] is None
    assert report["summary"]["people_unconfirmed"] == 1
