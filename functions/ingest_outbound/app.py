"""S3 ObjectCreated on the outbound bucket: track every member transaction of an 834."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from acktrack.runtime import handle_s3_event

logger = Logger()
metrics = Metrics()
tracer = Tracer()  # X-Ray: the handler and every AWS call, as subsegments


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)  # events name S3 keys: never logged raw
@tracer.capture_lambda_handler(capture_response=False)  # results stay out of traces
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_s3_event(event, "outbound", logger, metrics)
