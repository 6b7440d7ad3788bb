"""What an independent security and reliability review found, each proven on the stack (moto)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from acktrack.handlers import wiring
from acktrack.store import acks, keys
from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.resend import resend_sets
from tests.integration.conftest import Day
from tests.reliability.support import budget

AS_OF = datetime(2024, 1, 16, 12, 0, tzinfo=UTC)


def quarantined(day: Day) -> dict[str, str]:
    return {item["key"]: item["reason"] for item in day.report(AS_OF)["quarantined"]}


def test_an_insurer_folder_binds_a_file_to_that_insurer(day: Day) -> None:
    data, _ = day.send("a.834", members=4, seed=41)
    # A 999 from HEALTHPLAN01 dropped in another insurer's folder rejects nobody.
    day.answer("OTHERPLAN/a.999", data)
    reasons = quarantined(day)
    assert reasons["inbound/OTHERPLAN/a.999"] == (
        "an insurer folder takes that insurer's files only; this one was sent by "
        "'HEALTHPLAN01' (ISA06), another insurer"
    )
    assert day.report(AS_OF)["summary"]["confirmed"] == 0
    # In its own folder it is applied.
    day.answer("HEALTHPLAN01/a.999", data)
    assert day.report(AS_OF)["summary"]["confirmed"] == 4


@pytest.mark.parametrize("parameters", [{"OurSenderIds": "ACKTRACKEXCH"}])
def test_our_own_834_dropped_into_inbound_is_misplaced(
    day: Day, parameters: dict[str, Any]
) -> None:
    data, _ = day.send("a.834", members=4, seed=42)
    day.drop("inbound", "a-copy.834", data)
    report = day.report(AS_OF)
    (item,) = report["quarantined"]
    assert item["key"] == "inbound/a-copy.834"
    assert item["reason"].startswith("misplaced: ISA06 'ACKTRACKEXCH' is one of our own sender ids")
    assert report["data_quality"] == []  # no false "never sent" from reading it as effectuation


@pytest.mark.parametrize("parameters", [{"RequireInsurerFolders": "true"}])
def test_require_insurer_folders_refuses_files_directly_under_inbound(
    day: Day, parameters: dict[str, Any]
) -> None:
    data, _ = day.send("a.834", members=3, seed=43)
    day.answer("a.999", data)
    day.answer("HEALTHPLAN01/a.999", data)
    reasons = quarantined(day)
    assert list(reasons) == ["inbound/a.999"]
    assert "must be under inbound/<insurer id>/" in reasons["inbound/a.999"]
    assert day.report(AS_OF)["summary"]["confirmed"] == 3


def _members(day: Day) -> list[dict[str, Any]]:
    return [item for item in day.table() if item["sk"]["S"].startswith("M#")]


def _sets(day: Day) -> list[dict[str, Any]]:
    return [item for item in day.table() if item["sk"]["S"].startswith("SET#")]


def test_retention_counts_from_arrival_not_from_the_envelope_date(day: Day) -> None:
    day.stack.clock = None  # files arrive now (2026), dated 2024
    before = datetime.now(UTC).timestamp()
    day.send("old.834", members=4, seed=44, sent_at=datetime(2024, 1, 15, 12, 0))
    after = datetime.now(UTC).timestamp()
    members = _members(day)
    assert len(members) == 4
    for item in members:  # the template's default RetentionDays: 730, from arrival
        expires = int(item["expires"]["N"])
        assert int(before) + 730 * 86400 <= expires <= int(after) + 1 + 730 * 86400
    (tracked,) = _sets(day)
    codes = [finding["code"] for finding in json.loads(tracked["findings"]["S"])]
    assert codes == ["envelope_date_long_before_arrival"]
    assert not tracked.get("predicted_rejection", {}).get("BOOL", False)


@pytest.mark.parametrize("parameters", [{"RetentionDays": "1"}])
def test_open_members_never_expire_and_confirmed_ones_do(
    day: Day, parameters: dict[str, Any]
) -> None:
    day.stack.clock = None
    now = datetime.now(UTC)
    answered, _ = day.send("answered.834", members=3, seed=45, sent_at=now.replace(tzinfo=None))
    day.send("silent.834", members=2, seed=46, sent_at=now.replace(tzinfo=None),
             interchange_control=2001, first_group_control=2)  # fmt: skip
    day.answer("HEALTHPLAN01/answered.999", answered)
    as_of = now + timedelta(days=2)  # past the 1-day retention of both files
    run = day.stack.run_schedule(as_of)
    assert run.ok, run.error
    expiries = {}
    for item in _members(day):
        expiries.setdefault(item["set_id"]["S"], []).append(int(item["expires"]["N"]))
    kept, left = sorted(expiries.values(), key=len)
    assert len(kept) == 2 and all(e >= (as_of + timedelta(days=30)).timestamp() for e in kept)
    assert len(left) == 3 and all(
        e <= (now + timedelta(days=1, minutes=1)).timestamp() for e in left
    )


@pytest.mark.parametrize("parameters", [{"RetentionDays": "1"}])
def test_a_rejection_closed_by_a_confirmed_resend_expires_with_it(
    day: Day, parameters: dict[str, Any]
) -> None:
    """Kept forever, the rejection would outlive its resend and come back as open."""
    day.stack.clock = None
    now = datetime.now(UTC).replace(tzinfo=None)
    data, _ = day.send("a.834", members=4, sets_per_group=2, seed=48, errors=["bad_ins03:3"],
                       sent_at=now - timedelta(hours=4))  # fmt: skip
    day.drop("inbound", "HEALTHPLAN01/a.999",
             respond(data, insurer_control=8101, sent_at=now - timedelta(hours=3)))  # fmt: skip
    resend = resend_sets(data, {"0002"}, interchange_control=1002, group_control=2,
                         sent_at=now - timedelta(hours=2), corrections={("INS", 3, "099"): "021"})  # fmt: skip
    day.drop("outbound", "a-resend.834", resend)
    day.drop("inbound", "HEALTHPLAN01/a-resend.999",
             respond(resend, insurer_control=8102, sent_at=now - timedelta(hours=1)))  # fmt: skip
    as_of = datetime.now(UTC) + timedelta(days=2)  # past the 1-day retention
    run = day.stack.run_schedule(as_of)
    assert run.ok, run.error
    assert run.result["summary"]["resolved_by_resend"] == 2
    assert all(int(m["expires"]["N"]) < as_of.timestamp() for m in _members(day))  # none kept


def test_a_future_envelope_date_ages_from_arrival(day: Day) -> None:
    day.stack.clock = None
    day.send("future.834", members=3, seed=47, sent_at=datetime(2099, 1, 1, 12, 0))
    report = day.report(datetime.now(UTC) + timedelta(days=3))  # past the 48-hour SLA
    assert report["summary"]["pending_overdue"] == 3
    assert report["summary"]["pending_within_sla"] == 0
    (tracked,) = _sets(day)
    assert tracked["sent_at"]["S"] < "2099"
    codes = [finding["code"] for finding in json.loads(tracked["findings"]["S"])]
    assert codes == ["envelope_date_in_future"]


def test_a_quarantine_copy_of_a_very_long_key_fits_s3s_limit(day: Day) -> None:
    long_name = "é" * 400 + ".834"  # 804 bytes; with outbound/ and quarantine/ over 1,024
    day.drop("outbound", long_name, b"\x00\x01 not X12")
    other = "é" * 400 + "x.834"  # the same first 1,000 bytes: its copy must not overwrite
    day.drop("outbound", other, b"\x00\x02 not X12")
    quarantined = day.report(AS_OF)["quarantined"]
    copies = {item["quarantine_key"] for item in quarantined}
    assert len(quarantined) == 2 and len(copies) == 2
    s3 = day.stack.client("s3")
    for key in copies:
        assert key.startswith("quarantine/outbound/") and len(key.encode()) <= 1024
        assert s3.head_object(Bucket=day.outbound, Key=key)["Metadata"]["acktrack-reason"]


def test_oversized_values_are_clipped_and_the_file_is_tracked(day: Day) -> None:
    from tests.support import SAMPLES

    data = (SAMPLES / "834_5members.834").read_bytes().replace(b"*0*T*:~", b"*0*P*:~", 1)
    control = b"9" * 1500
    huge_id = b"M" * 500_000
    data = data.replace(b"ST*834*0001*", b"ST*834*" + control + b"*", 1)
    data = data.replace(b"*0001~\nGE*", b"*" + control + b"~\nGE*", 1)
    first_ref = data.index(b"REF*17*") + len(b"REF*17*")
    data = data[:first_ref] + huge_id + data[data.index(b"~", first_ref) :]
    results = day.drop("outbound", "huge.834", data)
    assert all(result.ok for result in results)  # no retries, nothing for the failure queue
    assert day.stack.failures() == []
    report = day.report(AS_OF)
    assert report["summary"]["members_sent"] == 5 and report["quarantined"] == []
    items = day.table()
    assert (
        max(len(json.dumps(item, default=repr)) for item in items) < 50_000
    )  # far under DynamoDB's 400 KB
    (tracked,) = _sets(day)
    assert len(tracked["transaction_control"]["S"]) == 35
    codes = [finding["code"] for finding in json.loads(tracked["findings"]["S"])]
    assert "value_too_long" in codes
    flagged = [m for m in _members(day) if "value_too_long" in m["findings"]["S"]]
    assert len(flagged) == 1 and len(flagged[0]["member_id"]["S"]) == 50  # REF02's 50 at most


def test_long_subscriber_ids_meet_the_insurers_records_on_the_same_keys(day: Day) -> None:
    from acktrack.synthetic.effectuation import EffectuationSpec, write_effectuation

    data, _ = day.send("a.834", members=4, seed=48, dependents=0.0)
    data = data.replace(b"REF*0F*", b"REF*0F*" + b"7" * 60)  # over REF02's 50 characters
    day.drop("outbound", "long-ids.834", data.replace(b"*000001001*", b"*000001002*").replace(
        b"000001001~", b"000001002~"))  # fmt: skip
    buffer = io.BytesIO()
    write_effectuation(data, buffer, EffectuationSpec(insurer_control=6101,
                                                      sent_at=datetime(2024, 1, 17, 12, 0)))  # fmt: skip
    day.drop("inbound", "HEALTHPLAN01/effectuation.834", buffer.getvalue())
    report = day.report(AS_OF)
    kinds = {finding["kind"] for finding in report["data_quality"]}
    assert "never_sent" not in kinds  # the insurer's records found our members
    assert report["summary"]["effectuated"] >= 4


@pytest.mark.slow
# The report reads the backlog only here (moto reads the whole table for each index query:
# the first-pass rate over 4,000 sets would take minutes on moto, not on DynamoDB).
@pytest.mark.parametrize("parameters", [{"FirstPassPeople": 0}])
def test_a_999_too_large_for_one_item_is_stored_in_chunks_and_applied(
    day: Day, parameters: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 999 for 4,000 sets (about 3,200 accepted sets pass the inline limit) in `make
    reliability`, at the real thresholds. `make test` sends 500 and scales acktrack's inline
    and chunk thresholds by the same factor (DynamoDB's own item limit is not scaled), so the
    same chunking and the same application run in an eighth of the time."""
    assert acks.MAX_INLINE_DETAIL < 400_000 and acks._CHUNK_BYTES < 400_000  # DynamoDB's item
    sets = budget("large_999_sets", 500)
    if sets < 4000:
        for limit in ("MAX_INLINE_DETAIL", "_CHUNK_BYTES"):
            monkeypatch.setattr(acks, limit, getattr(acks, limit) * sets // 4000)
    data, generated = day.send(
        "many.834", members=sets, sets_per_group=sets, seed=49, dependents=0.0
    )
    assert len(generated.sets) == sets
    day.answer("HEALTHPLAN01/many.999", data, with_ta1=False)
    report = day.report(AS_OF)
    assert report["quarantined"] == []  # it was: "answers 4,000 transaction sets, more than ..."
    assert report["summary"]["confirmed"] == sets and report["unmatched_acks"] == []
    (ack,) = wiring.repository().acks_for_group(generated.sender_id, generated.receiver_id,
                                                 generated.sets[0].group_control)  # fmt: skip
    chunks = day.stack.client("dynamodb").query(
        TableName=day.stack.table, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": keys.ack_chunk_pk(ack.pk, ack.sk)}},
    )["Items"]  # fmt: skip
    assert ack.detail["set_chunks"] == len(chunks) >= 1  # the sets beside it, not inside it
    assert all(len(item["sets"]["B"]) <= acks._CHUNK_BYTES for item in chunks)
