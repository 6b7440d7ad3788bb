"""Monthly reconciliation through the local stack (the template's functions on moto): an
insurer's audit 834 held against what we believe is in force, field by field; the same
population as a CSV or pipe extract gives the same result; a malformed extract changes
nothing; no name, birth date or SSN is written anywhere."""

from __future__ import annotations

import gzip
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from acktrack.aws import clients
from acktrack.handlers import wiring
from acktrack.local.stack import EmbeddedStack
from acktrack.report.insights import stats, timeline
from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from acktrack.synthetic.population import (
    HeldMember,
    PopulationSpec,
    held_members,
    write_audit_834,
    write_extract,
)
from tests.reliability.support import (
    AS_OF,
    FIGURES,
    OTHER,
    PLAN,
    SENT,
    US,
    File,
    budget,
    deliver,
    final_state,
    fresh_stack,
    without_jobs,
)
from tests.reliability.test_faults import Faults

pytestmark = pytest.mark.e2e
AUDIT_DAY = datetime(2024, 1, 19, 6, 0)  # BGN03: the population's date


@dataclass
class Day:
    stack: EmbeddedStack
    confirmed: bytes  # five additions, accepted by a 999
    overdue: bytes  # one addition, never answered
    held: list[HeldMember]


def _834(members: int, seed: int, control: int, first_id: int, sent_at: datetime) -> bytes:
    buffer = io.BytesIO()
    write_834(EnrollmentSpec(seed=seed, members=members, dependents=0.0, interchange_control=control,
                             first_group_control=control, subscriber_id_start=first_id,
                             sent_at=sent_at), buffer)  # fmt: skip
    return buffer.getvalue()


def _files() -> tuple[bytes, bytes, list[HeldMember]]:
    """Five confirmed additions and one overdue addition, then the insurer's population: it
    holds member 1 as sent, member 2 with another plan, 3 with another benefit begin, 4 with
    another last name, not member 5, member 6 (the overdue one) as sent, and one person we
    never sent."""
    confirmed = _834(5, seed=171, control=1701, first_id=170000001, sent_at=SENT)
    overdue = _834(1, seed=172, control=1702, first_id=170000101, sent_at=SENT + timedelta(hours=2))
    spec = PopulationSpec(as_of=AUDIT_DAY, change_plan={2}, shift_begin={3}, rename={4}, skip={5},
                          insurer_only=1)  # fmt: skip
    return confirmed, overdue, held_members([confirmed, overdue], spec)


@contextmanager
def _stack_with_the_day(
    confirmed: bytes, overdue: bytes, parameters: dict[str, Any] | None = None
) -> Iterator[EmbeddedStack]:
    reply = respond(confirmed, insurer_control=9701, sent_at=SENT + timedelta(hours=4),
                    with_ta1=False)  # fmt: skip
    with fresh_stack(parameters) as stack:
        for file in (File("outbound", "a.834", confirmed), File("outbound", "b.834", overdue),
                     File("inbound", f"{PLAN}/a.999", reply)):  # fmt: skip
            assert all(result.ok for result in deliver(stack, file))
        yield stack


@pytest.fixture
def day() -> Iterator[Day]:
    confirmed, overdue, held = _files()
    with _stack_with_the_day(confirmed, overdue) as stack:
        yield Day(stack, confirmed, overdue, held)


def _audit(held: list[HeldMember], insurer: str = PLAN) -> bytes:
    buffer = io.BytesIO()
    write_audit_834(held, buffer, PopulationSpec(as_of=AUDIT_DAY), insurer=insurer, us=US)
    return buffer.getvalue()


def _extract(held: list[HeldMember], delimiter: str) -> bytes:
    text = io.StringIO()
    write_extract(held, text, delimiter)
    return text.getvalue().encode()


def _report(stack: EmbeddedStack) -> dict[str, Any]:
    run = stack.run_schedule(AS_OF)
    assert run.ok, run.error
    archive = run.result["archive"]
    body = stack.client("s3").get_object(Bucket=archive["bucket"], Key=archive["json"])["Body"]
    return dict(json.loads(body.read()))


def _codes(report: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """(member id, field) -> (code, side) of every discrepancy row."""
    return {(row["member_id"], row["field"]): (row["code"], row["side"])
            for row in report["reconciliation"]["discrepancies"]}  # fmt: skip


def test_the_audit_834_codes_each_member_on_the_right_field_and_confirms_the_overdue(
    day: Day, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the most the functions can log
    (result,) = deliver(day.stack, File("inbound", f"{PLAN}/population.834", _audit(day.held)))
    assert result.ok, result.error
    report = _report(day.stack)
    ids = {m.number: m.member_id for m in day.held}
    sent = {n: m for n, m in enumerate(_sent_ids(day), start=1)}
    codes = _codes(report)
    assert codes == {
        (ids[2], "plan"): ("I", "both"),
        (ids[3], "benefit_begin"): ("I", "both"),
        (ids[4], "name"): ("I", "both"),
        (sent[5], "member"): ("U", "missing_at_insurer"),
        ("X0000000", "member"): ("U", "insurer_only"),
    }
    (summary,) = report["reconciliation"]["files"]
    assert (summary["partner"], summary["as_of"], summary["theirs"], summary["ours"]) == (
        PLAN, "2024-01-19", 6, 6,
    )  # fmt: skip
    assert (summary["matched"], summary["discrepancies"], summary["confirmed"]) == (2, 5, 1)
    # The overdue addition is confirmed by the insurer's population and leaves the list.
    assert report["summary"]["confirmed_by_reconciliation"] == 1
    assert sent[6] not in {row["member_id"] for row in report["unconfirmed"]}
    name_row = next(r for r in report["reconciliation"]["discrepancies"] if r["field"] == "name")
    assert name_row["ours"] is None and name_row["theirs"] is None  # never a personal value
    plan_row = next(r for r in report["reconciliation"]["discrepancies"] if r["field"] == "plan")
    assert plan_row["theirs"] == plan_row["ours"][:-2] + "99"  # plans are shown
    email = day.stack.sent_emails()[-1].decode("utf-8", "replace")
    assert "Monthly reconciliation (1 insurer population)" in email
    (insurer,) = stats(day.stack.repository(), datetime(2024, 1, 1, tzinfo=UTC))["insurers"]
    assert insurer["reconciliation"]["match_rate"] == round(2 / 7, 4)  # 6 theirs + 1 only ours
    events = timeline(day.stack.repository(), "170000101", as_of=AS_OF)
    (confirmed,) = [e for e in events if e["event"] == "confirmed by reconciliation"]
    assert "closed as confirmed_by_reconciliation" in confirmed["text"]
    assert _nothing_personal(day, caplog.text)


def _sent_ids(day: Day) -> list[str]:
    from acktrack.x12 import MemberTransaction, read_x12

    return [r.member_supplemental_id or "" for data in (day.confirmed, day.overdue)
            for r in read_x12(io.BytesIO(data)) if isinstance(r, MemberTransaction)]  # fmt: skip


def _nothing_personal(day: Day, logged: str = "") -> bool:
    """No last name, first name, birth date or SSN of anyone in any stored item, any object
    acktrack wrote (reports, reconciliation files), or what was logged."""
    values = {v for m in day.held for v in (m.last_name, m.first_name, m.birth_date, m.ssn)
              if len(v) >= 4}  # fmt: skip
    dynamodb, s3 = day.stack.client("dynamodb"), day.stack.client("s3")
    texts = [json.dumps(item, default=repr) for page in dynamodb.get_paginator("scan").paginate(
        TableName=day.stack.table) for item in page["Items"]]  # fmt: skip
    bucket = day.stack.bucket("Reports")
    for entry in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        if entry["Key"].endswith(".gz"):  # a split extract's piece
            body = gzip.decompress(body)
        texts.append(body.decode("utf-8", "replace"))
    texts.append(logged)
    found = sorted(v for v in values for text in texts if v in text)
    assert found == [], found
    return True


def _reconciled(confirmed: bytes, overdue: bytes, held: list[HeldMember],
                population: File) -> dict[str, Any]:  # fmt: skip
    """The reconciliation section after the day's files, then ``population``."""
    with _stack_with_the_day(confirmed, overdue) as stack:
        assert all(r.ok for r in deliver(stack, population))
        section = _report(stack)["reconciliation"]
        assert _nothing_personal(Day(stack, confirmed, overdue, held))
    files = [
        {k: v for k, v in f.items() if k not in ("source", "rcno_key")} for f in section["files"]
    ]
    return {"files": files, "rows": sorted(section["discrepancies"], key=json.dumps)}


def test_the_extract_gives_the_same_result_as_the_audit_834() -> None:
    confirmed, overdue, held = _files()
    audit = _reconciled(confirmed, overdue, held,
                        File("inbound", f"{PLAN}/population.834", _audit(held)))  # fmt: skip
    assert len(audit["files"]) == 1 and len(audit["rows"]) == 5
    for delimiter, name in ((",", "population-2024-01-19.csv"), ("|", "population_20240119.txt")):
        extract = File("inbound", f"{PLAN}/{name}", _extract(held, delimiter))
        assert _reconciled(confirmed, overdue, held, extract) == audit, delimiter


def test_a_malformed_extract_is_quarantined_with_line_numbers_and_changes_nothing(day: Day) -> None:
    good = _extract(day.held, ",").decode().splitlines()
    broken = [good[0], good[1], good[2].replace("2024", "2O24"), "only,three,fields", *good[4:]]
    (result,) = deliver(
        day.stack, File("inbound", f"{PLAN}/extract.csv", "\n".join(broken).encode())
    )
    assert result.ok
    entry = result.result["objects"][0]
    assert entry["outcome"] == "quarantined"
    assert "line 3: benefit_begin is not a date" in entry["reason"]
    assert "line 4: 3 fields where the header names 16" in entry["reason"]
    assert "2O24" not in entry["reason"]  # the value is never repeated
    report = _report(day.stack)
    assert report["reconciliation"]["files"] == []
    assert report["summary"]["confirmed_by_reconciliation"] == 0


def test_a_large_population_is_held_in_parts_with_the_same_result() -> None:
    """Over PartBytes the audit 834 is cut on subscribers and held part by part through the
    parts queue (here 2 KB parts: a scaled-down budget); the result is the one-go result."""
    confirmed = _834(40, seed=181, control=1801, first_id=180000001, sent_at=SENT)
    overdue = _834(3, seed=182, control=1802, first_id=180000101, sent_at=SENT + timedelta(hours=2))
    spec = PopulationSpec(as_of=AUDIT_DAY, change_plan={2, 17}, shift_begin={9}, rename={23},
                          skip={5, 31}, insurer_only=2)  # fmt: skip
    held = held_members([confirmed, overdue], spec)
    audit = _audit(held)
    results = {}
    for part_bytes in (0, 2048):
        with _stack_with_the_day(confirmed, overdue, {"PartBytes": part_bytes}) as stack:
            invocations = deliver(stack, File("inbound", f"{PLAN}/population.834", audit),
                                  deliveries=2)  # S3 delivers at least once: parts come twice  # fmt: skip
            assert all(i.ok for i in invocations)
            results[part_bytes] = (len(invocations), _report(stack))
            assert _nothing_personal(Day(stack, confirmed, overdue, held))
    (one_go, whole), (parts, cut) = results[0], results[2048]
    assert one_go == 2 and parts >= 8  # two deliveries; then one invocation per part, twice
    assert len(audit) > 3 * 2048

    def plain(report: dict[str, Any]) -> Any:
        section = report["reconciliation"]
        files = [{k: v for k, v in f.items() if k != "rcno_key"} for f in section["files"]]
        return files, sorted(section["discrepancies"], key=json.dumps), report["summary"]

    assert plain(cut) == plain(whole)
    (summary,) = whole["reconciliation"]["files"]
    assert (summary["missing_at_insurer"], summary["insurer_only"], summary["confirmed"]) == (
        2,
        2,
        3,
    )


def test_a_large_extract_is_split_by_subscriber_with_the_same_result() -> None:
    """Over PartMembers an extract is read once, split by subscriber into pieces of keyed
    hashes and ids (no personal value), and each piece is held as a part through the file
    workflow; delivered twice, the result is the one-go result (here 6 members a part: a
    scaled-down budget)."""
    confirmed = _834(40, seed=183, control=1803, first_id=180000201, sent_at=SENT)
    overdue = _834(3, seed=184, control=1804, first_id=180000301, sent_at=SENT + timedelta(hours=2))
    spec = PopulationSpec(as_of=AUDIT_DAY, change_plan={2, 17}, shift_begin={9}, rename={23},
                          skip={5, 31}, insurer_only=2)  # fmt: skip
    held = held_members([confirmed, overdue], spec)
    extract = File("inbound", f"{PLAN}/population-2024-01-19.csv", _extract(held, ","))
    results = {}
    for per_part in (0, 6):
        with _stack_with_the_day(confirmed, overdue, {"PartMembers": per_part}) as stack:
            invocations = deliver(stack, extract, deliveries=2)
            assert all(i.ok for i in invocations)
            results[per_part] = (invocations, _report(stack))
            pieces = stack.client("s3").list_objects_v2(
                Bucket=stack.bucket("Reports"), Prefix="work/parts/"
            )
            results[per_part] += (
                [e["Key"] for e in pieces.get("Contents", []) if e["Key"].endswith(".gz")],
            )
            assert _nothing_personal(Day(stack, confirmed, overdue, held))
    (one_go, whole, no_pieces), (split, cut, pieces_written) = results[0], results[6]
    assert len(one_go) == 2 and no_pieces == []
    parts = [i for i in split if i.function == "IngestPartFunction"]
    # One task a piece, then Finish: the second delivery finds its workflow started.
    assert len(pieces_written) >= 6 and len(parts) == len(pieces_written) + 1
    (summary,) = whole["reconciliation"]["files"]
    assert summary["source"] == "extract" and summary["theirs"] == len(held)
    assert _plain(cut) == _plain(whole)


def test_a_large_extract_with_one_bad_line_is_refused_whole_before_anything_is_split() -> None:
    """The split reads every line before it writes: a bad line near the end quarantines
    the file with its line number, and no piece, job or workflow is left behind."""
    confirmed, overdue, held = _files()
    lines = _extract(held, ",").decode().splitlines()
    lines[-2] = lines[-2].replace("2024", "2O24", 1)
    with _stack_with_the_day(confirmed, overdue, {"PartMembers": 2}) as stack:
        before = set(final_state(stack)["table"])
        (result,) = deliver(
            stack, File("inbound", f"{PLAN}/extract.csv", "\n".join(lines).encode())
        )
        entry = result.result["objects"][0]
        assert entry["outcome"] == "quarantined"
        assert f"line {len(lines) - 1}: " in entry["reason"] and "2O24" not in entry["reason"]
        listed = stack.client("s3").list_objects_v2(
            Bucket=stack.bucket("Reports"), Prefix="work/parts/"
        )
        assert [e["Key"] for e in listed.get("Contents", []) if "piece" in e["Key"]] == []
        assert _report(stack)["reconciliation"]["files"] == []
        added = set(final_state(stack)["table"]) - before
        assert [key.split("#")[0] for key in added] == ["OBJ"]  # the file's outcome, no job


def _plain(report: dict[str, Any]) -> Any:
    section = report["reconciliation"]
    files = [{k: v for k, v in f.items() if k != "rcno_key"} for f in section["files"]]
    return files, sorted(section["discrepancies"], key=json.dumps), report["summary"]


def test_populations_that_cannot_be_reconciled_are_quarantined_with_the_reason(day: Day) -> None:
    empty = _audit([])
    unknown = _extract(day.held, ",")
    files = {
        File("inbound", f"{PLAN}/empty.834", empty): "an audit 834 with no members",
        File("inbound", "NOBODYSENT01/extract.csv", unknown): "nothing was ever sent to the insurer",
        File("inbound", "NOBODYSENT01/population.834", _audit(day.held, insurer="NOBODYSENT01")):
            "nothing was ever sent between",
        File("inbound", "extract.csv", unknown): "accepted only under inbound/<insurer id>/",
        File("inbound", f"{PLAN}/misnamed.csv", b"SubscriberID,member_id\n1,2\n"):
            "the first line must name the columns; subscriber_id, relationship",
    }  # fmt: skip
    for file, reason in files.items():
        (result,) = deliver(day.stack, file)
        assert result.ok
        (entry,) = result.result["objects"]
        assert (entry["outcome"], reason in entry["reason"]) == ("quarantined", True), entry
    assert _report(day.stack)["reconciliation"]["files"] == []


def test_a_population_is_accepted_only_in_its_insurers_folder_whatever_the_setting(
    day: Day,
) -> None:
    """With RequireInsurerFolders false (the default), an audit 834 or an extract dropped
    directly under inbound/ was held against ours and confirmed the waiting enrollments it
    held: whoever could write there could confirm anyone. A population is accepted only
    under inbound/<insurer id>/, and an audit 834 there only with that insurer's ISA06."""
    assert day.stack.parameters.get("RequireInsurerFolders", "false") == "false"
    outside = "accepted only under inbound/<insurer id>/"
    files = {
        File("inbound", "population.834", _audit(day.held)): outside,
        File("inbound", "population-2024-01-19.csv", _extract(day.held, ",")): outside,
        File("inbound", f"{OTHER}/population.834", _audit(day.held)):
            f"this one was sent by '{PLAN}' (ISA06), another insurer",
    }  # fmt: skip
    for file, reason in files.items():
        (result,) = deliver(day.stack, file)
        assert result.ok
        (entry,) = result.result["objects"]
        assert (entry["outcome"], reason in entry["reason"]) == ("quarantined", True), entry
    report = _report(day.stack)
    assert report["reconciliation"]["files"] == []
    assert report["summary"]["confirmed_by_reconciliation"] == 0
    overdue = _sent_ids(day)[5]  # the waiting addition the population holds as sent
    assert overdue in {row["member_id"] for row in report["unconfirmed"]}


# -- faults during a reconciliation day --------------------------------------------------------

RECON_PART_BYTES = 2048  # the audit 834 below is cut in about ten parts
RECON_PART_MEMBERS = 12  # and its extract is split in four pieces


def _population_day() -> tuple[list[File], list[File]]:
    """What was sent and answered (40 additions accepted, 3 overdue), then the insurer's
    population twice: an audit 834 cut in parts, and the same people as a CSV extract (split
    in pieces, each held as a part)."""
    confirmed = _834(40, seed=191, control=1901, first_id=190000001, sent_at=SENT)
    overdue = _834(3, seed=192, control=1902, first_id=190000101, sent_at=SENT + timedelta(hours=2))
    spec = PopulationSpec(as_of=AUDIT_DAY, change_plan={2, 17}, shift_begin={9}, rename={23},
                          skip={5, 31}, insurer_only=2)  # fmt: skip
    held = held_members([confirmed, overdue], spec)
    reply = respond(confirmed, insurer_control=9901, sent_at=SENT + timedelta(hours=4),
                    with_ta1=False)  # fmt: skip
    before = [File("outbound", "a.834", confirmed), File("outbound", "b.834", overdue),
              File("inbound", f"{PLAN}/a.999", reply)]  # fmt: skip
    populations = [File("inbound", f"{PLAN}/population.834", _audit(held)),
                   File("inbound", f"{PLAN}/population-2024-01-19.csv", _extract(held, ","))]  # fmt: skip
    return before, populations


BEFORE, POPULATIONS = _population_day()


def _recon_state(stack: EmbeddedStack) -> dict[str, Any]:
    """The table, both reports, and every RCNO file written (by key: keys name the content's
    digest, never a version id)."""
    s3, bucket = stack.client("s3"), stack.bucket("Reports")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="reports/reconciliation/")
    files = {entry["Key"]: s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
             for entry in listed.get("Contents", [])}  # fmt: skip
    return {**without_jobs(final_state(stack)), "rcno": files}


@contextmanager
def _day_before() -> Iterator[EmbeddedStack]:
    # One part at a time: the Nth call of a run is the Nth of the clean run (moto's Map runs
    # its items on threads, in any order, when it may run several at once).
    parameters = {"PartBytes": RECON_PART_BYTES, "PartMembers": RECON_PART_MEMBERS,
                  "FileMapConcurrency": 1}  # fmt: skip
    with fresh_stack(parameters) as stack:
        for file in BEFORE:
            assert all(result.ok for result in deliver(stack, file))
        yield stack


@pytest.fixture(scope="module")
def clean_reconciliation() -> tuple[dict[str, Any], list[str]]:
    """The clean run's state, and the AWS calls the population files cost (by operation)."""
    with _day_before() as stack:
        counter = Faults()
        counter.install()
        calls: list[str] = []

        def named(model: Any, **_: Any) -> None:
            calls.append(model.name)

        sdk = (wiring.repository().client, clients.s3())  # one per container: kept by later runs
        for client in sdk:
            client.meta.events.register("before-call", named)
        invocations = [i for file in POPULATIONS for i in deliver(stack, file)]
        for client in sdk:
            client.meta.events.unregister("before-call", named)
        assert counter.calls == len(calls)
        assert all(i.ok for i in invocations)
        assert sum(1 for i in invocations if i.function == "IngestPartFunction") >= 5
        listed = stack.client("s3").list_objects_v2(
            Bucket=stack.bucket("Reports"), Prefix="work/parts/"
        )
        assert sum(1 for e in listed.get("Contents", []) if "piece" in e["Key"]) >= 3
        state = _recon_state(stack)
    files = state["report"]["reconciliation"]["files"]
    assert [f["source"] for f in files] == ["audit_834", "extract"], files
    assert len(state["rcno"]) >= 7  # the parts' files, the missing ones', the extract's
    return state, calls


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["crash", "lost", "throttling"])
def test_a_fault_anywhere_in_a_reconciliation_day_ends_as_the_clean_run(
    clean_reconciliation: tuple[dict[str, Any], list[str]], kind: str
) -> None:
    """One fault per run at every Nth AWS call of the population files (a part crashing
    between two writes, the answer to a write lost after it was applied, throttling past the
    SDK's retries), then Lambda's retries and SQS's redeliveries, then every event delivered
    again: the table, the reports and the RCNO files are the clean run's."""
    expected, calls = clean_reconciliation
    # Every 41st of its 268 calls in `make test` (about 7 a kind, the last part's finish among
    # them); `make reliability` every 5th. And always the first and the last discrepancy
    # chunks written (a part's, the extract's).
    step = budget("recon_fault_step", 41)
    chunks = [n for n, name in enumerate(calls, start=1) if name == "BatchWriteItem"]
    start = 2 + ("crash", "lost", "throttling").index(kind) * 3
    fired: list[str] = []
    for at in sorted({*range(start, len(calls) + 1, step), chunks[0], chunks[-1]}):
        with _day_before() as stack:
            faults = Faults(kind, at)
            faults.install()
            for file in POPULATIONS:
                deliver(stack, file)
            assert faults.fired, f"{kind} at call {at} of {len(calls)} did not fire"
            for file in POPULATIONS:  # S3 delivers every event again
                stack.redeliver(stack.bucket("Inbound"), file.key)
            assert _recon_state(stack) == expected, f"{kind} at call {at} ({faults.fired})"
            fired.append(faults.fired)
    FIGURES[f"recon_faults_{kind}"] += len(fired)
    assert fired.count("BatchWriteItem") >= 2 and len(fired) >= min(4, len(calls) // step)
