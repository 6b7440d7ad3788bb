"""Resources of the template the embedded stack makes as CloudFormation would."""

from __future__ import annotations

import json
from typing import Any

# Properties of an index the local table is created without (capacity: moto has no notion).
_INDEX_IGNORED = frozenset({"ProvisionedThroughput", "WarmThroughput"})


def create_table(dynamodb: Any, name: str, properties: dict[str, Any]) -> None:
    """The table as the template describes it, known properties only: capacity settings
    (``WarmThroughput`` of the table and its indexes, provisioned throughput) are left out."""
    arguments: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if properties.get("GlobalSecondaryIndexes"):
        arguments["GlobalSecondaryIndexes"] = [
            {key: value for key, value in index.items() if key not in _INDEX_IGNORED}
            for index in properties["GlobalSecondaryIndexes"]
        ]
    dynamodb.create_table(**arguments)
    ttl = properties.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def sent_emails() -> list[bytes]:
    """Raw MIME of every email the local SES accepted, oldest first."""
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.ses.models import ses_backends

    from acktrack.local.functions import REGION
    from acktrack.local.template import ACCOUNT

    messages = []
    for account in {ACCOUNT, DEFAULT_ACCOUNT_ID}:
        backend = ses_backends[account][REGION]
        for message in backend.sent_messages:
            raw = getattr(message, "raw_data", None)
            if raw is not None:
                messages.append(raw.encode() if isinstance(raw, str) else raw)
    return messages


def failures(sqs: Any, urls: list[str]) -> list[dict[str, Any]]:
    """Every message of these queues (the on-failure queue's records), taken out of them."""
    found = []
    for url in urls:
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                        WaitTimeSeconds=0).get("Messages", [])  # fmt: skip
            if not batch:
                break
            for message in batch:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


CAPTURE = "acktrack-local-events"  # the queue and rule ``acktrack replay --events-dir`` adds


def capture_events(events: Any, sqs: Any, bus: str) -> str:
    """A rule on the stack's bus sending every acktrack event to a queue of its own (as the
    README's rules send them to a topic or an endpoint); returns the queue's URL."""
    url: str = sqs.create_queue(QueueName=CAPTURE)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=CAPTURE, EventBusName=bus, EventPattern=json.dumps({"source": ["acktrack"]})
    )
    events.put_targets(Rule=CAPTURE, EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn}])
    return url


def failure_queue(invoke_config: dict[str, Any], queues: dict[str, str],
                  arns: dict[str, str]) -> str | None:  # fmt: skip
    """The URL of the queue an EventInvokeConfig sends failed events to (None: none)."""
    destination = invoke_config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return next((url for queue, url in queues.items() if arns[queue] == destination), None)
