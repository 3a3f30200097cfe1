"""Idempotency-Key: a retried write gets the first answer, never a second image or a second delete.

A client that timed out cannot know whether its write happened. When it sends
the same `Idempotency-Key` header again, with the same request, it gets the
answer the first attempt got (with `Idempotent-Replayed: true`), and nothing is
written twice. The same key with a different request is refused (422); a retry
while the first attempt still runs is told to wait (409, Retry-After).

A route's write is a function decorated with `idempotent`, in the shape of
Powertools' own `idempotent_function`: Powertools' Idempotency utility keeps a
record per route, caller and key in the idempotency table (app/layout.py) for
IDEMPOTENCY_EXPIRES_IN seconds, its configuration built once per execution
environment. Only answers are recorded: a refusal (any DomainError) deletes its
record, so a corrected retry with the same key is carried out; an answer that is
not `final` (a batch whose items partly failed) is given but not kept. A request
without the header pays nothing, not even the import.

An attempt can die (timeout, out of memory) after storing its image but before
its answer is recorded; its record then expires at the attempt's deadline and a
retry runs again. So that this run finds the image instead of storing another,
a keyed request that makes an image claims its id first (logic/images.id_for_request):
the retry makes the same id, its row meets the first one's, and the logic returns
that. The claim lasts IDEMPOTENCY_EXPIRES_IN, and names an id again only while that
image's row exists: once the image is gone, or the claim has expired, the same request
makes a new id. An id is never made twice.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.encoders import jsonable_encoder

from app.errors import ConflictError, DomainError, IdempotencyKeyReusedError, InvalidInputError
from app.layout import ID_PATTERN
from app.logic import images
from app.logic.access import Caller
from app.settings import SERVICE, get_settings
from app.storage import ImageStore, dynamodb_client

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# Visible ASCII, as the IETF draft's examples and the big payment APIs take it; a UUID fits easily.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # the OpenAPI document states it (app/web/openapi.py)
KEY_RE = re.compile(KEY_PATTERN)

Operation = Callable[..., Response[Any]]  # a route's write: (**its arguments) -> its answer


def fingerprint(data: bytes) -> str:
    """What stands for a file in a request's record: its hash, never its bytes."""
    return hashlib.sha256(data).hexdigest()


def idempotent(
    *,
    makes_image: bool = False,
    remember_for: Callable[[], int] | None = None,
    final: Callable[[Response[Any]], bool] | None = None,
) -> Callable[[Operation], Callable[..., Response[Any]]]:
    """Decorate a route's write, `operation(**arguments)`, so that it is carried out once per
    Idempotency-Key. The decorated function is called as `(router, caller, request, **arguments)`:
    `request` is what makes two requests the same (the parsed fields, a file's `fingerprint`), not
    their raw bodies, since curl draws a new multipart boundary on every retry.

    `makes_image`: the operation is also given `image_id`, the id its new image takes (None without
    a key: any new one). `remember_for`: seconds after which the answer goes stale (a form that expires), if sooner
    than IDEMPOTENCY_EXPIRES_IN. `final`: whether an answer may be kept (a retry replays it)."""

    def decorate(operation: Operation) -> Callable[..., Response[Any]]:
        def carried_out_once(
            router: Any, caller: Caller, request: Mapping[str, Any], /, **arguments: Any
        ) -> Response[Any]:
            key = router.current_event.headers.get(HEADER.lower())
            if key is None:
                return operation(**arguments, **({"image_id": None} if makes_image else {}))
            if not KEY_RE.fullmatch(key):
                raise InvalidInputError(
                    f"{HEADER} must be 1 to 255 visible ASCII characters", "INVALID_IDEMPOTENCY_KEY"
                )
            event = router.current_event
            record = {
                "key": [f"{event.http_method} {_route(event.path)}", caller.user or "", key],
                "request": dict(request),
            }
            attempt = _Attempt(operation, arguments, _digest(record) if makes_image else None)
            return attempt.once(router.lambda_context, record, remember_for() if remember_for else None, final)

        return carried_out_once

    return decorate


@dataclass
class _Attempt:
    """One request's attempt at its operation, as Powertools runs it (`_attempt`)."""

    operation: Operation
    arguments: dict[str, Any]
    claim: str | None  # the digest its image's id is claimed under, for an operation that makes an image
    refused: list[DomainError] = field(default_factory=list)
    claim_until: int = 0

    def run(self) -> Response[Any]:
        made = {}
        if self.claim is not None:
            made["image_id"] = images.id_for_request(ImageStore(), self.claim, self.claim_until)
        try:
            return self.operation(**self.arguments, **made)
        except DomainError as exc:  # Powertools deletes the record and raises it again
            self.refused.append(exc)
            raise

    def once(
        self,
        context: Any,
        record: dict[str, Any],
        remember_for: int | None,
        final: Callable[[Response[Any]], bool] | None,
    ) -> Response[Any]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        settings = get_settings()
        expires = min(settings.idempotency_expires_in, remember_for or settings.idempotency_expires_in)
        self.claim_until = int(time.time()) + settings.idempotency_expires_in - 1  # never past its record's end
        idempotency = _idempotency(expires, settings.idempotency_table, dynamodb_client())
        idempotency.config.register_lambda_context(
            context
        )  # an attempt that dies holds its key only until its deadline
        try:
            answer = idempotency.carried_out(record=record, attempt=self)
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
        except IdempotencyPersistenceLayerError:
            if self.refused:  # its record could not be deleted (it expires at its deadline): the refusal stands
                raise self.refused[0] from None
            raise  # the records' table failed: a 500 like any store's; a retry is safe (its claim)
        if final is not None and not final(answer) and answer.headers.get(REPLAYED) is None:
            idempotency.persistence.delete_record(data=record, exception=_NOT_KEPT)  # a retry carries it out again
        return answer


_NOT_KEPT = RuntimeError("an answer that is not final: not kept, so that a retry carries the request out again")


def _attempt(*, record: dict[str, Any], attempt: _Attempt) -> Response[Any]:
    """What Powertools carries out once per record (`record` names the request; `attempt` does it)."""
    return attempt.run()


@dataclass(frozen=True)
class _Idempotency:
    """Powertools' configuration, its records' table and `_attempt` decorated with them."""

    config: IdempotencyConfig
    persistence: DynamoDBPersistenceLayer
    carried_out: Callable[..., Response[Any]]


@lru_cache(maxsize=8)
def _idempotency(expires_after_seconds: int, table: str, client: Any) -> _Idempotency:
    """Built once per execution environment (and records' lifetime: a persistence layer takes its
    configuration once). Imported here: only keyed requests pay for the utility at cold start."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.serialization.custom_dict import CustomDictSerializer

    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
        hash_function="sha256",
        response_hook=_replayed,
    )
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
    carried_out: Callable[..., Response[Any]] = idempotent_function(
        _attempt,
        data_keyword_argument="record",
        persistence_store=persistence,
        config=config,
        output_serializer=CustomDictSerializer(to_dict=_recordable, from_dict=_response),
        key_prefix=SERVICE,
    )
    return _Idempotency(config, persistence, carried_out)


def _recordable(response: Response[Any]) -> dict[str, Any]:
    return {"status": response.status_code, "headers": dict(response.headers), "body": jsonable_encoder(response.body)}


def _response(recorded: dict[str, Any]) -> Response[Any]:
    return Response(recorded["status"], content_types.APPLICATION_JSON, recorded["body"], dict(recorded["headers"]))


def _replayed(response: Any, idempotent_data: Any) -> Any:
    """Powertools' response hook: a replayed answer says so (`response` is `_response`'s)."""
    response.headers[REPLAYED] = "true"
    return response


def _digest(record: Mapping[str, Any]) -> str:
    """What names a request (its route, caller, key and contents) in its image id's claim."""
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def _route(path: str) -> str:
    """The route of a path, its image id left out: deleting another image with the same key is a
    different request under one key (422), not a new one. (A proxy event's resource is {proxy+}.)"""
    return re.sub(f"/{ID_PATTERN}(?=/|$)", "/{id}", path)
