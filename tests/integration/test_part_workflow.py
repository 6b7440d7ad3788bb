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
