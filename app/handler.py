"""Lambda entry point: `app.handler.lambda_handler`.

One function serves two kinds of events: API Gateway's REST proxy events (the
routes in app/api.py) and S3's ObjectCreated notifications for `incoming/`,
which process direct uploads without the client calling `complete`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from app.api import app, store
from app.observability import logger, publish_metrics


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        if _is_s3_event(event):
            return process_s3_event(event)
        return app.resolve(event, context)
    finally:
        publish_metrics()


def _is_s3_event(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return isinstance(records, list) and bool(records) and records[0].get("eventSource") == "aws:s3"


def process_s3_event(event: dict[str, Any]) -> dict[str, Any]:
    """Process every `incoming/<id>` the notification names.

    A failure raises, so that Lambda's asynchronous retries run it again
    (processing is idempotent); an unknown or already processed id does not.
    """
    from app import images
    from app.errors import ApiError

    statuses: dict[str, str] = {}
    for record in event["Records"]:
        key = unquote_plus(record["s3"]["object"]["key"])
        prefix, _, image_id = key.partition("/")
        if prefix != "incoming" or not images.ID_RE.match(image_id):
            logger.warning("ignored an S3 object outside incoming/<id>", extra={"key": key})
            continue
        try:
            statuses[image_id] = images.process_upload(store(), image_id)["status"]
        except ApiError as exc:  # 404: deleted meanwhile; 409: gone again (deleted or processed)
            logger.info("nothing to process", extra={"image_id": image_id, "reason": exc.message})
            statuses[image_id] = exc.code
    logger.info("processed direct uploads", extra={"statuses": statuses})
    return {"processed": statuses}
