"""Bad tokens that the tests of AUTH=jwt make out of good ones."""

from __future__ import annotations

import base64
import json


def made_admin(token: str) -> str:
    """The token with its payload changed to grant admin, and its signature kept: a forgery."""
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["cognito:groups"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"
