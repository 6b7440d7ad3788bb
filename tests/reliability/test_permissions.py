"""Least privilege, proven by use: every AWS request each function makes on whole days
(recorded with botocore hooks on the handlers' own clients), and the KMS requests S3, SQS,
Secrets Manager and Lambda make with the function's role on its behalf, is allowed by that
function's role in the transformed template: action, resource ARN (with IAM's wildcards)
and conditions. The days include monthly reconciliation (an audit 834 whole and cut in
parts, an extract) and an operator's resolution. And nothing broader is granted: every
action and every resource of a statement is used by some request or listed with its
reason, and no wildcard stops sooner than the requests need."""

from __future__ import annotations

import functools
import io
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from acktrack.handlers import wiring
from acktrack.ingest.resolution import resolve
from acktrack.local.stack import EmbeddedStack
from acktrack.synthetic.advice import AdviceItemSpec, write_824
from acktrack.synthetic.population import (
    PopulationSpec,
    held_members,
    write_audit_834,
    write_extract,
)
from tests.reliability.iam import (
    OPERATOR,
    OWN_KEY,
    STACK_KEY,
    Recorder,
    UnknownCondition,
    allowed,
    denials,
    encryption_keys,
    iam_like,
    listed,
    operator_statements,
    statements,
)
from tests.reliability.support import (
    AS_OF,
    FIGURES,
    OTHER,
    PLAN,
    SENT,
    US,
    File,
    build_day,
    deliver,
    fresh_stack,
)

pytestmark = pytest.mark.slow
# Granted (function, action) pairs no handler call of these days needs, and why each stays.
NOT_CALLED_HERE = {
    ("ReportBatchFunction", "dynamodb:GetItem"): "a set's status read again alone once the "
    "batch's cache (50,000 sets) has let it go; a batch's sets are read 100 a request",
}
USED_BY_AWS = {
    "s3:ListBucket": "S3 answers a missing object (the sent marker) with 404 only if it may list",
    "ses:SendRawEmail": "SES v2 SendEmail with raw content is authorized as either action",
    "sqs:SendMessage": "Lambda sends a failed asynchronous event to the on-failure queue with "
    "the function's role (SAM's EventInvokeConfigOnFailureSQSPolicy)",
}
# Statements (by Sid: the template's, or SAM's policy name) whose resources no request of
# these days names, and why each stays.
RESOURCES_NOT_CALLED: dict[str | tuple[str, str], str] = {
    "EventInvokeConfigOnFailureSQSPolicy": "the failure queue: Lambda sends a failed event "
    "there with the function's role (no event fails on these days)",
    "SeeWhetherTheDateWasSent": "the reports bucket: S3 lets a missing marker be a 404",
    # (function, Sid): one function's use of a statement it shares with others.
    ("IngestOutboundFunction", "TrackingState"): "the indexes: a 999 stored before its 834 "
    "whose IK3 errors fall in a set of more than 16 members (smaller sets keep where each "
    "member starts); these days' sets are smaller (tests/integration/test_write_paths.py)",
}
# Resources with a wildcard other than below an S3 object's first folder, and why each
# is no broader than what the requests need.
WILDCARDS = {
    "TrackingState": "index/*: the table's two indexes project every attribute; reading them "
    "grants nothing the table's own grant does not",
    "ReadTrackingState": "index/*: as TrackingState",
    "SendReport": "identity/*: the identity is the address or its domain; ses:FromAddress pins "
    "the sender and ses:Recipients the recipients",
}
USED: dict[str, set[str]] = defaultdict(set)  # function -> actions called, over every run
GRANTED: dict[str, set[str]] = defaultdict(set)
# (function, Sid, resource's place in the statement) -> used by a request on some day
RESOURCE_USED: dict[tuple[str, str, int], bool] = {}


def _sid(function: str, statement: dict[str, Any]) -> str:
    return statement["Sid"].removeprefix(function)


def wider_than_needed(resource: str) -> bool:
    """An S3 object's ARN names its bucket and at least its key's first folder before any
    wildcard (each function's reach is a folder: outbound/, quarantine/, reports/); any
    other wildcard must be listed with its reason."""
    if "*" not in resource and "?" not in resource:
        return False
    if resource.startswith("arn:aws:s3:::"):
        bucket, slash, key = resource.removeprefix("arn:aws:s3:::").partition("/")
        if "*" in bucket or "?" in bucket:
            return True
        folder, below, _ = key.partition("/")
        return bool(slash) and (not below or "*" in folder or "?" in folder)
    return "*" in resource or "?" in resource


# (which files come first, PartBytes, KmsKeyArn, with monthly reconciliation and a resolve)
DAYS = [("outbound", 0, "", False), ("inbound", 0, "", False), ("inbound", 2048, "", False),
        ("outbound", 2048, OWN_KEY, False), ("outbound", 0, "", True), ("outbound", 2048, "", True)]  # fmt: skip


@pytest.mark.parametrize(("first", "part_bytes", "key", "reconciliation"), DAYS)
def test_every_request_of_a_day_is_allowed_and_nothing_more_is_granted(
    first: str, part_bytes: int, key: str, reconciliation: bool
) -> None:
    """Both arrival orders: acknowledgments and effectuations first make the 834's ingest
    retract findings (never_sent) and apply stored acknowledgments. With PartBytes small,
    the larger 834s are cut in parts: the file workflow and the part function are used too.
    With KmsKeyArn, the template's other branch: no key of its own, the given one granted.
    With reconciliation, the insurer's audit 834 (whole, or cut in parts by the part
    function) and its extract (whole, or split in pieces that the part function reads), then an operator's resolution before the report."""
    _day_of_calls(first, part_bytes, key, reconciliation)


def _population_files() -> list[File]:
    """HEALTHPLAN01's population of the day's plan.834: an audit 834 and an extract."""
    plan = next(file.data for file in build_day() if file.name == "plan.834")
    spec = PopulationSpec(as_of=SENT + timedelta(days=3), change_plan={2}, skip={3})
    held = held_members([plan], spec)
    audit, extract = io.BytesIO(), io.StringIO()
    write_audit_834(held, audit, spec, insurer=PLAN, us=US)
    write_extract(held, extract)
    return [File("inbound", f"{PLAN}/population.834", audit.getvalue()),
            File("inbound", f"{PLAN}/population-2024-01-18.csv", extract.getvalue().encode())]  # fmt: skip


def _expected_files() -> list[File]:
    """The exchange's expected actions: 6 rows (with PartMembers, cut in parts) and an
    extract carrying a name column (quarantined in the outbound bucket); the insurer's 824
    and its CSV error report (rejections after the 999)."""
    header = (
        "insurer_id,subscriber_id,member_id,maintenance_type,effective_date,action_id,created_at"
    )
    rows = [f"{PLAN},{100000001 + n},,021,20240201,X{n},2024-01-15T10:00:00Z" for n in range(6)]
    advice = io.BytesIO()  # the insurer's 824 refusing a set its 999 accepted
    write_824(advice, sender_id=PLAN, receiver_id=US, interchange_control=9901,
              sent_at=SENT + timedelta(days=1),
              items=[AdviceItemSpec("TR", "1", "0001", "1", errors=(("007", "X"),))])  # fmt: skip
    errors = (
        "subscriber_id,member_id,transaction_control,error_code,message\n100000001,,0001,E1,x\n"
    )
    return [File("expected", "actions.csv", "\n".join([header, *rows]).encode()),
            File("expected", "named.csv", (header + ",last_name\n").encode()),
            File("inbound", f"{PLAN}/advice.824", advice.getvalue()),
            File("inbound", f"{PLAN}/errors/errors.csv", errors.encode())]  # fmt: skip


@functools.cache  # once per test process: the last test needs every day, wherever it runs
def _day_of_calls(first: str, part_bytes: int, key: str, reconciliation: bool) -> None:
    # Acknowledgments first: members kept a day only, so the report pushes open ones' expiry back.
    retention = {"RetentionDays": 1} if first == "inbound" else {}
    # With parts and reconciliation, the extract is split in pieces too (PartMembers).
    split = {"PartMembers": 4} if part_bytes and reconciliation else {}
    with fresh_stack(
        {"PartBytes": part_bytes, **split, **retention, **({"KmsKeyArn": key} if key else {})}
    ) as stack:
        assert stack.resolver is not None
        stack.resolver.arns["DataKey"] = STACK_KEY  # the stack's own key, as an ARN
        keys_granted = {
            str(statement["Resource"])
            for function in stack.functions
            for statement in statements(stack, function)
            if listed(statement["Action"])[0].startswith("kms:")
        }
        assert stack.resolver.condition("CreateKey") == (not key)
        assert keys_granted == {key or STACK_KEY}
        recorder = Recorder(stack, encryption_keys(stack))
        day = [*build_day(), File("inbound", "junk.x12", b"not an acknowledgment")]  # quarantined
        for direction in (
            ("outbound", "inbound") if first == "outbound" else ("inbound", "outbound")
        ):
            for file in day:
                if file.folder == direction:
                    deliver(stack, file)
        for file in _expected_files():  # after the 834s: their insurers say whose ids they are
            assert all(result.ok for result in deliver(stack, file))
        if reconciliation:
            for file in _population_files():
                assert all(result.ok for result in deliver(stack, file))
            # The operator's store: the bound one (a new Repository binds a new client, which
            # the recorder would not hear); requests with no function running are the operator's.
            closed = resolve(wiring.repository(), partner=OTHER, subscriber_id="200000001",
                             reason="withdrew before coverage began (call log 0042)",
                             by="ops", caller="os-user:ops", at=AS_OF - timedelta(hours=1))  # fmt: skip
            assert closed.recorded
        assert stack.run_schedule(AS_OF).ok
        assert stack.publish_events().ok  # its every-minute schedule
        assert stack.failures() == []
        recorder.environment_decrypted()
        _check_the_day(stack, recorder, part_bytes, reconciliation, first)


def _check_the_day(stack: EmbeddedStack, recorder: Recorder, part_bytes: int,
                   reconciliation: bool, first: str) -> None:  # fmt: skip
    denied = []
    refusals = denials(stack)
    assert refusals  # the TLS-only policies are taken into account
    for principal, calls in recorder.calls.items():
        granted = (operator_statements(stack) if principal == OPERATOR
                   else statements(stack, principal))  # fmt: skip
        denied += [
            (principal, *call)
            for call in sorted(calls, key=str)
            if not allowed(granted, *call, recorder.contexts[(principal, *call)], refusals)
        ]
        if principal != OPERATOR:
            USED[principal] |= {action for action, _, _ in calls}
    assert denied == []
    assert (OPERATOR in recorder.calls) == reconciliation  # the resolve's own requests
    for function in stack.functions:
        for statement in statements(stack, function):
            if statement.get("Effect") != "Allow":
                continue
            GRANTED[function] |= set(listed(statement["Action"]))
            for place, resource in enumerate(listed(statement["Resource"])):
                used = any(
                    iam_like(resource, arn) and any(iam_like(a, action) for a in listed(statement["Action"]))
                    for action, arn, _ in recorder.calls.get(function, ())
                )  # fmt: skip
                entry = (function, _sid(function, statement), place)
                RESOURCE_USED[entry] = RESOURCE_USED.get(entry, False) or used
    used = {(f, action) for f, calls in recorder.calls.items() for action, _, _ in calls}
    parts = "IngestPartFunction" if part_bytes else "IngestOutboundFunction"
    if first == "inbound":
        assert (parts, "dynamodb:DeleteItem") in used  # a finding retracted
        assert ("ReportSectionsFunction", "dynamodb:UpdateItem") in used  # an expiry pushed back
    if part_bytes:
        assert ("IngestOutboundFunction", "states:StartExecution") in used
        assert {a for f, a in used if f == "IngestPartFunction"} >= {
            "s3:GetObjectVersion",  # a part reads the version its job names
            "dynamodb:GetItem",  # the job: which object
            "dynamodb:BatchWriteItem",
        }
    if reconciliation:
        reconciled = "IngestPartFunction" if part_bytes else "IngestInboundFunction"
        assert (reconciled, "s3:PutObject") in used  # the codes file, in the reports bucket
    assert ("ReportPlanFunction", "dynamodb:Query") in used  # the index
    assert ("ReportBatchFunction", "dynamodb:BatchGetItem") in used  # a batch's ledgers
    assert len(used) > 10
    # Each function touches only its own buckets; only the report function emails.
    buckets = {
        f: {r.split(":::")[1].split("/")[0] for a, r, _ in calls if a.startswith("s3:")}
        for f, calls in recorder.calls.items()
    }
    outbound, inbound, reports = (stack.bucket(r) for r in ("Outbound", "Inbound", "Reports"))
    # A cut file's part orders go to the work area of the reports bucket.
    assert buckets["IngestOutboundFunction"] == ({outbound, reports} if part_bytes else {outbound})
    # Parts of outbound files, and of the insurer's population or effectuation 834.
    assert buckets.get("IngestPartFunction", set()) <= (
        {outbound, inbound, reports} if reconciliation else {outbound, inbound}
    )
    assert buckets["IngestInboundFunction"] == (
        {inbound, reports} if reconciliation or part_bytes else {inbound}
    )
    for task in ("ReportPlanFunction", "ReportBatchFunction", "ReportSectionsFunction",
                 "ReportFunction"):  # fmt: skip
        assert buckets[task] == {reports}, task
    # The report's last task reads and writes only what it announced, and the outbox.
    assert {(a, k.split("#")[0] + "#" if "#" in k else k) for a, _, k in recorder.calls["ReportFunction"]
            if a.startswith("dynamodb:") and k} <= {("dynamodb:Query", "ANNOUNCED"),
                                                    ("dynamodb:PutItem", "ANNOUNCED"),
                                                    ("dynamodb:PutItem", "OUT#")}  # fmt: skip
    assert {a for f, a in used if f == "PublishEventsFunction"} >= {
        "dynamodb:Query", "dynamodb:BatchWriteItem", "events:PutEvents"}  # fmt: skip
    assert {a for f, a in used if a.startswith("ses:")} and all(
        f == "ReportFunction" for f, a in used if a.startswith("ses:")
    )
    assert buckets.get(OPERATOR, set()) == set()  # the operator writes the table only
    _nothing_broader_is_granted(stack)


def _nothing_broader_is_granted(stack: EmbeddedStack) -> None:
    for function in stack.functions:
        for statement in statements(stack, function):
            actions, resources = listed(statement["Action"]), listed(statement["Resource"])
            assert not any(a.endswith(":*") or a == "*" for a in actions), (function, statement)
            assert "*" not in resources, (function, statement)
            wide = [r for r in resources if wider_than_needed(r)]
            assert not wide or _sid(function, statement) in WILDCARDS, (function, wide)
            if function.startswith("Report"):
                writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
                leading = (
                    statement.get("Condition", {})
                    .get("ForAllValues:StringLike", {})
                    .get("dynamodb:LeadingKeys")
                )
                # It writes nothing but open members' expiry (family partitions) and takes
                # sets found closed out of its index, watched beside their closers' (group
                # partitions): updates only.
                # And what it announced, with the events: their partitions only.
                assert not (set(actions) & writes) or (
                    actions == ["dynamodb:UpdateItem"] and leading in (["FAM#*"], ["GS#*"])
                ) or (actions == ["dynamodb:PutItem"]
                      and leading == ["ANNOUNCED", "OUT#*"]), statement  # fmt: skip


def test_every_permission_granted_is_used_or_used_by_aws_for_the_function() -> None:
    """After the runs above: a grant no handler call needed is either one AWS itself uses
    on the function's behalf (listed with its reason) or a permission to remove; and so
    is every resource of every statement. A reason for a grant that is now used is stale."""
    for day in DAYS:
        _day_of_calls(*day)
    unused = sorted(
        (function, action)
        for function, actions in GRANTED.items()
        for action in actions
        if action not in USED[function]
    )
    FIGURES["permissions_granted"] = sum(len(actions) for actions in GRANTED.values())
    FIGURES["permissions_unused_by_handlers"] = len(unused)
    unexplained = [
        f"{f} {a}" for f, a in unused if a not in USED_BY_AWS and (f, a) not in NOT_CALLED_HERE
    ]
    assert unexplained == [], "\n".join(unexplained)
    assert sorted(set(NOT_CALLED_HERE) - set(unused)) == []  # stale: used now
    assert sorted(set(USED_BY_AWS) - {action for _, action in unused}) == []
    resources_unused = sorted(entry for entry, used in RESOURCE_USED.items() if not used)
    FIGURES["permission_resources"] = len(RESOURCE_USED)
    FIGURES["permission_resources_unused_by_handlers"] = len(resources_unused)
    unexplained_resources = [
        e for e in resources_unused
        if e[1] not in RESOURCES_NOT_CALLED and (e[0], e[1]) not in RESOURCES_NOT_CALLED
    ]  # fmt: skip
    assert unexplained_resources == []
    listed = {sid for _, sid, _ in resources_unused} | {(f, sid) for f, sid, _ in resources_unused}
    assert [key for key in RESOURCES_NOT_CALLED if key not in listed] == []  # stale: used now


def test_a_request_against_the_policies_is_decided_as_iam_would() -> None:
    """The evaluator itself: Deny wins, conditions hold or not, unknown keys are refused,
    and a request's resource ARN is matched against each Resource with IAM's wildcards."""
    allow = [{"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*",
              "Condition": {"StringEquals": {"ses:FromAddress": "a@x"},
                            "ForAllValues:StringEquals": {"ses:Recipients": ["b@x", "c@x"]}}}]  # fmt: skip
    sender = ("ses:FromAddress", ("a@x",))
    assert allowed(allow, "ses:SendEmail", "r", None, (sender, ("ses:Recipients", ("b@x",))))
    assert not allowed(
        allow, "ses:SendEmail", "r", None, (sender, ("ses:Recipients", ("b@x", "z@x")))
    )
    assert not allowed(allow, "ses:SendEmail", "r", None,
                       (("ses:FromAddress", ("z@x",)), ("ses:Recipients", ("b@x",))))  # fmt: skip
    tls = [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]  # fmt: skip
    grant = [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/in/*"}]
    assert allowed(grant, "s3:GetObject", "arn:aws:s3:::b/in/k", None, (), tls)
    assert not allowed(grant, "s3:GetObject", "arn:aws:s3:::b/out/k", None)  # another folder
    assert not allowed(grant, "s3:GetObject", "arn:aws:s3:::bb/in/k", None)  # another bucket
    everything = [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]
    assert not allowed(grant, "s3:GetObject", "arn:aws:s3:::b/in/k", None, (), everything)
    table = "arn:aws:dynamodb:us-east-1:1:table/t"
    query = [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": table}]
    assert allowed(query, "dynamodb:Query", table, None)
    assert not allowed(query, "dynamodb:Query", f"{table}/index/report", None)  # an index
    one = [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:r:1:key/a?c"}]
    assert allowed(one, "kms:Decrypt", "arn:aws:kms:r:1:key/abc", None)
    assert not allowed(one, "kms:Decrypt", "arn:aws:kms:r:1:key/abbc", None)
    assert not iam_like("arn:aws:s3:::b/[a]*", "arn:aws:s3:::b/a1")  # no character classes
    with pytest.raises(UnknownCondition):
        allowed([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                  "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}],
                "s3:GetObject", "x", None)  # fmt: skip


def test_a_wildcard_stops_no_sooner_than_a_folder() -> None:
    """The rule that catches a grant widened from quarantine/* to the whole bucket."""
    assert not wider_than_needed("arn:aws:s3:::b/quarantine/*")
    assert not wider_than_needed("arn:aws:s3:::b/reports/reconciliation/*")
    assert not wider_than_needed("arn:aws:s3:::b")  # the bucket itself (a listing)
    assert wider_than_needed("arn:aws:s3:::b/*")
    assert wider_than_needed("arn:aws:s3:::b/quar*/x")
    assert wider_than_needed("arn:aws:s3:::*/quarantine/*")
    assert wider_than_needed("arn:aws:dynamodb:us-east-1:1:table/t/index/*")
    assert not wider_than_needed("arn:aws:sqs:us-east-1:1:queue")
