"""The file workflow's tasks: one part of a file too large for one invocation, then the
file's finish (see acktrack.ingest.parts)."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from acktrack.handlers.ingest import handle_part_task

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)  # events are never logged raw
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_part_task(event, logger, metrics)
