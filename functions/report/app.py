"""Scheduled daily: email the unconfirmed-enrollment report and archive it."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from acktrack.handlers.report import run_report

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_report(event, logger, metrics)
