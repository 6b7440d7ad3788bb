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
    assert properties["SSESpecification"]["Fn::If"][2] == {"SSEEnabled": True}
    assert {index["IndexName"] for index in properties["GlobalSecondaryIndexes"]} == {
        "report",
        "lookup",
    }


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
        "OutboundBucket": ["IngestOutboundFunction"],
        "InboundBucket": ["IngestInboundFunction"],
    }
    (schedule,) = of_type(transformed, "AWS::Scheduler::Schedule").values()
    assert (
        schedule["Properties"]["Target"]["Input"] == '{"as_of": "<aws.scheduler.scheduled-time>"}'
    )
    for function in of_type(transformed, "AWS::Lambda::Function").values():
        assert function["Properties"]["Runtime"] == "python3.11"
        assert function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"].endswith("LogGroup")
    for config in of_type(transformed, "AWS::Lambda::EventInvokeConfig").values():
        assert config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailureQueue", "Arn"]
        }


def test_parts_of_large_files_go_through_a_queue_that_dead_letters(
    transformed: dict[str, Any],
) -> None:
    (mapping,) = of_type(transformed, "AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    assert properties["EventSourceArn"] == {"Fn::GetAtt": ["PartsQueue", "Arn"]}
    assert properties["FunctionName"] == {"Ref": "IngestPartFunction"}
    assert properties["BatchSize"] == 1
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = of_type(transformed, "AWS::SQS::Queue")["PartsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    timeout = of_type(transformed, "AWS::Lambda::Function")["IngestPartFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * timeout["Timeout"]  # as Lambda advises
    outbound = of_type(transformed, "AWS::Lambda::Function")["IngestOutboundFunction"]
    variables = outbound["Properties"]["Environment"]["Variables"]
    assert variables["PARTS_QUEUE_URL"] == {"Ref": "PartsQueue"}
    assert variables["PART_BYTES"] == {"Ref": "PartBytes"}


def test_member_level_items_expire_by_ttl(transformed: dict[str, Any]) -> None:
    table = of_type(transformed, "AWS::DynamoDB::Table")["TrackingTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}


def test_log_groups_have_retention(transformed: dict[str, Any]) -> None:
    groups = of_type(transformed, "AWS::Logs::LogGroup")
    assert len(groups) == len(of_type(transformed, "AWS::Lambda::Function")) == 4
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
                if "dynamodb:DeleteItem" in actions:  # only findings, in family partitions
                    condition = statement["Condition"]["ForAllValues:StringLike"]
                    assert condition == {"dynamodb:LeadingKeys": ["FAM#*"]}, name


def test_alarms_watch_the_rejection_rate_and_the_overdue_backlog(
    transformed: dict[str, Any],
) -> None:
    alarms = of_type(transformed, "AWS::CloudWatch::Alarm")
    watched = {alarm["Properties"]["MetricName"]: alarm["Properties"] for alarm in alarms.values()}
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
