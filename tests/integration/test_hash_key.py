"""The demographic hash key on the stack (moto): a rotation does not split people, and a key
that cannot be read stops nothing but the hashing, which the outcome, a metric and the
report's notices say."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime

from acktrack.handlers import wiring
from acktrack.synthetic.families import Family, FamilyFile, Person, family_834
from tests.integration.conftest import Day, send_family_answered

AS_OF = datetime(2024, 1, 20, 7, 0, tzinfo=UTC)
BOB = Person("BOB", "DOE", date(2010, 5, 5))


def _secret(day: Day) -> str:
    (arn,) = [s["ARN"] for s in day.stack.client("secretsmanager").list_secrets()["SecretList"]]
    return str(arn)


def _send(day: Day, control: int, sent: datetime, status: str) -> None:
    send_family_answered(day, BOB, control, sent, status)


def test_a_rotated_key_does_not_split_a_child_resent_after_the_rotation(day: Day) -> None:
    _send(day, 2001, datetime(2024, 1, 15, 12, 0), "R")  # hashed under the first key
    day.stack.client("secretsmanager").put_secret_value(
        SecretId=_secret(day), SecretString=secrets.token_urlsafe(48)
    )  # the first value is now AWSPREVIOUS
    wiring.reset_settings()  # a new container: the key is read again
    _send(day, 2002, datetime(2024, 1, 17, 12, 0), "A")  # hashed under both keys
    report = day.report(AS_OF)
    assert report["unconfirmed"] == []
    assert report["summary"]["resolved_by_resend"] == 1


def test_an_unreadable_key_stops_only_the_hashing(day: Day) -> None:
    day.stack.client("secretsmanager").delete_secret(
        SecretId=_secret(day), ForceDeleteWithoutRecovery=True
    )
    wiring.reset_settings()
    data = family_834(FamilyFile(3001, 3001, datetime(2024, 1, 15, 12, 0),
                                 [Family("500000002", [Person("ANN", "ROE", date(1980, 1, 1),
                                                              subscriber=True), BOB])]))  # fmt: skip
    (invocation,) = day.drop("outbound", "a.834", data)
    (outcome,) = invocation.result["objects"]
    assert outcome["outcome"] == "tracked" and "hash_key_unavailable" in outcome["notices"]
    assert day.metrics()["HashKeyUnavailable"] == 1
    members = [item for item in day.table() if item["sk"]["S"].startswith("M#")]
    assert len(members) == 2 and not any("dh" in item for item in members)
    report = day.report(AS_OF)
    assert report["summary"]["members_sent"] == 2
    (notice,) = [n for n in report["notices"] if n["kind"] == "hash_key_unavailable"]
    assert "cannot be read" in notice["detail"]
