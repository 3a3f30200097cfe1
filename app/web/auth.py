"""The caller of each request, established before any route runs (a Powertools middleware).

With AUTH=jwt every route but the public pages needs `Authorization: Bearer
<token>` (app/identity.py verifies it); otherwise every caller is ANYONE
(with AUTH=api-key, API Gateway has checked the key before the function runs).
Routes ask `caller(router)` and hand the caller to the logic, which applies
the ownership rules (app/logic/access.py).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from app.logic.access import ANYONE, Caller
from app.settings import PUBLIC_PATHS, get_settings


def authenticate(app: Any, next_middleware: NextMiddleware) -> Response[Any]:
    event = app.current_event
    if get_settings().auth != "jwt" or event.path in PUBLIC_PATHS or event.http_method == "OPTIONS":
        who = ANYONE
    else:
        from app.identity import caller_of

        who = caller_of(event.headers.get("authorization"))
    app.append_context(caller=who)
    return next_middleware(app)


def caller(router: Any) -> Caller:
    """The caller `authenticate` established for the current request."""
    who = router.context.get("caller")
    if not isinstance(who, Caller):  # a route reached without the middleware: never treat it as anyone
        raise RuntimeError("no caller was established for this request")
    return who
