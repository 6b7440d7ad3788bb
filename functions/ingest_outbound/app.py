"""S3 ObjectCreated on the outbound bucket: track every member transaction of an 834."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from acktrack.handlers.ingest import handle_s3_event

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)  # events name S3 keys: never logged raw
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_s3_event(event, "outbound", logger, metrics)
