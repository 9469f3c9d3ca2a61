"""KeyBeforeBodyMiddleware: a request with a body to /api/v1 shows a valid key before the body is read.

FastAPI reads and parses a route's body before it runs the route's dependencies, so the key check came
after the body: a request without a key had its whole body read (no size limit then), and an invalid
body answered 422 before 401 (issue 13, item 2). Here the key is checked first, with the same
`authenticate` as every API route (the same 401, 429 and failed-attempt limit per address); the route's
own key dependency (`api_access`) then takes the principal found here instead of checking again, so a
request spends one request of its key's limit either way.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import AccessControl, Principal, authenticate, bearer_token
from api.errors import DATABASE_FAILED, ApiError, error_response

__all__ = ["PRINCIPAL_SCOPE_KEY", "KeyBeforeBodyMiddleware", "checked_principal"]

PRINCIPAL_SCOPE_KEY = "wom.principal"
_log = logging.getLogger(__name__)


def checked_principal(scope: Scope) -> Principal | None:
    """The principal the middleware found for this request; None when it checked nothing."""
    principal = scope.get(PRINCIPAL_SCOPE_KEY)
    return principal if isinstance(principal, Principal) else None


def _has_body(headers: Headers) -> bool:
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


def _check_key(request: Request) -> Principal:
    access: AccessControl = request.app.state.access
    with Session(request.app.state.engine) as session:
        return authenticate(
            session,
            access,
            key=bearer_token(request.headers.get("authorization")),
            client=request.client.host if request.client else "",
        )


class KeyBeforeBodyMiddleware:
    """Pure ASGI: for a request with a body under `prefix`, the key check runs before the app does."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(self.prefix)
            or not _has_body(Headers(scope=scope))
        ):
            await self.app(scope, receive, send)
            return
        try:
            principal = await run_in_threadpool(_check_key, Request(scope))
        except ApiError as e:
            # the body stays unread: the server closes the connection after this answer
            headers = {**(e.headers or {}), "Connection": "close"}
            await error_response(e.status_code, e.code, e.message, headers)(scope, receive, send)
            return
        except sa.exc.OperationalError as e:
            _log.error("database error on %s %s: %s", scope["method"], scope["path"], e)
            await error_response(503, "database_unavailable", DATABASE_FAILED)(scope, receive, send)
            return
        scope[PRINCIPAL_SCOPE_KEY] = principal
        await self.app(scope, receive, send)
