"""Every minute: the events waiting in the outbox go to the stack's EventBridge bus."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from acktrack.handlers.events import publish_task

logger = Logger()


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return publish_task(event, context, logger)
