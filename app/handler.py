"""Lambda entry point: `app.handler.lambda_handler`.

One function serves two kinds of events: API Gateway's REST proxy events (the
routes of app/web) and S3's ObjectCreated notifications for direct uploads
(app/layout.py's incoming prefix), which are processed without the client
calling `complete`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from app.observability import log_memory, logger, publish_metrics
from app.setting_rules import ConfigError
from app.settings import SERVICE, get_settings
from app.web import conditional
from app.web.resolver import app, misconfigured


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        problem = misconfiguration()
        if problem is not None:  # fail closed: nothing is served with a setting it cannot trust
            if _is_s3_event(event):
                raise problem  # Lambda retries the event, then keeps it (the template's FailedEvents queue)
            return misconfigured(event, context, problem)
        if _is_s3_event(event):
            return process_s3_event(event)
        return conditional.answer(event, lambda proxy_event: app.resolve(proxy_event, context))
    finally:
        publish_metrics()
        log_memory()


_reported: set[str] = set()


def misconfiguration() -> ConfigError | None:
    """What is wrong with this environment's settings, logged once per execution environment."""
    try:
        get_settings()
    except ConfigError as exc:
        if str(exc) not in _reported:
            _reported.add(str(exc))
            logger.error(
                "invalid settings: every request is refused until they are corrected", extra={"problems": str(exc)}
            )
        return exc
    return None


if (
    misconfiguration() is None and get_settings().tracing
):  # imported only then: aws-xray-sdk costs cold start where nobody reads traces
    from aws_lambda_powertools import Tracer

    # Traces every invocation, and every S3 and DynamoDB call (Tracer patches botocore).
    lambda_handler = Tracer(service=SERVICE).capture_lambda_handler(lambda_handler)


def _is_s3_event(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return isinstance(records, list) and bool(records) and records[0].get("eventSource") == "aws:s3"


def process_s3_event(event: dict[str, Any]) -> dict[str, Any]:
    """Process the direct uploads the notification names (app/logic/uploads.py says how)."""
    from app.logic.direct_uploads import process_notification
    from app.storage import ImageStore

    keys = [unquote_plus(record["s3"]["object"]["key"]) for record in event["Records"]]
    statuses = process_notification(ImageStore(), keys)
    logger.info("processed direct uploads", extra={"statuses": statuses})
    return {"processed": statuses}
