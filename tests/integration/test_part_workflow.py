"""Starting a large file's workflow, on moto: the orders are written once and the
execution, named after the job, starts once, however often the file's event comes."""

from __future__ import annotations

import json

from acktrack.aws.parts import StepFunctionsPartWorkflow
from tests.integration.conftest import Day


def test_a_second_start_of_a_job_changes_neither_its_orders_nor_its_execution(day: Day) -> None:
    stack = day.stack
    bucket, machine = stack.bucket("Reports"), stack.state_machines["FileWorkflow"]
    workflow = StepFunctionsPartWorkflow(machine, bucket, 1)
    first = ['{"job":"j1","index":0,"parts":1,"start":0,"end":null,"resume":null}']
    again = [first[0], first[0].replace('"index":0', '"index":1')]  # cut otherwise since
    workflow.start("j1", "outbound", first)
    workflow.start("j1", "outbound", again)  # a redelivery, with the settings changed
    stack.pump()  # the execution fails (no such job): the start is what is under test
    written = stack.client("s3").get_object(Bucket=bucket, Key="work/parts/j1.json")
    assert json.loads(written["Body"].read()) == [json.loads(first[0])]
    executions = stack.client("stepfunctions").list_executions(stateMachineArn=machine)
    assert [e["name"] for e in executions["executions"]] == ["j1"]


def test_a_second_begin_of_a_job_keeps_its_first_plan_and_a_piece_is_written_once(
    day: Day,
) -> None:
    """A redelivery begins the job again, perhaps with other settings: the running
    workflow's orders were cut from the first plan, so the first plan stands; a split
    extract's piece is written once too."""
    from datetime import UTC, datetime

    from acktrack.aws.parts import S3PartPieces
    from acktrack.domain.tracked import ObjectRef
    from acktrack.handlers import wiring

    store = wiring.repository()
    ref = ObjectRef("b", "inbound/HEALTHPLAN01/x.999", 10, "v1", datetime(2024, 1, 1, tzinfo=UTC))
    store.begin_job("j2", 3, ref, b"first plan")
    store.begin_job("j2", 5, ref, b"second plan")
    record = store.job_record("j2")
    assert record is not None and record.plan == b"first plan" and record.source == ref
    pieces = S3PartPieces(day.stack.bucket("Reports"))
    pieces.put_piece("j2", 0, b"first")
    pieces.put_piece("j2", 0, b"first")  # a redelivery writes the same bytes: no error
    assert pieces.read_piece("j2", 0) == b"first"
