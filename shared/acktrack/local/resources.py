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
