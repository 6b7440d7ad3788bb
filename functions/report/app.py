"""The daily report's last task: merge the batches, archive the report and email it."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from acktrack.handlers.report import deliver_task

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return deliver_task(event, logger, metrics)
