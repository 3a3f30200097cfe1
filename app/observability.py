"""The one Powertools Logger and Metrics of the function.

Logs are JSON lines carrying the Lambda request id and, as `correlation_id`,
API Gateway's request id (the `request_id` every error body shows).
Metrics are CloudWatch embedded-metric lines; the local server and the tests
turn them off with POWERTOOLS_METRICS_DISABLED so they cost nothing there.
"""

from aws_lambda_powertools import Logger, Metrics

from app.settings import SERVICE

# POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL and POWERTOOLS_METRICS_NAMESPACE override these.
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="ImageApi", service=SERVICE)


def publish_metrics() -> None:
    """Print this invocation's metrics, if any, and start the next invocation with none.

    Not Powertools' `log_metrics`: in 3.37 its flush keeps the metrics when
    POWERTOOLS_METRICS_DISABLED is set (they pile up for the life of the
    process, e.g. the local server) and warns on every request that adds none.
    """
    if metrics.metric_set:
        metrics.flush_metrics()
    metrics.clear_metrics()
