"""template.yaml: cfn-lint clean, transformable by SAM, and the properties the issues ask for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from acktrack.local.template import load_yaml, parameter_values, sam_transform

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    source = load_yaml(TEMPLATE)
    template, _ = sam_transform(source, parameter_values(source, {}, "acktrack-test", "us-east-1"))
    return template["Resources"]


# The stack's own key, unless KmsKeyArn names one: every store of data uses it.
KEY = {"Fn::If": ["CreateKey", {"Fn::GetAtt": ["DataKey", "Arn"]}, {"Ref": "KmsKeyArn"}]}


def role_statements(resources: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources[role]["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if isinstance(statement, dict)
    ]


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def test_cfn_lint_finds_no_errors() -> None:
    from cfnlint.api import lint_all

    matches = lint_all(TEMPLATE.read_text())
    # Errors and warnings fail; informational rules (optional metadata) do not.
    assert [str(match) for match in matches if match.rule.severity in ("error", "warning")] == []
    assert not [
        match for match in matches if match.rule.id == "I3011"
    ]  # stateful resources are retained


def test_buckets_block_public_access_encrypt_version_and_refuse_plain_http(
    transformed: dict[str, Any],
) -> None:
    buckets = of_type(transformed, "AWS::S3::Bucket")
    assert set(buckets) == {"OutboundBucket", "InboundBucket", "ReportsBucket", "AccessLogsBucket"}
    for name, bucket in buckets.items():
        properties = bucket["Properties"]
        assert all(properties["PublicAccessBlockConfiguration"].values())
        assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        if name != "AccessLogsBucket":  # every access to enrollment files is logged
            assert properties["LoggingConfiguration"]["DestinationBucketName"] == {
                "Ref": "AccessLogsBucket"
            }
    policies = of_type(transformed, "AWS::S3::BucketPolicy")
    assert len(policies) == 4
    for policy in policies.values():
        statement = policy["Properties"]["PolicyDocument"]["Statement"][0]
        assert statement["Effect"] == "Deny" and statement["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}
        }


def test_every_scan_suppression_is_justified() -> None:
    source = load_yaml(TEMPLATE)
    skips = [
        (name, skip)
        for name, resource in source["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert skip["id"].startswith("CKV_") and len(skip.get("comment", "")) > 40, name


def test_the_table_is_on_demand_with_pitr_encryption_and_its_two_indexes(
    transformed: dict[str, Any],
) -> None:
    (table,) = of_type(transformed, "AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": KEY,
    }
    assert {index["IndexName"] for index in properties["GlobalSecondaryIndexes"]} == {
        "report",
        "lookup",
    }


WARM = {"TableWarmWriteUnits": 40000, "TableWarmReadUnits": 0,
        "IndexWarmWriteUnits": 20000, "IndexWarmReadUnits": 30000}  # fmt: skip


def test_warm_throughput_is_set_only_when_asked_and_the_local_table_ignores_it() -> None:
    """Parameters of 0 (the default) set no WarmThroughput; others set it on the table and
    on both indexes; the embedded stack's table is created without it."""
    from unittest.mock import MagicMock

    from acktrack.local.resources import create_table
    from acktrack.local.template import Resolver

    source = load_yaml(TEMPLATE)
    table = source["Resources"]["TrackingTable"]["Properties"]
    for parameters, expected in (({}, None), (WARM, True)):
        values = parameter_values(source, parameters, "acktrack-test", "us-east-1")
        resolved = Resolver(values, source["Conditions"]).value(table)
        indexes = resolved["GlobalSecondaryIndexes"]
        if expected is None:
            assert "WarmThroughput" not in resolved
            assert all("WarmThroughput" not in index for index in indexes)
        else:
            units = lambda warm: {name: int(value) for name, value in warm.items()}  # noqa: E731
            # A unit left at 0 is the on-demand start (12,000 reads): no more than a new table has.
            assert units(resolved["WarmThroughput"]) == {"ReadUnitsPerSecond": 12000,
                                                         "WriteUnitsPerSecond": 40000}  # fmt: skip
            assert [units(index["WarmThroughput"]) for index in indexes] == [
                {"ReadUnitsPerSecond": 30000, "WriteUnitsPerSecond": 20000}
            ] * 2
        dynamodb = MagicMock()
        create_table(dynamodb, "t", resolved)
        (call,) = dynamodb.create_table.call_args_list
        assert "WarmThroughput" not in call.kwargs
        assert all("WarmThroughput" not in index for index in call.kwargs["GlobalSecondaryIndexes"])
    # cfn-lint (test_cfn_lint_finds_no_errors) reads the conditions; SAM keeps them as written.
    assert set(source["Parameters"]) >= set(WARM)


def test_functions_are_wired_to_their_buckets_and_schedule(transformed: dict[str, Any]) -> None:
    notifications = {
        name: bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
        for name, bucket in of_type(transformed, "AWS::S3::Bucket").items()
        if "NotificationConfiguration" in bucket["Properties"]
    }
    assert {
        name: [c["Function"]["Fn::GetAtt"][0] for c in configs]
        for name, configs in notifications.items()
    } == {
        "OutboundBucket": ["IngestOutboundFunction"] * 2,  # outbound/ 834s, expected/ actions
        "InboundBucket": ["IngestInboundFunction"],
    }
    prefixes = [c["Filter"]["S3Key"]["Rules"][0]["Value"]
                for c in notifications["OutboundBucket"]]  # fmt: skip
    assert sorted(prefixes) == ["expected/", "outbound/"]
    schedules = of_type(transformed, "AWS::Scheduler::Schedule")
    assert set(schedules) == {"ReportWorkflowDaily", "PublishEventsFunctionEveryMinute"}
    schedule = schedules["ReportWorkflowDaily"]
    assert (
        schedule["Properties"]["Target"]["Input"] == '{"as_of": "<aws.scheduler.scheduled-time>"}'
    )
    publisher = schedules["PublishEventsFunctionEveryMinute"]["Properties"]
    assert publisher["ScheduleExpression"] == {"Ref": "EventsSchedule"}
    assert publisher["Target"]["Arn"] == {"Fn::GetAtt": ["PublishEventsFunction", "Arn"]}
    for function in of_type(transformed, "AWS::Lambda::Function").values():
        assert function["Properties"]["Runtime"] == "python3.11"
        assert function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"].endswith("LogGroup")
    for config in of_type(transformed, "AWS::Lambda::EventInvokeConfig").values():
        assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailureQueue", "Arn"]
        }


def test_large_files_run_in_the_file_workflow_whose_join_is_its_own(
    transformed: dict[str, Any],
) -> None:
    """No queue and no count of parts: a Distributed Map over the part orders, then Finish,
    both retried; a failed execution raises the file alarm."""
    import json

    assert not of_type(transformed, "AWS::Lambda::EventSourceMapping")
    assert set(of_type(transformed, "AWS::SQS::Queue")) == {"FailureQueue"}
    machine = of_type(transformed, "AWS::StepFunctions::StateMachine")["FileWorkflow"]
    properties = machine["Properties"]
    joined = properties["DefinitionString"]["Fn::Join"]  # SAM writes the definition out
    definition = json.loads(joined[0].join(joined[1]))
    assert definition["StartAt"] == "Parts"
    parts, finish = definition["States"]["Parts"], definition["States"]["Finish"]
    assert parts["Type"] == "Map" and parts["Next"] == "Finish" and finish["End"]
    assert parts["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert parts["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert parts["ResultPath"] is None and "ToleratedFailurePercentage" not in parts
    part = parts["ItemProcessor"]["States"]["Part"]
    for task in (part, finish):
        by_error = {tuple(retry["ErrorEquals"]): retry for retry in task["Retry"]}
        assert by_error[("States.ALL",)]["MaxAttempts"] >= 3
        # Refused for concurrency (several files at once): waits longer, many more times.
        assert by_error[("Lambda.TooManyRequestsException",)]["MaxAttempts"] >= 10
        assert list(by_error)[-1] == ("States.ALL",)  # the catch-all last
        assert task["Parameters"]["FunctionName"] == "${PartFunction}"
    assert properties["DefinitionSubstitutions"] == {
        "PartFunction": {"Fn::GetAtt": ["IngestPartFunction", "Arn"]}
    }
    assert json.dumps(finish["Parameters"]["Payload"]) == (
        '{"finish.$": "$.job", "kind.$": "$.kind", "parts.$": "$.parts"}'
    )
    functions = of_type(transformed, "AWS::Lambda::Function")
    for name in ("IngestOutboundFunction", "IngestInboundFunction"):
        variables = functions[name]["Properties"]["Environment"]["Variables"]
        assert variables["FILE_WORKFLOW_ARN"] == {"Ref": "FileWorkflow"}, name
        assert variables["PART_MEMBERS"] == {"Ref": "PartMembers"}, name
        assert "PARTS_QUEUE_URL" not in variables
    alarms = of_type(transformed, "AWS::CloudWatch::Alarm")
    watched = alarms["FileWorkflowFailedAlarm"]["Properties"]["Metrics"]
    stats = {m["MetricStat"]["Metric"]["MetricName"] for m in watched if "MetricStat" in m}
    assert stats == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    assert all(
        m["MetricStat"]["Metric"]["Dimensions"]
        == [{"Name": "StateMachineArn", "Value": {"Ref": "FileWorkflow"}}]
        for m in watched
        if "MetricStat" in m
    )


def test_member_level_items_expire_by_ttl(transformed: dict[str, Any]) -> None:
    table = of_type(transformed, "AWS::DynamoDB::Table")["TrackingTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}


def test_log_groups_have_retention(transformed: dict[str, Any]) -> None:
    groups = of_type(transformed, "AWS::Logs::LogGroup")
    functions = of_type(transformed, "AWS::Lambda::Function")
    machines = of_type(transformed, "AWS::StepFunctions::StateMachine")
    assert len(groups) == len(functions) + len(machines) == 10
    assert all(
        group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        for group in groups.values()
    )


def test_policies_are_least_privilege(transformed: dict[str, Any]) -> None:
    for name, role in of_type(transformed, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if not isinstance(statement, dict) or "Action" not in statement:
                    continue
                actions = (
                    statement["Action"]
                    if isinstance(statement["Action"], list)
                    else [statement["Action"]]
                )
                resources = statement.get("Resource")
                assert not ("*" in actions and resources == "*"), name
                assert "dynamodb:Scan" not in actions, name
                if "dynamodb:DeleteItem" in actions:  # findings in families, watches beside sets
                    condition = statement["Condition"]["ForAllValues:StringLike"]
                    assert condition == {"dynamodb:LeadingKeys": ["FAM#*", "GS#*"]}, name


def test_alarms_watch_the_rejection_rate_and_the_overdue_backlog(
    transformed: dict[str, Any],
) -> None:
    alarms = of_type(transformed, "AWS::CloudWatch::Alarm")
    watched = {
        alarm["Properties"].get("MetricName"): alarm["Properties"] for alarm in alarms.values()
    }
    assert {"RejectionRate", "MembersPendingOverdue", "ApproximateNumberOfMessagesVisible"} <= set(
        watched
    )
    for name in ("RejectionRate", "MembersPendingOverdue"):
        alarm = watched[name]
        assert alarm["Namespace"] == "acktrack" and alarm["TreatMissingData"] == "breaching"
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "acktrack"}]
    assert all(alarm["Properties"]["AlarmActions"] for alarm in alarms.values())


def test_the_dashboard_is_valid_json_and_names_only_metrics_the_code_emits(
    transformed: dict[str, Any],
) -> None:
    import json
    import re

    (dashboard,) = of_type(transformed, "AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    text = body.replace("${AWS::Region}", "us-east-1").replace("${RejectionRateAlarmPercent}", "5")
    widgets = json.loads(text)["widgets"]
    assert len(widgets) == 5
    named = set(re.findall(r'MetricName=\\"(\w+)\\"', text)) | set(
        re.findall(r'"acktrack", "(\w+)"', text)
    )
    source = "".join(
        path.read_text() for path in (TEMPLATE.parent / "shared" / "acktrack").rglob("*.py")
    )
    emitted = set(re.findall(r'"(\w+)"', source))
    assert named and named <= emitted, named - emitted
    assert {
        "RejectionRate",
        "MembersPendingOverdue",
        "MembersEffectuated",
        "TimeToAcknowledgment",
    } <= named


def test_one_customer_key_encrypts_every_store_and_lets_its_services_in(
    transformed: dict[str, Any],
) -> None:
    key = transformed["DataKey"]
    assert key["Condition"] == "CreateKey" and key["Properties"]["EnableKeyRotation"] is True
    services = {
        str(statement["Principal"].get("Service"))
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
    }
    assert "cloudwatch.amazonaws.com" in services
    assert "ses.amazonaws.com" not in services  # SES uses no key here: its grant was a leftover
    assert any("logs." in service for service in services)
    for name, bucket in of_type(transformed, "AWS::S3::Bucket").items():
        if name == "AccessLogsBucket":  # S3 server access logs take SSE-S3 only
            continue
        (rule,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["BucketKeyEnabled"] is True
        assert rule["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": KEY,
        }
    for queue in of_type(transformed, "AWS::SQS::Queue").values():
        assert queue["Properties"]["KmsMasterKeyId"] == KEY
    for group in of_type(transformed, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["KmsKeyId"] == KEY
    (topic,) = of_type(transformed, "AWS::SNS::Topic").values()
    assert (
        topic["Properties"]["KmsMasterKeyId"] == KEY
    )  # never alias/aws/sns: alarms could not publish
    for function in of_type(transformed, "AWS::Lambda::Function").values():
        assert function["Properties"]["KmsKeyArn"] == KEY


def test_raw_files_are_locked_for_raw_retention_days(transformed: dict[str, Any]) -> None:
    for name in ("OutboundBucket", "InboundBucket"):
        properties = transformed[name]["Properties"]
        assert properties["ObjectLockEnabled"] is True
        assert properties["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
            "Mode": "GOVERNANCE", "Days": {"Ref": "RawRetentionDays"},
        }  # fmt: skip
        for rule in properties["LifecycleConfiguration"]["Rules"]:
            assert "ExpirationInDays" not in rule  # the current version is never expired
            assert rule["NoncurrentVersionExpiration"] == {
                "NoncurrentDays": {"Ref": "RawRetentionDays"}
            }
    reports = transformed["ReportsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [(rule.get("Prefix"), rule["ExpirationInDays"]) for rule in reports] == [
        (None, {"Ref": "ReportRetentionDays"}), ("work/", 7),  # the workflow's work area
    ]  # fmt: skip


def test_queues_and_the_alarm_topic_refuse_plain_transport(transformed: dict[str, Any]) -> None:
    (queues,) = of_type(transformed, "AWS::SQS::QueuePolicy").values()
    assert queues["Properties"]["Queues"] == [{"Ref": "FailureQueue"}]
    (topic,) = of_type(transformed, "AWS::SNS::TopicPolicy").values()
    for policy in (queues, topic):
        deny = policy["Properties"]["PolicyDocument"]["Statement"][0]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}
        }
    allow = topic["Properties"]["PolicyDocument"]["Statement"][1]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}


def test_no_role_reads_every_queue_and_concurrency_is_reserved(
    transformed: dict[str, Any],
) -> None:
    for role in of_type(transformed, "AWS::IAM::Role").values():
        managed = role["Properties"].get("ManagedPolicyArns", [])
        assert not any("AWSLambdaSQSQueueExecutionRole" in str(arn) for arn in managed)
    for name, function in of_type(transformed, "AWS::Lambda::Function").items():
        if name == "PublishEventsFunction":  # one publisher at a time, whatever is reserved
            assert function["Properties"]["ReservedConcurrentExecutions"] == 1
            continue
        reserved = function["Properties"]["ReservedConcurrentExecutions"]["Fn::If"]
        assert reserved[0].startswith("Reserve") and reserved[2] == {"Ref": "AWS::NoValue"}, name
    report = role_statements(transformed, "ReportFunctionRole")
    (listing,) = [s for s in report if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "reports/sent/*"}}


def test_the_report_sends_over_tls_from_its_sender_to_its_recipients_once(
    transformed: dict[str, Any],
) -> None:
    (configuration,) = of_type(transformed, "AWS::SES::ConfigurationSet").values()
    assert configuration["Properties"]["DeliveryOptions"] == {"TlsPolicy": "REQUIRE"}
    variables = transformed["ReportFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["REPORT_CONFIGURATION_SET"] == {"Ref": "ReportConfigurationSet"}
    statements = role_statements(transformed, "ReportFunctionRole")
    (send,) = [s for s in statements if "ses:SendEmail" in s["Action"]]
    assert send["Condition"]["StringEquals"] == {"ses:FromAddress": {"Ref": "ReportSender"}}
    assert send["Condition"]["ForAllValues:StringEquals"] == {
        "ses:Recipients": {"Fn::Split": [",", {"Ref": "ReportRecipients"}]}
    }
    schedule = of_type(transformed, "AWS::Scheduler::Schedule")["ReportWorkflowDaily"]
    assert schedule["Properties"]["Target"]["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    }


def test_fewer_scan_suppressions_than_before_the_review() -> None:
    source = load_yaml(TEMPLATE)
    skips = [
        skip["id"]
        for resource in source["Resources"].values()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert len(skips) < 18
    assert not {"CKV_AWS_115", "CKV_AWS_119", "CKV_AWS_173"} & set(skips)


def test_sam_validate_needs_no_aws_account_the_functions_name_no_managed_policy() -> None:
    """`sam validate` (without --lint) looks a managed policy named in a function's Policies
    up in IAM, which needs credentials, unless SAM's bundled list knows it; `make validate`
    and the README promise it runs with no AWS account, so every entry is a policy
    document (or a SAM policy template), never a name."""
    source = load_yaml(TEMPLATE)
    named = {
        name: policy
        for name, resource in source["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for policy in resource["Properties"].get("Policies", [])
        if not isinstance(policy, dict)
    }
    assert named == {}
    assert any(
        resource["Properties"].get("Policies")
        for resource in source["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    )


_PLACEHOLDERS = {"${AWS::Partition}": "aws", "${AWS::Region}": "<region>",
                 "${AWS::AccountId}": "<account>", "${AWS::StackName}": "<stack>"}  # fmt: skip


def _placeheld(node: Any) -> Any:
    """A template value as the README writes it: pseudo parameters as <placeholders>."""
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            text = node["Fn::Sub"]
            for name, placeholder in _PLACEHOLDERS.items():
                text = text.replace(name, placeholder)
            return text
        if node == {"Ref": "AWS::AccountId"}:
            return "<account>"
        return {key: _placeheld(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_placeheld(item) for item in node]
    return node


def test_the_key_lets_in_this_stacks_alarms_and_log_groups_only_as_the_readme_says(
    transformed: dict[str, Any],
) -> None:
    """The stack's key policy, which a brought-your-own key (KmsKeyArn) must hold too:
    IAM decides for the account's roles; CloudWatch may use it for this stack's alarms
    only, the log service for this stack's log groups only; no service grant without a
    source condition, and none for a service that does not use the key (SES did not)."""
    import json
    import re

    policy = transformed["DataKey"]["Properties"]["KeyPolicy"]
    by_sid = {statement["Sid"]: statement for statement in policy["Statement"]}
    assert set(by_sid) == {"AccountAdministersAndIamGrants", "CloudWatchAlarmsPublishToTheEncryptedTopic",
                           "LogsEncryptTheLogGroups"}  # fmt: skip
    for statement in policy["Statement"]:
        if "Service" in statement["Principal"]:
            assert statement.get("Condition"), statement["Sid"]  # a source condition, always
    alarms = by_sid["CloudWatchAlarmsPublishToTheEncryptedTopic"]["Condition"]
    assert alarms["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    prefix = "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
    named = sorted(a["Properties"]["AlarmName"]["Fn::Sub"]
                   for a in of_type(transformed, "AWS::CloudWatch::Alarm").values()
                   if {"Ref": "AlarmTopic"} in a["Properties"]["AlarmActions"])  # fmt: skip
    assert (
        named
        and sorted(
            arn["Fn::Sub"].removeprefix(prefix) for arn in alarms["ArnEquals"]["aws:SourceArn"]
        )
        == named
    )  # every alarm that publishes to the encrypted topic, and nothing else
    logs = by_sid["LogsEncryptTheLogGroups"]["Condition"]["ArnEquals"]
    prefix = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
    groups = sorted(g["Properties"]["LogGroupName"]["Fn::Sub"]
                    for g in of_type(transformed, "AWS::Logs::LogGroup").values())  # fmt: skip
    assert (
        sorted(
            arn["Fn::Sub"].removeprefix(prefix)
            for arn in logs["kms:EncryptionContext:aws:logs:arn"]
        )
        == groups
    )
    # The README's "Bringing your own key" block is this policy, placeholders for the stack.
    readme = (TEMPLATE.parent / "README.md").read_text()
    block = re.search(r"<!-- kms:key-policy:start -->\s*```json\n(.*?)```", readme, re.S)
    assert block is not None
    assert json.loads(block.group(1)) == _placeheld(policy)


def test_no_role_may_write_traces_while_tracing_records_nothing(
    transformed: dict[str, Any],
) -> None:
    """Tracing stays off (the SDK's tracer would record S3 keys), so no role keeps the X-Ray
    write policy SAM attaches whenever a function's Tracing is set."""
    for name, function in of_type(transformed, "AWS::Lambda::Function").items():
        assert function["Properties"].get("TracingConfig", {"Mode": "PassThrough"}) == {
            "Mode": "PassThrough"
        }, name
    for name, role in of_type(transformed, "AWS::IAM::Role").items():
        properties = role["Properties"]
        assert not any(
            "xray" in str(arn).lower() for arn in properties.get("ManagedPolicyArns", [])
        )
        actions = [str(statement.get("Action")) for policy in properties.get("Policies", [])
                   for statement in policy["PolicyDocument"]["Statement"]]  # fmt: skip
        assert not any("xray:" in action for action in actions), name


_SERVICE_NAMES = {"s3": "S3", "dynamodb": "DynamoDB", "sqs": "SQS", "states": "Step Functions",
                  "secretsmanager": "Secrets Manager", "ses": "SES", "events": "EventBridge"}  # fmt: skip


def test_each_vpc_suppression_names_exactly_the_services_its_function_reaches() -> None:
    """CKV_AWS_117's justification lists the endpoints the function itself calls: those of
    its own statements (KMS is called by S3, SQS and Secrets Manager for it)."""
    import re

    source = load_yaml(TEMPLATE)
    checked = 0
    for name, resource in source["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        (skip,) = [s for s in resource["Metadata"]["checkov"]["skip"] if s["id"] == "CKV_AWS_117"]
        found = re.search(r"reaches only AWS endpoints \(([^)]*)\)", skip["comment"])
        assert found, name
        said = set(re.split(r", | and ", found.group(1)))
        actions = {action for policy in resource["Properties"]["Policies"]
                   for statement in policy["Statement"]
                   for action in (statement["Action"] if isinstance(statement["Action"], list)
                                  else [statement["Action"]])}  # fmt: skip
        reached = {_SERVICE_NAMES[action.split(":")[0]] for action in actions
                   if not action.startswith("kms:")}  # fmt: skip
        assert said == reached, name
        checked += 1
    assert checked == 8


def test_each_scheduler_role_trusts_only_this_stack_s_schedule_group(
    transformed: dict[str, Any],
) -> None:
    """The scheduler may take a role on behalf of this stack's schedule group only: it names
    the group (not the schedule) as the source, so both schedules are in the stack's own
    group and each role's trust names it (a confused deputy cannot start the report or the
    publisher from another group)."""
    schedules = of_type(transformed, "AWS::Scheduler::Schedule")
    (group,) = of_type(transformed, "AWS::Scheduler::ScheduleGroup")
    assert len(schedules) == 2
    for schedule in schedules.values():
        assert schedule["Properties"]["GroupName"] == {"Ref": group}
        role = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
        (trust,) = transformed[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        condition = trust["Condition"]
        assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        assert condition["ArnEquals"] == {"aws:SourceArn": {"Fn::GetAtt": [group, "Arn"]}}


@pytest.mark.parametrize(
    ("parameter", "field"),
    [("FirstPassPeople", "first_pass_people"), ("EmailDetailRows", "email_detail_rows")],
)
def test_report_defaults_agree_between_the_template_and_the_code(
    parameter: str, field: str
) -> None:
    """A function run without the template's value (the CLI, the local report) reads as
    the deployed stack does."""
    from acktrack.report.people import FIRST_PASS_PEOPLE
    from acktrack.report.plan import ReportRun
    from acktrack.settings import from_environment

    default = load_yaml(TEMPLATE)["Parameters"][parameter]["Default"]
    assert getattr(from_environment({"TABLE_NAME": "t"}), field) == default
    if field == "first_pass_people":
        assert FIRST_PASS_PEOPLE == default == ReportRun(as_of=None, sla_hours=48).first_pass_people  # type: ignore[arg-type]
