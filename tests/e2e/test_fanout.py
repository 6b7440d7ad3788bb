"""Files too large for one invocation, on the local stack with a scaled-down budget.

With PartBytes at a few kilobytes, every outbound file of a realistic day is cut in
parts that the template's file workflow (Step Functions, run by moto's interpreter) runs
in its Distributed Map, then finishes. The final state (every table item and the
reports) must be the state of the same day ingested in one invocation per file: whatever
order the files arrive in, however often S3 delivers them, and whichever AWS call fails
on the way.
"""

from __future__ import annotations

import io
import json
import random
import re
from datetime import timedelta
from typing import Any

import pytest

from acktrack.local.stack import EmbeddedStack
from acktrack.synthetic.acknowledgments import respond
from acktrack.synthetic.enrollment import EnrollmentSpec, write_834
from tests.reliability.support import (
    FIGURES,
    SENT,
    File,
    budget,
    build_day,
    deliver,
    final_state,
    fresh_stack,
)
from tests.reliability.test_faults import Faults

PART_BYTES = 2048  # a few members per part: every file here is cut in 3 to 20 parts


def _day() -> list[File]:
    big = io.BytesIO()
    write_834(EnrollmentSpec(members=60, sets_per_group=3, seed=81, sent_at=SENT,
                             interchange_control=3001, first_group_control=31,
                             subscriber_id_start=400000001, errors=["bad_ins03:17"]), big)  # fmt: skip
    return [*build_day(), File("outbound", "big.834", big.getvalue())]


DAY = _day()


def _without_jobs(state: dict[str, Any]) -> dict[str, Any]:
    table = {key: value for key, value in state["table"].items() if not key.startswith("JOB#")}
    return {**state, "table": table}


def _run(parameters: dict[str, Any], order: random.Random | None = None, deliveries: int = 1,
         files: list[File] = DAY) -> tuple[dict[str, Any], EmbeddedStack, list[Any]]:  # fmt: skip
    with fresh_stack(parameters) as stack:
        stack.delivery_order = order
        invocations: list[Any] = []
        for file in files:
            invocations += deliver(stack, file, deliveries)
        assert not stack.failed_executions()  # every cut file's workflow succeeded
        return final_state(stack), stack, invocations


@pytest.fixture(scope="module")
def in_one_go() -> dict[str, Any]:
    state, _, _ = _run({"PartBytes": 0})
    return state


def _parts(invocations: list[Any]) -> list[Any]:
    """The workflow's part tasks (not its finishes)."""
    return [i for i in invocations if i.function == "IngestPartFunction"
            and (not i.ok or "part" in i.result)]  # fmt: skip


def _finishes(invocations: list[Any]) -> list[Any]:
    return [i for i in invocations if i.function == "IngestPartFunction" and i.ok
            and "part" not in i.result]  # fmt: skip


def test_large_files_are_cut_in_parts_and_end_as_if_read_in_one_go(
    in_one_go: dict[str, Any],
) -> None:
    state, _, invocations = _run({"PartBytes": PART_BYTES})
    cut = [
        entry
        for i in invocations
        if i.function in ("IngestOutboundFunction", "IngestInboundFunction") and i.ok
        for entry in i.result["objects"]
        if entry["outcome"] == "fanned_out"
    ]
    # The 834s larger than a part (a copy of one is a duplicate), the insurer's effectuation
    # 834 among them.
    assert len(cut) >= 3
    assert any(i.function == "IngestInboundFunction" and entry["outcome"] == "fanned_out"
               for i in invocations if i.ok for entry in i.result.get("objects", []))  # fmt: skip
    parts = _parts(invocations)
    assert all(p.ok for p in parts)
    assert len(parts) == sum(entry["parts"] for entry in cut) >= 10
    # The workflow's join: one Finish per cut file, after its parts.
    assert sorted(f.result["job"] for f in _finishes(invocations)) == sorted(
        entry["job"] for entry in cut
    )
    jobs = {k: v for k, v in state["table"].items() if k.startswith("JOB#") and k.endswith("|JOB")}
    assert len(jobs) == len(cut)
    assert all(v["finished"] == {"BOOL": True} for v in jobs.values())
    assert _without_jobs(state) == in_one_go
    assert in_one_go["report"]["summary"]["members_sent"] > 60


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_files_in_any_order_and_delivered_twice_end_the_same(
    in_one_go: dict[str, Any], seed: int
) -> None:
    files = random.Random(seed).sample(DAY, len(DAY))
    state, _, invocations = _run({"PartBytes": PART_BYTES}, deliveries=2, files=files)
    assert len(_parts(invocations)) >= 10
    # The second delivery of a cut file starts no second workflow: one finish per file.
    finished = [f.result["job"] for f in _finishes(invocations)]
    assert len(finished) == len(set(finished)) >= 3
    assert _without_jobs(state) == in_one_go


def test_acknowledgments_and_effectuations_before_the_cut_file_end_the_same() -> None:
    """The 999, the TA1 and the insurer's effectuation arrive first: the part counted last
    applies the stored acknowledgments, the parts retract and find as one invocation does."""
    first = [f for f in DAY if f.folder == "inbound"] + [f for f in DAY if f.folder == "outbound"]
    whole, _, _ = _run({"PartBytes": 0}, files=first)
    cut, _, invocations = _run({"PartBytes": PART_BYTES}, files=first)
    assert len(_parts(invocations)) >= 10
    assert _without_jobs(cut) == whole


def test_a_part_that_fails_is_retried_and_a_bad_order_fails_its_execution(
    in_one_go: dict[str, Any],
) -> None:
    with fresh_stack({"PartBytes": PART_BYTES}) as stack:
        faults = Faults("crash", 40)  # a call in the middle of the parts
        faults.install()
        for file in DAY:
            deliver(stack, file)
        assert faults.fired
        assert [p for p in _parts(stack.invocations) if not p.ok]  # failed, then retried
        assert not stack.failed_executions()
        assert _without_jobs(final_state(stack)) == in_one_go
        # An order whose job is not in the table: the Map retries it, then the execution
        # fails (the alarm's metric); its input stays in the execution's history.
        bucket = stack.bucket("Reports")
        order = '[{"job":"x","index":0,"parts":1,"start":0,"end":null,"resume":null}]'
        stack.client("s3").put_object(Bucket=bucket, Key="work/parts/x.json", Body=order)
        stack.client("stepfunctions").start_execution(
            stateMachineArn=stack.state_machines["FileWorkflow"], name="x",
            input=json.dumps({"job": "x", "kind": "outbound", "parts": 1, "concurrency": 1,
                              "orders": {"bucket": bucket, "key": "work/parts/x.json"}}),
        )  # fmt: skip
        before = len(stack.invocations)
        stack.pump()
        attempts = [i for i in stack.invocations[before:] if i.function == "IngestPartFunction"]
        # The part: 1 + 5 retries. moto's Map then goes on to Finish (AWS's Map fails), which
        # refuses as often: the execution fails on either engine.
        assert len(attempts) == 12 and not any(a.ok for a in attempts)
        (failed,) = stack.failed_executions()
        assert failed["execution"] == "x" and failed["status"] == "FAILED"
        assert "is not in the table" in (failed["cause"] or "")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["throttling", "timeout", "crash"])
def test_one_failed_call_anywhere_in_a_cut_file_ends_in_the_same_state(
    in_one_go: dict[str, Any], kind: str
) -> None:
    fired = 0
    # Every 74th call in `make test` (6 faults a kind); `make reliability` tries every 13th.
    step = budget("fanout_fault_step", 74)
    for at in range(7 + ("throttling", "timeout", "crash").index(kind) * 5, 400, step):
        with fresh_stack({"PartBytes": PART_BYTES}) as stack:
            faults = Faults(kind, at)
            faults.install()
            for file in DAY:
                deliver(stack, file)
            if not faults.fired:
                break
            for file in DAY:  # then S3 delivers every event again
                stack.redeliver(
                    stack.bucket("Outbound" if file.folder == "outbound" else "Inbound"), file.key
                )
            state = final_state(stack)
            assert _without_jobs(state) == in_one_go, f"{kind} at call {at} ({faults.fired})"
            fired += 1
    FIGURES[f"fanout_faults_{kind}"] += fired
    assert fired >= min(5, 390 // step)  # the faults reached the parts, not only the first files


def _group_day() -> list[File]:
    """A group of 12 sets of two families each, some with an INS03 the insurer rejects (IK3
    errors, attributed to members), and the insurer's 999 (with its TA1) for it."""
    sent = io.BytesIO()
    write_834(EnrollmentSpec(members=48, sets_per_group=12, seed=91, sent_at=SENT,
                             interchange_control=3101, first_group_control=41,
                             subscriber_id_start=410000001, errors=["bad_ins03:5"]), sent)  # fmt: skip
    answer = respond(sent.getvalue(), insurer_control=3901, sent_at=SENT + timedelta(hours=6))
    return [File("outbound", "group.834", sent.getvalue()), File("inbound", "group.999", answer)]


GROUP_DAY = _group_day()
SLICES = {"PartBytes": 0, "PartMembers": 4}  # a 999 of more than 4 set responses: in slices


@pytest.fixture(scope="module")
def group_in_one_go() -> dict[str, Any]:
    state, _, _ = _run({"PartBytes": 0, "PartMembers": 0}, files=GROUP_DAY)
    return _without_jobs(state)


@pytest.mark.parametrize("first", ["834", "999"])
def test_a_999_with_more_set_responses_than_a_part_is_applied_in_slices_as_in_one_go(
    group_in_one_go: dict[str, Any], first: str
) -> None:
    """With PartMembers at 4, a 999 answering 12 sets is applied in 3 slices of 4 set
    responses by the file workflow (the file's TA1 in the invocation that cuts it), each
    file delivered twice: the day ends as in one go. A 999 that comes before its 834 is
    stored, and applied when the 834 comes."""
    files = GROUP_DAY if first == "834" else GROUP_DAY[::-1]
    state, _, invocations = _run(SLICES, deliveries=2, files=files)
    sliced = [i for i in _finishes(invocations) if i.result["outcome"] == "acknowledgments"]
    assert [i.result["parts"] for i in sliced] == [3]
    assert _without_jobs(state) == group_in_one_go


def test_a_999_without_ak2_loops_for_a_large_group_is_applied_in_slices_as_in_one_go() -> None:
    """Its AK9 speaks for each of the group's 12 sets: over PartMembers (4) sets, it is
    applied in 3 slices of 4, and the day ends as in one go."""
    from acktrack.synthetic.acknowledgments import GroupResponse, write_999

    answer = io.BytesIO()
    write_999(answer, sender_id="HEALTHPLAN01", receiver_id="ACKTRACKEXCH",
              interchange_control=3902, sent_at=SENT + timedelta(hours=6),
              groups=[GroupResponse("41", None, status="R", codes=["5"])])  # fmt: skip
    files = [GROUP_DAY[0], File("inbound", "group_ak9.999", answer.getvalue())]
    whole, _, _ = _run({"PartBytes": 0, "PartMembers": 0}, files=files)
    state, _, invocations = _run(SLICES, files=files)
    sliced = [i for i in _finishes(invocations) if i.result["outcome"] == "acknowledgments"]
    assert [i.result["parts"] for i in sliced] == [3]
    assert _without_jobs(state) == _without_jobs(whole)
    assert state["report"]["summary"]["rejected"] == 48  # every member of the 12 sets


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["throttling", "crash"])
def test_one_failed_call_anywhere_in_a_sliced_999_ends_as_in_one_go(
    group_in_one_go: dict[str, Any], kind: str
) -> None:
    """One fault at every Nth AWS call of the 999's delivery (its cutting, its slices, its
    Finish), then S3 delivers it again: the day ends as in one go."""
    fired = 0
    step = budget("slice_fault_step", 7)
    for at in range(1 + ("throttling", "crash").index(kind) * 3, 1000, step):
        with fresh_stack(SLICES) as stack:
            deliver(stack, GROUP_DAY[0])
            faults = Faults(kind, at)
            faults.install()
            deliver(stack, GROUP_DAY[1])
            if not faults.fired:
                break
            stack.redeliver(stack.bucket("Inbound"), GROUP_DAY[1].key)
            state = final_state(stack)
            assert _without_jobs(state) == group_in_one_go, f"{kind} at {at} ({faults.fired})"
            fired += 1
    FIGURES[f"slice_faults_{kind}"] += fired
    assert fired >= 5  # the faults reached the slices and the Finish, not only the cutting


SPREAD = 4  # SetsPerPartition: the 12 sets of GROUP_DAY's group spread over 3 partitions


def _as_one_partition(state: dict[str, Any]) -> dict[str, Any]:
    """The state with every key of a spread group read back to its group's own partition
    (and the marks of the spread dropped): what the same day leaves with one partition."""
    table = {key: {name: value for name, value in item.items()
                   if name not in ("buckets", "spread", "group_buckets")}
             for key, item in state["table"].items()}  # fmt: skip
    text = json.dumps({**state, "table": table}, sort_keys=True)
    text = re.sub(r"(GS#[^\"|#]+#[^\"|#]+#[^\"|#]+)#B\d\d", r"\1", text)
    text = re.sub(r"(SETS#[^\"#]+#[^\"#]+)#\d\d\"", r'\1"', text)
    return dict(json.loads(text))


@pytest.mark.parametrize("first", ["834", "999"])
@pytest.mark.parametrize("cut", [0, 4], ids=["one_go", "in_parts"])
def test_a_large_group_spreads_its_sets_over_partitions_and_ends_as_with_one(
    group_in_one_go: dict[str, Any], first: str, cut: int
) -> None:
    """With SetsPerPartition at 4, the group of 12 sets keeps them in 3 partitions, chosen
    by ST02, and its insurer's sets by time in shards of the lookup index; its 999 (before
    or after the 834, the 834 in parts or not, the 999 in slices or not) finds every set,
    and the day ends as with one partition."""
    files = GROUP_DAY if first == "834" else GROUP_DAY[::-1]
    state, _, _ = _run({"PartBytes": 0, "PartMembers": cut, "SetsPerPartition": SPREAD},
                       deliveries=2, files=files)  # fmt: skip
    sets = [key.split("|")[0] for key in state["table"] if "|SET#" in key]
    assert len(sets) == 12
    assert all(re.search(r"#B0[0-2]$", pk) for pk in sets) and len(set(sets)) >= 2
    lookups = {item["uk"]["S"] for key, item in state["table"].items()
               if "|SET#" in key}  # fmt: skip
    assert all(re.search(r"#\d\d$", uk) for uk in lookups)
    versions = [item for key, item in state["table"].items() if "|V#" in key
                and key.startswith("GS#")]  # fmt: skip
    assert [item["buckets"] for item in versions] == [{"N": "3"}]
    assert _as_one_partition(_without_jobs(state)) == _as_one_partition(group_in_one_go)
    assert state["report"]["summary"]["rejected"] > 0  # the 999's IK3 errors found their sets
