"""The S3-event loop of the ingest functions, and the file workflow's part and finish tasks.

Each S3 record is handled on its own: a bad file is quarantined, an unexpected failure of
one record does not stop the others, and is raised at the end so that Lambda retries the
event and, in the end, sends it to the on-failure destination. A workflow task that fails
raises: the workflow retries it, and a file whose task still fails fails its execution
(an alarm; the execution can be redriven).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from acktrack.domain.status import FileOutcome
from acktrack.domain.tracked import ObjectRef
from acktrack.handlers.failures import failed, failure_fields
from acktrack.handlers.metrics import file_metrics
from acktrack.handlers.wiring import (
    archive,
    object_source,
    part_pieces,
    part_workflow,
    pipeline_config,
    repository,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

EXPECTED_PREFIX = "expected/"  # the outbound bucket's extracts of expected enrollment actions


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
    from acktrack.ingest.expected import ingest_expected
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
            if direction == "outbound" and ref.key.startswith(EXPECTED_PREFIX):
                outcome = ingest_expected(
                    ref, object_source(), repository(), pipeline_config(), part_workflow()
                )
            elif direction == "outbound":
                outcome = ingest_outbound(
                    ref, object_source(), repository(), pipeline_config(), part_workflow()
                )
            else:
                outcome = ingest_inbound(
                    ref,
                    object_source(),
                    repository(),
                    pipeline_config(),
                    archive(),
                    part_workflow(),
                    part_pieces(),
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
        elif outcome.outcome == FileOutcome.FANNED_OUT:  # its workflow's Finish logs and counts it
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


def handle_part_task(
    event: dict[str, Any], logger: Logger | logging.Logger, metrics: Metrics | None = None
) -> dict[str, Any]:
    """The file workflow's tasks: ``{"order": {...}}`` ingests one part (the Map's item);
    ``{"finish": job, "kind": ..., "parts": n}`` finishes the file once every part is done.
    A failure raises (the workflow retries the task); the answer is counts, never rows."""
    from acktrack.ingest.ack_parts import finish_acknowledgments, ingest_acknowledgment_part
    from acktrack.ingest.effectuation_parts import finish_effectuation, ingest_effectuation_part
    from acktrack.ingest.expected import finish_expected, ingest_expected_part
    from acktrack.ingest.parts import (
        ACKNOWLEDGMENTS,
        EFFECTUATION,
        EXPECTED,
        BadPartOrder,
        PartOrder,
        finish,
        finish_order,
        ingest_part,
        with_job,
    )
    from acktrack.ingest.population_parts import finish_population, ingest_population_part

    finishing = "finish" in event
    try:
        if finishing:
            order = finish_order(str(event["finish"]), str(event.get("kind")),
                                 int(event.get("parts") or 0))  # fmt: skip
        else:
            order = PartOrder.from_message(json.dumps(event.get("order")))
    except (BadPartOrder, KeyError, TypeError, ValueError) as error:
        logger.error("workflow task unreadable", extra=failure_fields(error))  # no value quoted
        raise failed("a file workflow task", error) from None
    where = {"job": order.job, "part": order.index + 1, "parts": order.parts}
    try:
        if finishing and order.is_population:
            outcome = finish_population(
                order, object_source(), repository(), pipeline_config(), archive()
            )
        elif finishing and order.kind == EFFECTUATION:
            outcome = finish_effectuation(order, repository())
        elif finishing and order.kind == ACKNOWLEDGMENTS:
            outcome = finish_acknowledgments(order, repository())
        elif finishing and order.kind == EXPECTED:
            outcome = finish_expected(order, repository())
        elif finishing:
            full, ref = with_job(order, repository())
            outcome = finish(full, ref, object_source(), repository(), pipeline_config())
        elif order.is_population:  # an insurer's population, not an outbound file
            outcome = ingest_population_part(
                order, object_source(), repository(), pipeline_config(), archive(), part_pieces()
            )
        elif order.kind == ACKNOWLEDGMENTS:  # a slice of a large 999
            outcome = ingest_acknowledgment_part(order, repository(), pipeline_config())
        elif order.kind == EXPECTED:  # rows of the exchange's expected actions
            outcome = ingest_expected_part(order, object_source(), repository(), pipeline_config())
        elif order.kind == EFFECTUATION:  # an insurer's effectuation 834
            outcome = ingest_effectuation_part(
                order, object_source(), repository(), pipeline_config()
            )
        else:
            outcome = ingest_part(order, object_source(), repository(), pipeline_config())
    except Exception as error:  # the workflow retries the task, then fails the execution
        logger.error("part failed" if not finishing else "finish failed",
                     extra={**where, **failure_fields(error)})  # fmt: skip
        raise failed("finishing the file" if finishing else
                     f"part {order.index + 1} of {order.parts}", error) from None  # fmt: skip
    log = {**where, **outcome.to_log()}
    if not finishing:
        logger.info("part processed", extra=log)
        return {"job": order.job, "part": order.index + 1, "outcome": str(outcome.outcome)}
    inbound = order.is_population or order.kind in (EFFECTUATION, ACKNOWLEDGMENTS)
    logger.info("file processed", extra={**log, "direction": "inbound" if inbound else "outbound"})
    file_metrics(metrics, outcome)
    return {"job": order.job, "parts": order.parts, "outcome": str(outcome.outcome)}
