"""The S3-event and part-order loops of the ingest functions.

Each S3 record is handled on its own: a bad file is quarantined, an unexpected failure of
one record does not stop the others, and is raised at the end so that Lambda retries the
event and, in the end, sends it to the on-failure destination.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.handlers.failures import failed, failure_fields
from acktrack.handlers.metrics import file_metrics
from acktrack.handlers.wiring import archive, object_source, part_queue, pipeline_config, repository

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics


def object_refs(event: dict[str, Any]) -> list[ObjectRef]:
    """The objects an S3 ObjectCreated event names (keys arrive URL-encoded)."""
    from aws_lambda_powertools.utilities.data_classes import S3Event

    refs = []
    for record in S3Event(event).records:
        obj = record.s3.get_object
        try:
            received = datetime.fromisoformat(record.event_time.replace("Z", "+00:00"))
        except (KeyError, ValueError, AttributeError):
            received = datetime.now(UTC)
        refs.append(
            ObjectRef(
                bucket=record.s3.bucket.name,
                key=unquote_plus(obj.key),
                size=obj.get("size"),
                version_id=obj.get("versionId"),
                received_at=received,
            )
        )
    return refs


def handle_s3_event(event: dict[str, Any], direction: str, logger: Logger | logging.Logger,
                    metrics: Metrics | None = None) -> dict[str, Any]:  # fmt: skip
    """Ingest every object of an S3 event (``direction``: outbound or inbound)."""
    from acktrack.ingest.inbound import ingest_inbound
    from acktrack.ingest.outbound import ingest_outbound

    results: list[dict[str, Any]] = []
    failures = 0
    refs = object_refs(event)
    logger.debug(
        "event received", extra={"direction": direction, "objects": [r.key_hash for r in refs]}
    )
    for ref in refs:
        try:
            if direction == "outbound":
                outcome = ingest_outbound(
                    ref, object_source(), repository(), pipeline_config(), part_queue()
                )
            else:
                outcome = ingest_inbound(
                    ref, object_source(), repository(), pipeline_config(), archive(), part_queue()
                )
        except Exception as error:
            # A bug or an AWS failure (not bad input): log without data, retry the event later.
            failures += 1
            logger.error("ingest failed", extra={"object": ref.key_hash, **failure_fields(error)})
            continue
        log = {"object": ref.key_hash, "direction": direction, **outcome.to_log()}
        logger.debug(
            "object detail",
            extra={"object": ref.key_hash, "size": ref.size, "by_insurer": outcome.by_partner,
                   "findings": outcome.findings, "notices": outcome.notices},
        )  # fmt: skip
        if outcome.outcome == FileOutcome.QUARANTINED:
            logger.warning("file quarantined", extra=log)
        elif outcome.outcome == FileOutcome.FANNED_OUT:  # its last part logs and counts the file
            logger.info("file cut in parts", extra=log)
            results.append(log)
            continue
        else:
            logger.info("file processed", extra=log)
        file_metrics(metrics, outcome)
        results.append(log)
    if failures:
        raise RuntimeError(
            f"{failures} of {len(results) + failures} objects failed; the event will be retried"
        )
    return {"objects": results}


def handle_part_event(
    event: dict[str, Any], logger: Logger | logging.Logger, metrics: Metrics | None = None
) -> dict[str, Any]:
    """SQS: ingest each part of a large outbound file; failed messages are reported back
    (partial batch response, Powertools' BatchProcessor) so SQS redelivers them, and in the
    end dead-letters them."""
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from acktrack.ingest.effectuation_parts import ingest_effectuation_part
    from acktrack.ingest.parts import (
        EFFECTUATION,
        BadPartOrder,
        PartOrder,
        ingest_part,
    )
    from acktrack.ingest.population_parts import ingest_population_part

    def one(record: SQSRecord) -> None:
        try:
            order = PartOrder.from_message(record.body or "")
        except BadPartOrder as error:
            logger.error(
                "part order unreadable",
                extra={"message_id": record.message_id, "reason": str(error)},
            )
            raise  # kept in the queue, then the failure queue: never lost
        # The job names the file (its S3 function logged the object's hash with it).
        where = {"job": order.job, "part": order.index + 1, "parts": order.parts}
        try:
            if order.is_population:  # an insurer's population, not an outbound file
                outcome = ingest_population_part(
                    order, object_source(), repository(), pipeline_config(), archive()
                )
            elif order.kind == EFFECTUATION:  # an insurer's effectuation 834
                outcome = ingest_effectuation_part(
                    order, object_source(), repository(), pipeline_config()
                )
            else:
                outcome = ingest_part(order, object_source(), repository(), pipeline_config())
        except Exception as error:  # the message goes back to SQS: kept, then dead-lettered
            logger.error("part failed", extra={**where, **failure_fields(error)})
            raise failed(f"part {order.index + 1} of {order.parts}", error) from None
        if outcome.outcome == FileOutcome.PART:
            logger.info("part processed", extra={**where, **outcome.to_log()})
        else:  # the last part finished the file
            inbound = order.is_population or order.kind == EFFECTUATION
            direction = "inbound" if inbound else "outbound"
            logger.info(
                "file processed", extra={**where, "direction": direction, **outcome.to_log()}
            )
            file_metrics(metrics, outcome)

    # Every message failing is reported like any other partial failure, not raised.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=event, record_handler=one, processor=processor)
    return dict(response)
