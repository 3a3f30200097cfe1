"""Who is calling, from a bearer token (AUTH=jwt): verified here, in the function, with PyJWT.

LocalStack's free edition creates API Gateway authorizers but does not run
them, so the check lives in the code that runs everywhere. A token is
accepted only when its signature verifies against the issuer's keys (RS256
only: never `none`, never an HMAC made with a public key), and its `iss`,
audience (`aud`, or Cognito access tokens' `client_id`), `exp` and `nbf` hold,
with 30 s of leeway. The issuer's keys are read once per execution
environment, and again at most once a minute when a token names an unknown
key (the issuer rotated). PyJWT is imported only in this mode.
"""

from __future__ import annotations

import json
import time
import urllib.request
from functools import lru_cache
from typing import Any

from app.errors import UnauthenticatedError
from app.logic.access import Caller
from app.models import is_user_name
from app.observability import logger
from app.settings import DEV_ISSUER, get_settings

ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 30
REFRESH_SECONDS = 60


class KeySet:
    """The issuer's signing keys by `kid`: inline (the dev issuer) or fetched from its JWKS URL."""

    def __init__(self, inline: str, url: str) -> None:
        self.inline, self.url = inline, url
        self.keys: dict[str, Any] = {}
        self.fetched = -float("inf")

    def key(self, kid: str) -> Any:
        if kid not in self.keys and time.monotonic() - self.fetched >= REFRESH_SECONDS:
            self.fetched = time.monotonic()
            self.keys = self._load()
        if kid not in self.keys:
            raise UnauthenticatedError("the token is signed with a key this issuer does not have")
        return self.keys[kid]

    def _load(self) -> dict[str, Any]:
        from jwt import PyJWKSet

        try:
            if self.inline:
                data = json.loads(self.inline)
            else:
                with urllib.request.urlopen(self.url, timeout=5) as response:  # noqa: S310 (https from settings)
                    data = json.load(response)
            return {key.key_id: key.key for key in PyJWKSet.from_dict(data).keys if key.key_id}
        except Exception:  # the caller cannot be checked: refuse, and say why in the log only
            logger.exception("could not read the issuer's keys", extra={"url": self.url or "inline"})
            return self.keys


@lru_cache(maxsize=1)
def key_set() -> KeySet:
    settings = get_settings()
    return KeySet(settings.jwt_jwks, settings.jwks_url)


def caller_of(authorization: str | None) -> Caller:
    """The caller a request's Authorization header proves; UnauthenticatedError otherwise."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError("sign in: send Authorization: Bearer <token>")
    return caller_of_token(token.strip())


def caller_of_token(token: str) -> Caller:
    import jwt

    settings = get_settings()
    if settings.jwt_issuer == DEV_ISSUER and not settings.endpoint_url:
        # The dev issuer's key sits on a developer's disk: on AWS nothing it signs counts.
        logger.error("the dev issuer is configured outside LocalStack and the local server; refusing every token")
        raise UnauthenticatedError("this deployment accepts no dev tokens")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") not in ALGORITHMS:
            raise UnauthenticatedError(f"the token must be signed with {', '.join(ALGORITHMS)}")
        claims = jwt.decode(
            token,
            key_set().key(str(header.get("kid", ""))),
            algorithms=ALGORITHMS,
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise UnauthenticatedError("the token has expired") from exc
    except jwt.InvalidIssuerError as exc:
        raise UnauthenticatedError("the token is from another issuer") from exc
    except jwt.InvalidTokenError as exc:  # malformed, tampered, not yet valid, a claim missing
        raise UnauthenticatedError("the token is not valid") from exc
    return _caller(claims)


def _caller(claims: dict[str, Any]) -> Caller:
    settings = get_settings()
    audience = claims.get("aud", claims.get("client_id"))
    audiences = audience if isinstance(audience, list) else [audience]
    if settings.jwt_audience not in audiences:
        raise UnauthenticatedError("the token is for another application")
    user = claims.get(settings.jwt_user_claim)
    if not is_user_name(user):
        raise UnauthenticatedError(f"the token's {settings.jwt_user_claim} is not a user name this service takes")
    groups = claims.get(settings.jwt_admin_claim) or []
    return Caller(user=user, admin=isinstance(groups, list) and settings.jwt_admin_group in groups)
