"""Idempotency-Key: a retried write gets the first answer, never a second image or a second delete.

A client that timed out cannot know whether its write happened. When it sends
the same `Idempotency-Key` header again, with the same request, it gets the
answer the first attempt got (with `Idempotent-Replayed: true`), and nothing is
written twice. The same key with a different request is refused (422); a retry
while the first attempt still runs is told to wait (409, Retry-After).

An attempt can die (timeout, out of memory) after storing its image but before
its answer is recorded; its record then expires at the attempt's deadline and a
retry runs again. So that this run finds the image instead of storing another,
a keyed request that makes an image claims its id first (logic/images.id_for_request):
the retry makes the same id, its row meets the first one's, and the logic returns
that. The claim lasts IDEMPOTENCY_EXPIRES_IN, and names an id again only while that
image's row exists: once the image is gone, or the claim has expired, the same request
makes a new id. An id is never made twice.

Powertools' Idempotency utility keeps the records, in the idempotency table
(app/layout.py), for IDEMPOTENCY_EXPIRES_IN seconds. A record is keyed by the
route, the caller and the key, so two users' keys never meet. Only answers are
recorded: a refusal (any DomainError) deletes its record, so a corrected retry
with the same key is carried out. A request without the header pays nothing,
not even the import.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.encoders import jsonable_encoder

from app.errors import ConflictError, DomainError, IdempotencyKeyReusedError, InvalidInputError
from app.layout import ID_PATTERN
from app.logic import images
from app.logic.access import Caller
from app.settings import SERVICE, get_settings
from app.storage import ImageStore, dynamodb_client

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# Visible ASCII, as the IETF draft's examples and the big payment APIs take it; a UUID fits easily.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # the OpenAPI document states it (app/web/openapi.py)
KEY_RE = re.compile(KEY_PATTERN)


def fingerprint(data: bytes) -> str:
    """What stands for a file in a request's record: its hash, never its bytes."""
    return hashlib.sha256(data).hexdigest()


def once(
    router: Any,
    caller: Caller,
    request: Mapping[str, Any],
    answer: Callable[[str | None], Response[Any]],
    remember_for: int | None = None,
    final: Callable[[Response[Any]], bool] | None = None,
    makes_image: bool = False,
) -> Response[Any]:
    """`answer(image_id)`, or the answer it gave to an earlier request with this Idempotency-Key;
    `image_id`, for a request that `makes_image`, is the id the new image takes (None without a
    key, or for any other request: a new one). The answer is
    replayed for IDEMPOTENCY_EXPIRES_IN, or `remember_for` seconds when it goes stale sooner.
    An answer that is not `final` (a batch whose items partly failed) is answered but not kept,
    so that a retry with the key carries the request out again.

    `request` is what makes two requests the same (the parsed fields, a file's `fingerprint`),
    not their raw bodies: curl draws a new multipart boundary on every retry.
    """
    event = router.current_event
    key = event.headers.get(HEADER.lower())
    if key is None:
        return answer(None)
    if not KEY_RE.fullmatch(key):
        raise InvalidInputError(f"{HEADER} must be 1 to 255 visible ASCII characters", "INVALID_IDEMPOTENCY_KEY")
    scope = f"{event.http_method} {_route(event.path)}"
    record = {"key": [scope, caller.user or "", key], "request": dict(request)}
    claim_until = int(time.time()) + get_settings().idempotency_expires_in - 1  # never past the record's end

    def attempt() -> dict[str, Any]:
        image_id = images.id_for_request(ImageStore(), _digest(record), claim_until) if makes_image else None
        return _recordable(answer(image_id), final)

    stored = _run(router, record, attempt, remember_for)
    headers = dict(stored["headers"])
    if stored.get("replayed"):
        headers[REPLAYED] = "true"
    return Response(stored["status"], content_types.APPLICATION_JSON, stored["body"], headers)


def _digest(record: Mapping[str, Any]) -> str:
    """What names a request (its route, caller, key and contents) in its claim."""
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _route(path: str) -> str:
    """The route of a path, its image id left out: deleting another image with the same key is a
    different request under one key (422), not a new one. (A proxy event's resource is {proxy+}.)"""
    return re.sub(f"/{ID_PATTERN}(?=/|$)", "/{id}", path)


class _NotFinal(Exception):  # noqa: N818 (not an error: the way an answer leaves without its record)
    """Raised through Powertools so that it deletes the record, carrying the answer out."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__("answered, not recorded")
        self.answer = answer


def _recordable(response: Response[Any], final: Callable[[Response[Any]], bool] | None = None) -> dict[str, Any]:
    body = jsonable_encoder(response.body)
    answer = {"status": response.status_code, "headers": dict(response.headers), "body": body}
    if final is not None and not final(response):
        raise _NotFinal(answer)
    return answer


def _run(
    router: Any, record: dict[str, Any], work: Callable[[], dict[str, Any]], remember_for: int | None
) -> dict[str, Any]:
    # Imported here: only requests that carry a key pay for the utility (and jmespath) at cold start.
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyInconsistentStateError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    settings = get_settings()
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=min(settings.idempotency_expires_in, remember_for or settings.idempotency_expires_in),
        hash_function="sha256",
        response_hook=lambda response, _record: {**response, "replayed": True},
    )
    # An attempt that died (timeout, out of memory) holds its key only until its deadline.
    config.register_lambda_context(router.lambda_context)
    store = DynamoDBPersistenceLayer(table_name=settings.idempotency_table, boto3_client=dynamodb_client())

    def attempt(record: dict[str, Any]) -> dict[str, Any]:
        return work()

    carried_out = idempotent_function(
        attempt, data_keyword_argument="record", persistence_store=store, config=config, key_prefix=SERVICE
    )
    try:
        result: dict[str, Any] = carried_out(record=record)
    except _NotFinal as exc:
        return exc.answer
    except IdempotencyValidationError as exc:
        raise IdempotencyKeyReusedError(
            f"this {HEADER} was used for a different request; use a new key for a new request"
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise ConflictError(
            f"a request with this {HEADER} is still in progress; retry after it ends",
            "IDEMPOTENCY_IN_PROGRESS",
            retry_after=1,
        ) from exc
    except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
        if isinstance(exc.__context__, _NotFinal):  # its record could not be deleted: it expires
            return exc.__context__.answer
        refusal = _refusal_behind(exc)
        if refusal is not None:  # its record could not be deleted: the refusal still stands
            raise refusal from exc
        raise  # the records' table failed: a 500 like any store's; a retry is safe (its claim)
    return result


def _refusal_behind(exc: BaseException) -> DomainError | None:
    """The domain refusal a failed record deletion happened in (Powertools raises from inside it)."""
    seen: BaseException | None = exc.__context__
    while seen is not None and not isinstance(seen, DomainError):
        seen = seen.__context__
    return seen
