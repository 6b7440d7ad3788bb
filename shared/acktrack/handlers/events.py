"""The publisher: what the outbox holds goes to the stack's EventBridge bus
(``ingest.publish``), every minute (``PublishEventsFunction`` in ``template.yaml``)."""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any

from acktrack import settings as settings_module
from acktrack.handlers.wiring import keyring, repository
from acktrack.ingest.publish import publish_pending

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

_MARGIN_MS = 60_000  # stop taking more work this long before the function's timeout


def publish_task(
    event: dict[str, Any], context: Any, logger: Logger | logging.Logger
) -> dict[str, Any]:
    from acktrack.aws.events import EventBridgeSink

    current = settings_module.settings()
    if not current.event_bus_name:
        logger.warning("no event bus configured: events stay in the outbox")
        return {"published": 0}

    def time_left() -> bool:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        return remaining is None or remaining() > _MARGIN_MS

    done = publish_pending(repository(), EventBridgeSink(current.event_bus_name),
                           keyring(current.demographics_hash_key),
                           start=random.randrange(1 << 16), time_left=time_left)  # fmt: skip
    logger.info("events published", extra=done.to_log())
    return done.to_log()
