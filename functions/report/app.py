"""Scheduled daily: email the unconfirmed-enrollment report and archive it."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from acktrack.runtime import run_report

logger = Logger()
metrics = Metrics()
tracer = Tracer()  # X-Ray: the handler and every AWS call, as subsegments


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)  # results stay out of traces
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_report(event, logger, metrics)
