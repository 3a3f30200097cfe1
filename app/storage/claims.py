"""Which image id a keyed request makes: a claim per request, in the idempotency table (app/layout.py).

A request that makes an image, sent with an Idempotency-Key, may be attempted more than
once: a client retries after a timeout, an attempt dies before its answer is recorded.
Its first attempt claims a new id; every later attempt of the same request, while the
claim lasts, makes the same id, so that it finds the image the first one stored instead
of storing another. A claim expires as the request's record does, and an expired one is
taken over with a new id: the old one is never made again.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from app import layout
from app.settings import get_settings
from app.storage.clients import Boto, dynamodb_client


class RequestClaims:
    """The id claims of keyed requests, one item each, keyed by a digest of the request."""

    def __init__(self) -> None:
        self.table = get_settings().idempotency_table

    def claim(self, request: str, fresh: str, until: int, now: int) -> str:
        """The id the request's claim names: `fresh`, claimed now until `until` (epoch seconds), unless a
        claim of this request lasts still, whose id is returned. One conditional write."""
        lasting = {
            "ConditionExpression": "attribute_not_exists(id) OR #expiry < :now",
            "ExpressionAttributeNames": {"#expiry": layout.IDEMPOTENCY_EXPIRY},
            "ExpressionAttributeValues": {":now": {"N": str(now)}},
        }
        return self._put(request, fresh, until, lasting) or fresh

    def move(self, request: str, claimed: str, fresh: str, until: int, now: int) -> str:
        """Claim `fresh` instead of `claimed` (whose image is gone): the id the claim names afterwards."""
        unchanged = {
            "ConditionExpression": "image_id = :claimed",
            "ExpressionAttributeValues": {":claimed": {"S": claimed}},
        }
        moved = self._put(request, fresh, until, unchanged)
        return moved if moved is not None else self.claim(request, fresh, until, now)  # gone meanwhile

    def _put(self, request: str, image_id: str, until: int, condition: Boto) -> str | None:
        """Write the claim if `condition` holds: its id then. Else the id of the claim that is there,
        or None where there is none."""
        item = {
            "id": {"S": f"{layout.REQUEST_ID_PREFIX}{request}"},
            "image_id": {"S": image_id},
            layout.IDEMPOTENCY_EXPIRY: {"N": str(until)},
        }
        try:
            dynamodb_client().put_item(
                TableName=self.table, Item=item, ReturnValuesOnConditionCheckFailure="ALL_OLD", **condition
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            there: Any = exc.response.get("Item")  # ALL_OLD: the claim the condition met
            return str(there["image_id"]["S"]) if there else None
        return image_id
